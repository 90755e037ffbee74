// Metadata definition properties of a namespace (table metadef_properties): each a name and
// its definition, kept as written (loaded files) or as the API normalized it.

import type { Sql } from 'postgres'
import { Errors } from '../errors.js'
import { isUniqueViolation } from './metadefs-errors.js'

export interface PropertyRecord {
  id: number
  name: string
  json_schema: Record<string, unknown> | null
  created_at: Date
  updated_at: Date | null
}

const COLUMNS = 'id, name, json_schema, created_at, updated_at'

export async function listProperties (sql: Sql, namespaceId: number): Promise<PropertyRecord[]> {
  return await sql<PropertyRecord[]>`select ${sql.unsafe(COLUMNS)} from metadef_properties where namespace_id = ${namespaceId} order by id`
}

export async function findProperty (sql: Sql, namespaceId: number, name: string): Promise<PropertyRecord | undefined> {
  const [row] = await sql<PropertyRecord[]>`select ${sql.unsafe(COLUMNS)} from metadef_properties where namespace_id = ${namespaceId} and name = ${name}`
  return row
}

export async function insertProperty (sql: Sql, namespaceId: number, namespace: string, name: string, definition: unknown, now: Date): Promise<PropertyRecord> {
  try {
    const [row] = await sql<PropertyRecord[]>`insert into metadef_properties
      ${sql({ namespace_id: namespaceId, name, json_schema: sql.json(definition as any), created_at: now, updated_at: now })}
      returning ${sql.unsafe(COLUMNS)}`
    return row
  } catch (err) {
    if (isUniqueViolation(err)) throw Errors.metadefPropertyExists(name, namespace)
    throw err
  }
}

/** `current`: the property's name now; Glance names it, not the new one, when the new one is taken. */
export async function updateProperty (sql: Sql, id: number, namespace: string, current: string, name: string, definition: unknown): Promise<PropertyRecord | undefined> {
  try {
    const [row] = await sql<PropertyRecord[]>`update metadef_properties
      set ${sql({ name, json_schema: sql.json(definition as any), updated_at: new Date() })}
      where id = ${id} returning ${sql.unsafe(COLUMNS)}`
    return row
  } catch (err) {
    if (isUniqueViolation(err)) throw Errors.metadefPropertyRenameExists(current, namespace)
    throw err
  }
}

export async function deleteProperty (sql: Sql, id: number): Promise<boolean> {
  return (await sql`delete from metadef_properties where id = ${id}`).count === 1
}
