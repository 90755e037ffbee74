// Metadata definition objects (table metadef_objects): named groups of property definitions
// inside a namespace. `required` is kept as Glance keeps it, a comma-joined string.

import type { Sql } from 'postgres'
import { Errors } from '../errors.js'
import { isUniqueViolation } from './metadefs-errors.js'

export interface ObjectRecord {
  id: number
  name: string
  description: string | null
  required: string | null
  json_schema: Record<string, unknown> | null
  created_at: Date
  updated_at: Date | null
}

export interface ObjectValues { name: string, description: string | null, required: string[] | null, properties: Record<string, unknown> }

const COLUMNS = 'id, name, description, required, json_schema, created_at, updated_at'

const toRow = (sql: Sql, v: ObjectValues): Record<string, unknown> => ({
  name: v.name,
  description: v.description,
  required: v.required !== null && v.required.length > 0 ? v.required.join(',') : null,
  json_schema: sql.json(v.properties as any)
})

// By name: the order Glance 25 lists them in (PostgreSQL reads them through the (namespace, name) index).
export async function listObjects (sql: Sql, namespaceId: number): Promise<ObjectRecord[]> {
  return await sql<ObjectRecord[]>`select ${sql.unsafe(COLUMNS)} from metadef_objects where namespace_id = ${namespaceId} order by name, id`
}

export async function findObject (sql: Sql, namespaceId: number, name: string): Promise<ObjectRecord | undefined> {
  const [row] = await sql<ObjectRecord[]>`select ${sql.unsafe(COLUMNS)} from metadef_objects where namespace_id = ${namespaceId} and name = ${name}`
  return row
}

export async function insertObject (sql: Sql, namespaceId: number, namespace: string, values: ObjectValues, now: Date): Promise<ObjectRecord> {
  try {
    const [row] = await sql<ObjectRecord[]>`insert into metadef_objects ${sql({ ...toRow(sql, values), namespace_id: namespaceId, created_at: now, updated_at: now })}
      returning ${sql.unsafe(COLUMNS)}`
    return row
  } catch (err) {
    if (isUniqueViolation(err)) throw Errors.metadefObjectExists(values.name, namespace)
    throw err
  }
}

/** `current`: the object's name now; Glance names it, not the new one, when the new one is taken. */
export async function updateObject (sql: Sql, id: number, namespace: string, current: string, values: ObjectValues): Promise<ObjectRecord | undefined> {
  try {
    const [row] = await sql<ObjectRecord[]>`update metadef_objects set ${sql({ ...toRow(sql, values), updated_at: new Date() })}
      where id = ${id} returning ${sql.unsafe(COLUMNS)}`
    return row
  } catch (err) {
    if (isUniqueViolation(err)) throw Errors.metadefObjectRenameExists(current, namespace)
    throw err
  }
}

export async function deleteObject (sql: Sql, id: number): Promise<boolean> {
  return (await sql`delete from metadef_objects where id = ${id}`).count === 1
}
