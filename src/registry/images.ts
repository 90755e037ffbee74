// Image rows and the queries on them. An image is read whole (row + extra properties + tags
// + locations) in one round trip; writes that touch several tables run in one transaction.

import type { Sql, TransactionSql } from 'postgres'
import type { Identity } from '../identity.js'
import { isUuid } from '../domain/uuid.js'

export interface ImageLocation { store: string, url: string, metadata: Record<string, unknown> }

export interface ImageRecord {
  id: string
  name: string | null
  status: string
  visibility: string
  size: number | null
  virtual_size: number | null
  checksum: string | null
  os_hash_algo: string | null
  os_hash_value: string | null
  disk_format: string | null
  container_format: string | null
  min_disk: number
  min_ram: number
  protected: boolean
  os_hidden: boolean
  owner: string | null
  created_at: Date
  updated_at: Date
  deleted: boolean
  properties: Record<string, string>
  tags: string[]
  locations: ImageLocation[]
}

/** The base columns a create or update may set directly. */
export const IMAGE_COLUMNS = ['name', 'visibility', 'protected', 'os_hidden', 'disk_format', 'container_format', 'min_disk', 'min_ram', 'owner'] as const

type AnySql = Sql | TransactionSql

export function selectImages (sql: AnySql) {
  return sql`
    select i.id, i.name, i.status, i.visibility, i.size, i.virtual_size, i.checksum, i.os_hash_algo,
      i.os_hash_value, i.disk_format, i.container_format, i.min_disk, i.min_ram, i.protected,
      i.os_hidden, i.owner, i.created_at, i.updated_at, i.deleted,
      coalesce((select json_object_agg(p.name, p.value) from image_properties p where p.image_id = i.id), '{}'::json) as properties,
      coalesce((select json_agg(t.value order by t.value) from image_tags t where t.image_id = i.id), '[]'::json) as tags,
      coalesce((select json_agg(json_build_object('store', l.store, 'url', l.url, 'metadata', l.metadata) order by l.id)
        from image_locations l where l.image_id = i.id), '[]'::json) as locations
    from images i`
}

/** Visibility as the DB layer of Glance decides it (section 4.1): admins see everything. */
export function visibleTo (sql: AnySql, who: Identity) {
  if (who.isAdmin) return sql`true`
  return sql`(i.owner is null or i.visibility in ('public', 'community') or i.owner = ${who.projectId}
    or (i.visibility = 'shared' and exists (select 1 from image_members m where m.image_id = i.id and m.member = ${who.projectId})))`
}

export async function findImage (sql: AnySql, id: string, who?: Identity): Promise<ImageRecord | undefined> {
  if (!isUuid(id)) return undefined
  const rows = await sql<ImageRecord[]>`${selectImages(sql)}
    where i.id = ${id} and not i.deleted and ${who === undefined ? sql`true` : visibleTo(sql, who)}`
  return rows[0]
}

export interface NewImage {
  id: string
  columns: Partial<Record<typeof IMAGE_COLUMNS[number], unknown>>
  properties: Record<string, string>
  tags: string[]
}

/** Inserts a queued image. Throws the postgres unique violation (23505) on a duplicate id. */
export async function insertImage (sql: Sql, image: NewImage): Promise<void> {
  await sql.begin(async (tx) => {
    const now = new Date()
    await tx`insert into images ${tx({
      id: image.id, status: 'queued', visibility: 'shared', protected: false, os_hidden: false, min_disk: 0, min_ram: 0,
      ...image.columns, created_at: now, updated_at: now
    } as Record<string, any>)}`
    await writeProperties(tx, image.id, image.properties, [])
    if (image.tags.length > 0) await tx`insert into image_tags ${tx(image.tags.map((value) => ({ image_id: image.id, value })))}`
  })
}

export interface ImageChanges {
  columns: Record<string, unknown>
  setProperties: Record<string, string>
  removeProperties: string[]
  tags?: string[]
  /** Save only while the image is in one of these statuses (the check the changes were allowed under). */
  whileStatus?: string[]
  /**
   * The image's new locations, saved only while its status and locations are still what the
   * changes were planned on (else nothing is written and updateImage resolves false).
   */
  locations?: { status: string, expected: ImageLocation[], next: ImageLocation[] }
}

const locationKey = (ls: ImageLocation[]): string => JSON.stringify(ls.map((l) => [l.store, l.url, sortKeys(l.metadata)]))
function sortKeys (v: unknown): unknown {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return v
  return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys((v as any)[k])]))
}

/** One save of an image; false (nothing written) when it is deleted or left `whileStatus`. */
export async function updateImage (sql: Sql, id: string, changes: ImageChanges): Promise<boolean> {
  return await sql.begin(async (tx) => {
    const moves = changes.locations
    if (moves !== undefined) {
      // the image row's lock orders concurrent location changes: each sees the one before it
      const [row] = await tx<Array<{ status: string }>>`select status from images where id = ${id} and not deleted for update`
      if (row === undefined || row.status !== moves.status) return false
      if (locationKey(await locationsOf(tx, id)) !== locationKey(moves.expected)) return false
      await tx`delete from image_locations where image_id = ${id}`
      for (const l of moves.next) await addLocation(tx, id, l)
    }
    const status = changes.whileStatus === undefined ? tx`true` : tx`status in ${tx(changes.whileStatus)}`
    const updated = await tx`update images set ${tx({ ...changes.columns, updated_at: new Date() } as Record<string, any>)}
      where id = ${id} and not deleted and ${status}`
    if (updated.count !== 1) return false
    await writeProperties(tx, id, changes.setProperties, changes.removeProperties)
    if (changes.tags !== undefined) {
      await tx`delete from image_tags where image_id = ${id}`
      if (changes.tags.length > 0) await tx`insert into image_tags ${tx(changes.tags.map((value) => ({ image_id: id, value })))}`
    }
    return true
  })
}

async function writeProperties (tx: TransactionSql, id: string, set: Record<string, string>, remove: string[]): Promise<void> {
  const rows = Object.entries(set).map(([name, value]) => ({ image_id: id, name, value }))
  if (rows.length > 0) {
    await tx`insert into image_properties ${tx(rows)} on conflict (image_id, name) do update set value = excluded.value`
  }
  if (remove.length > 0) await tx`delete from image_properties where image_id = ${id} and name in ${tx(remove)}`
}

/** Compare-and-set of the status: returns false when the image was not in `from`. */
export async function moveStatus (sql: AnySql, id: string, from: string[], to: string, columns: Record<string, unknown> = {}): Promise<boolean> {
  const result = await sql`update images set ${sql({ ...columns, status: to, updated_at: new Date() } as Record<string, any>)}
    where id = ${id} and not deleted and status in ${sql(from)}`
  return result.count === 1
}

export async function softDelete (sql: AnySql, id: string): Promise<boolean> {
  const now = new Date()
  const result = await sql`update images set status = 'deleted', deleted = true, deleted_at = ${now}, updated_at = ${now}
    where id = ${id} and not deleted`
  return result.count === 1
}

export async function addLocation (sql: AnySql, id: string, location: ImageLocation): Promise<void> {
  await sql`insert into image_locations ${sql({ image_id: id, store: location.store, url: location.url, metadata: sql.json(location.metadata as any) } as Record<string, any>)}`
}

/** The image's locations as the registry has them now (deleted images keep theirs until removed). */
export async function locationsOf (sql: AnySql, id: string): Promise<ImageLocation[]> {
  return await sql<ImageLocation[]>`select store, url, metadata from image_locations where image_id = ${id} order by id`
}

export async function removeLocation (sql: AnySql, id: string, store: string, url?: string): Promise<void> {
  await sql`delete from image_locations where image_id = ${id} and store = ${store} and ${url === undefined ? sql`true` : sql`url = ${url}`}`
}

/** Bytes an owner already keeps across all live images: for user_storage_quota. */
export async function storageUsed (sql: AnySql, owner: string | null, exceptImage: string): Promise<number> {
  const [row] = await sql<Array<{ used: number }>>`select coalesce(sum(size), 0)::bigint as used from images
    where owner is not distinct from ${owner} and not deleted and id <> ${exceptImage} and status <> 'killed'`
  return Number(row.used)
}
