// Creating a namespace with everything a POST /v2/metadefs/namespaces brings, in one
// transaction and in Glance's order (associations, objects, tags, properties): a duplicate
// anywhere is a 409 and leaves nothing behind (Glance deletes the half-made namespace).

import type { Sql } from 'postgres'
import { insertNamespace, type NamespaceRecord, type NamespaceValues } from './metadefs-namespaces.js'
import { insertAssociation, type AssociationRecord, type AssociationValues } from './metadefs-resource-types.js'
import { insertObject, type ObjectRecord, type ObjectValues } from './metadefs-objects.js'
import { insertProperty, type PropertyRecord } from './metadefs-properties.js'
import { insertTag, type TagRecord } from './metadefs-tags.js'

export interface NamespaceContents {
  associations: AssociationValues[]
  objects: ObjectValues[]
  tags: string[]
  properties: Array<{ name: string, definition: unknown }>
}

/** What was created, in Glance's order: each part is announced by its own notification. */
export interface CreatedNamespace {
  ns: NamespaceRecord
  associations: AssociationRecord[]
  objects: ObjectRecord[]
  tags: TagRecord[]
  properties: PropertyRecord[]
}

export async function createNamespaceWithContents (sql: Sql, values: NamespaceValues, contents: NamespaceContents): Promise<CreatedNamespace> {
  return await sql.begin(async (tx) => {
    const t = tx as unknown as Sql
    const now = new Date()
    const ns = await insertNamespace(t, values, now)
    const created: CreatedNamespace = { ns, associations: [], objects: [], tags: [], properties: [] }
    for (const a of contents.associations) created.associations.push(await insertAssociation(t, ns.id, ns.namespace, a, now))
    for (const o of contents.objects) created.objects.push(await insertObject(t, ns.id, ns.namespace, o, now))
    for (const name of contents.tags) created.tags.push(await insertTag(t, ns.id, ns.namespace, name, now))
    for (const p of contents.properties) created.properties.push(await insertProperty(t, ns.id, ns.namespace, p.name, p.definition, now))
    return created
  })
}
