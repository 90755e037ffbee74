// Creating a namespace with everything a POST /v2/metadefs/namespaces brings, in one
// transaction and in Glance's order (associations, objects, tags, properties): a duplicate
// anywhere is a 409 and leaves nothing behind (Glance deletes the half-made namespace).

import type { Sql } from 'postgres'
import { insertNamespace, type NamespaceRecord, type NamespaceValues } from './metadefs-namespaces.js'
import { insertAssociation, type AssociationValues } from './metadefs-resource-types.js'
import { insertObject, type ObjectValues } from './metadefs-objects.js'
import { insertProperty } from './metadefs-properties.js'
import { insertTag } from './metadefs-tags.js'

export interface NamespaceContents {
  associations: AssociationValues[]
  objects: ObjectValues[]
  tags: string[]
  properties: Array<{ name: string, definition: unknown }>
}

export async function createNamespaceWithContents (sql: Sql, values: NamespaceValues, contents: NamespaceContents): Promise<NamespaceRecord> {
  return await sql.begin(async (tx) => {
    const t = tx as unknown as Sql
    const now = new Date()
    const ns = await insertNamespace(t, values, now)
    for (const a of contents.associations) await insertAssociation(t, ns.id, ns.namespace, a, now)
    for (const o of contents.objects) await insertObject(t, ns.id, ns.namespace, o, now)
    for (const name of contents.tags) await insertTag(t, ns.id, ns.namespace, name, now)
    for (const p of contents.properties) await insertProperty(t, ns.id, ns.namespace, p.name, p.definition, now)
    return ns
  })
}
