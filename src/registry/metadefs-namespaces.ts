// Metadata definition namespaces (table metadef_namespaces) and what hangs off them.
// Visibility is Glance's (glance/db/sqlalchemy/metadef_api/namespace.py): an admin sees every
// namespace; anyone else the public ones, those without owner and their own project's.

import type { Sql } from 'postgres'
import type { Identity } from '../identity.js'
import { Errors } from '../errors.js'
import { isUniqueViolation } from './metadefs-errors.js'

export interface NamespaceRecord {
  id: number
  namespace: string
  display_name: string | null
  description: string | null
  visibility: string | null
  protected: boolean | null
  owner: string
  created_at: Date
  updated_at: Date | null
}

export interface NamespaceValues {
  namespace: string
  display_name: string | null
  description: string | null
  visibility: string | null
  protected: boolean | null
  owner: string
}

export const NAMESPACE_SORT_KEYS = ['namespace', 'display_name', 'description', 'visibility', 'protected', 'owner', 'created_at', 'updated_at', 'id']

const COLUMNS = 'id, namespace, display_name, description, visibility, protected, owner, created_at, updated_at'

export function namespaceVisible (ns: Pick<NamespaceRecord, 'owner' | 'visibility'>, who: Identity): boolean {
  return who.isAdmin || ns.owner === null || ns.visibility === 'public' || (who.projectId !== null && who.projectId === ns.owner)
}

export async function findNamespace (sql: Sql, name: string): Promise<NamespaceRecord | undefined> {
  const [row] = await sql<NamespaceRecord[]>`select ${sql.unsafe(COLUMNS)} from metadef_namespaces where namespace = ${name}`
  return row
}

export interface NamespaceFilter { visibility?: string, resourceTypes?: string[], sortKey: string, sortDir: 'asc' | 'desc' }

/** Every namespace `who` may see that passes the filter, in Glance's order (key, created_at, id). */
export async function listNamespaces (sql: Sql, who: Identity, f: NamespaceFilter): Promise<NamespaceRecord[]> {
  if (f.resourceTypes !== undefined && f.resourceTypes.length === 0) return []
  const seen = who.isAdmin
    ? sql`true`
    : who.projectId !== null ? sql`(owner = ${who.projectId} or visibility = 'public')` : sql`visibility = 'public'`
  const visibility = f.visibility !== undefined ? sql`and visibility = ${f.visibility}` : sql``
  const types = f.resourceTypes !== undefined
    ? sql`and id in (select a.namespace_id from metadef_namespace_resource_types a
        join metadef_resource_types t on t.id = a.resource_type_id where t.name in ${sql(f.resourceTypes)})`
    : sql``
  const keys = [f.sortKey, 'created_at', 'id'].filter((k, i, all) => all.indexOf(k) === i)
  const order = sql.unsafe(keys.map((k) => `${k} ${f.sortDir}`).join(', '))
  return await sql<NamespaceRecord[]>`select ${sql.unsafe(COLUMNS)} from metadef_namespaces
    where ${seen} ${visibility} ${types} order by ${order}`
}

/** Inserts a namespace; 409 when the name is taken. Run inside the caller's transaction. */
export async function insertNamespace (sql: Sql, values: NamespaceValues, now: Date): Promise<NamespaceRecord> {
  try {
    const [row] = await sql<NamespaceRecord[]>`insert into metadef_namespaces ${sql({ ...values, created_at: now, updated_at: now })}
      returning ${sql.unsafe(COLUMNS)}`
    return row
  } catch (err) {
    if (isUniqueViolation(err)) throw Errors.metadefNamespaceExists(values.namespace)
    throw err
  }
}

export async function updateNamespace (sql: Sql, id: number, values: NamespaceValues): Promise<NamespaceRecord | undefined> {
  try {
    const [row] = await sql<NamespaceRecord[]>`update metadef_namespaces set ${sql({ ...values, updated_at: new Date() })}
      where id = ${id} returning ${sql.unsafe(COLUMNS)}`
    return row
  } catch (err) {
    if (isUniqueViolation(err)) throw Errors.metadefNamespaceRenameExists(values.namespace)
    throw err
  }
}

/** Deletes the namespace and, by cascade, its objects, properties, tags and associations. */
export async function deleteNamespace (sql: Sql, id: number): Promise<boolean> {
  const result = await sql`delete from metadef_namespaces where id = ${id}`
  return result.count === 1
}

export type NamespaceContent = 'objects' | 'properties' | 'tags'

export async function deleteNamespaceContent (sql: Sql, id: number, what: NamespaceContent): Promise<number> {
  const table = { objects: 'metadef_objects', properties: 'metadef_properties', tags: 'metadef_tags' }[what]
  const result = await sql`delete from ${sql(table)} where namespace_id = ${id}`
  return result.count
}
