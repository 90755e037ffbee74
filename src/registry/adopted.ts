// Images and tasks taken over from a Glance (glint adopt): written as Glance had them (ids,
// timestamps, owners, locations), each image in one transaction, never over an image or task
// Glint already has, so adopting again changes nothing.

import type { Sql } from 'postgres'

export interface AdoptedImage {
  id: string
  columns: {
    name: string | null, status: string, visibility: string, size: number | null, virtual_size: number | null,
    checksum: string | null, os_hash_algo: string | null, os_hash_value: string | null, disk_format: string | null,
    container_format: string | null, min_disk: number, min_ram: number, protected: boolean, os_hidden: boolean,
    owner: string | null, created_at: Date, updated_at: Date
  }
  properties: Record<string, string>
  tags: string[]
  members: Array<{ member: string, status: string, created_at: Date, updated_at: Date }>
  locations: Array<{ store: string, url: string, metadata: Record<string, unknown> }>
}

export interface AdoptedTask {
  id: string, type: string, status: string, owner: string, image_id: string | null, request_id: string | null,
  user_id: string | null, input: unknown, result: unknown, message: string | null, expires_at: Date | null,
  created_at: Date, updated_at: Date
}

export async function knownImageIds (sql: Sql, ids: string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set()
  const rows = await sql<Array<{ id: string }>>`select id::text as id from images where id::text in ${sql(ids)}`
  return new Set(rows.map((r) => r.id))
}

/** false: Glint already had an image with this id (nothing written). */
export async function insertAdoptedImage (sql: Sql, image: AdoptedImage): Promise<boolean> {
  return await sql.begin(async (tx) => {
    const inserted = await tx`insert into images ${tx({ id: image.id, ...image.columns, deleted: false } as Record<string, any>)}
      on conflict (id) do nothing`
    if (inserted.count !== 1) return false
    const properties = Object.entries(image.properties).map(([name, value]) => ({ image_id: image.id, name, value }))
    if (properties.length > 0) await tx`insert into image_properties ${tx(properties)}`
    const tags = [...new Set(image.tags)].map((value) => ({ image_id: image.id, value }))
    if (tags.length > 0) await tx`insert into image_tags ${tx(tags)}`
    const members = image.members.map((m) => ({ image_id: image.id, ...m }))
    if (members.length > 0) await tx`insert into image_members ${tx(members as Array<Record<string, any>>)} on conflict (image_id, member) do nothing`
    for (const l of image.locations) {
      await tx`insert into image_locations ${tx({ image_id: image.id, store: l.store, url: l.url, metadata: tx.json(l.metadata as any) } as Record<string, any>)}`
    }
    return true
  })
}

/** false: Glint already had a task with this id. */
export async function insertAdoptedTask (sql: Sql, task: AdoptedTask): Promise<boolean> {
  const row = { ...task, input: task.input === null ? null : sql.json(task.input as any), result: task.result === null ? null : sql.json(task.result as any), deleted: false }
  const inserted = await sql`insert into tasks ${sql(row as Record<string, any>)} on conflict (id) do nothing`
  return inserted.count === 1
}
