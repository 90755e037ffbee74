// Single-tag writes (PUT/DELETE /v2/images/{id}/tags/{tag}). Each is one transaction that
// locks the image row, so concurrent tag requests on one image cannot overrun the quota, and
// each counts as a save of the image (updated_at moves), as in Glance.

import type { Sql } from 'postgres'

export type AddTagResult = { outcome: 'added' | 'present' | 'gone' } | { outcome: 'over-quota', attempted: number }

/** Adds `tag` unless the image would then have more than `max` tags (`max` < 0: no quota). */
export async function addTag (sql: Sql, id: string, tag: string, max: number): Promise<AddTagResult> {
  return await sql.begin(async (tx): Promise<AddTagResult> => {
    const [image] = await tx`select id from images where id = ${id} and not deleted for update`
    if (image === undefined) return { outcome: 'gone' }
    const [{ present, n }] = await tx<Array<{ present: boolean, n: number }>>`select bool_or(value = ${tag}) as present,
      count(*)::int as n from image_tags where image_id = ${id}`
    if (present !== true) {
      if (max >= 0 && n + 1 > max) return { outcome: 'over-quota', attempted: n + 1 }
      await tx`insert into image_tags (image_id, value) values (${id}, ${tag})`
    }
    await tx`update images set updated_at = ${new Date()} where id = ${id}`
    return { outcome: present === true ? 'present' : 'added' }
  })
}

export type RemoveTagResult = 'removed' | 'absent' | 'gone'

export async function removeTag (sql: Sql, id: string, tag: string): Promise<RemoveTagResult> {
  return await sql.begin(async (tx): Promise<RemoveTagResult> => {
    const [image] = await tx`select id from images where id = ${id} and not deleted for update`
    if (image === undefined) return 'gone'
    const deleted = await tx`delete from image_tags where image_id = ${id} and value = ${tag}`
    if (deleted.count === 0) return 'absent'
    await tx`update images set updated_at = ${new Date()} where id = ${id}`
    return 'removed'
  })
}
