// Resource types (table metadef_resource_types) and their associations with namespaces
// (metadef_namespace_resource_types): which kind of resource a namespace's properties apply
// to, and the prefix they take there (hw_ on an image, hw: on a flavor).

import type { Sql } from 'postgres'
import { Errors } from '../errors.js'
import { isUniqueViolation } from './metadefs-errors.js'

export interface ResourceTypeRecord { name: string, created_at: Date, updated_at: Date | null }

export interface AssociationRecord {
  namespace_id: number
  name: string
  prefix: string | null
  properties_target: string | null
  created_at: Date
  updated_at: Date | null
}

export interface AssociationValues { name: string, prefix: string | null, properties_target: string | null }

export async function listResourceTypes (sql: Sql): Promise<ResourceTypeRecord[]> {
  return await sql<ResourceTypeRecord[]>`select name, created_at, updated_at from metadef_resource_types order by id`
}

/** The associations of each of `namespaceIds`, in the order they were made. */
export async function listAssociations (sql: Sql, namespaceIds: number[]): Promise<AssociationRecord[]> {
  if (namespaceIds.length === 0) return []
  return await sql<AssociationRecord[]>`select a.namespace_id, t.name, a.prefix, a.properties_target, a.created_at, a.updated_at
    from metadef_namespace_resource_types a join metadef_resource_types t on t.id = a.resource_type_id
    where a.namespace_id in ${sql(namespaceIds)} order by a.created_at, t.id`
}

export async function resourceTypeExists (sql: Sql, name: string): Promise<boolean> {
  return (await sql`select 1 from metadef_resource_types where name = ${name}`).length > 0
}

/** Associates a resource type (made on the fly, unprotected, when new) with a namespace. */
export async function insertAssociation (sql: Sql, namespaceId: number, namespace: string, values: AssociationValues, now: Date): Promise<AssociationRecord> {
  await sql`insert into metadef_resource_types ${sql({ name: values.name, protected: false, created_at: now, updated_at: now })}
    on conflict (name) do nothing`
  try {
    const [row] = await sql<AssociationRecord[]>`insert into metadef_namespace_resource_types
      (resource_type_id, namespace_id, properties_target, prefix, created_at, updated_at)
      select id, ${namespaceId}, ${values.properties_target}, ${values.prefix}, ${now}, ${now} from metadef_resource_types where name = ${values.name}
      returning namespace_id, ${values.name}::text as name, prefix, properties_target, created_at, updated_at`
    return row
  } catch (err) {
    if (isUniqueViolation(err)) throw Errors.metadefAssociationExists(values.name, namespace)
    throw err
  }
}

export async function deleteAssociation (sql: Sql, namespaceId: number, name: string): Promise<boolean> {
  const result = await sql`delete from metadef_namespace_resource_types
    where namespace_id = ${namespaceId} and resource_type_id = (select id from metadef_resource_types where name = ${name})`
  return result.count > 0
}
