// Metadata definition tags (table metadef_tags): plain names inside a namespace.

import type { Sql } from 'postgres'
import { Errors } from '../errors.js'
import { isUniqueViolation } from './metadefs-errors.js'

export interface TagRecord { id: number, name: string, created_at: Date, updated_at: Date | null }

export const TAG_SORT_KEYS = ['name', 'created_at', 'updated_at', 'id']

const COLUMNS = 'id, name, created_at, updated_at'

/** A namespace's tags in Glance's order (key, created_at, id), all of them: the caller pages. */
export async function listTags (sql: Sql, namespaceId: number, sortKey: string, sortDir: 'asc' | 'desc'): Promise<TagRecord[]> {
  const keys = [sortKey, 'created_at', 'id'].filter((k, i, all) => all.indexOf(k) === i)
  const order = sql.unsafe(keys.map((k) => `${k} ${sortDir}`).join(', '))
  return await sql<TagRecord[]>`select ${sql.unsafe(COLUMNS)} from metadef_tags where namespace_id = ${namespaceId} order by ${order}`
}

export async function findTag (sql: Sql, namespaceId: number, name: string): Promise<TagRecord | undefined> {
  const [row] = await sql<TagRecord[]>`select ${sql.unsafe(COLUMNS)} from metadef_tags where namespace_id = ${namespaceId} and name = ${name}`
  return row
}

export async function insertTag (sql: Sql, namespaceId: number, namespace: string, name: string, now: Date): Promise<TagRecord> {
  try {
    const [row] = await sql<TagRecord[]>`insert into metadef_tags ${sql({ namespace_id: namespaceId, name, created_at: now, updated_at: now })}
      returning ${sql.unsafe(COLUMNS)}`
    return row
  } catch (err) {
    if (isUniqueViolation(err)) throw Errors.metadefTagExists(name, namespace)
    throw err
  }
}

/**
 * Creates several tags in one transaction; unless `append`, the namespace's other tags go
 * first. A name given twice, or already present when appending, is a 409 and changes nothing.
 */
export async function insertTags (sql: Sql, namespaceId: number, namespace: string, names: string[], append: boolean): Promise<TagRecord[]> {
  if (names.length === 0) return []
  return await sql.begin(async (tx) => {
    if (!append) await tx`delete from metadef_tags where namespace_id = ${namespaceId}`
    const rows: TagRecord[] = []
    const now = new Date()
    for (const name of names) rows.push(await insertTag(tx as unknown as Sql, namespaceId, namespace, name, now))
    return rows
  })
}

export async function renameTag (sql: Sql, id: number, namespace: string, name: string): Promise<TagRecord | undefined> {
  try {
    const [row] = await sql<TagRecord[]>`update metadef_tags set name = ${name}, updated_at = ${new Date()} where id = ${id} returning ${sql.unsafe(COLUMNS)}`
    return row
  } catch (err) {
    if (isUniqueViolation(err)) throw Errors.metadefTagExists(name, namespace)
    throw err
  }
}

export async function deleteTag (sql: Sql, id: number): Promise<boolean> {
  return (await sql`delete from metadef_tags where id = ${id}`).count === 1
}
