// Image memberships (table image_members). Who may see which rows follows Glance's
// _image_member_find: an admin or the image's owner sees them all, anyone else only their own.

import type { Sql } from 'postgres'
import type { Identity } from '../identity.js'
import { Errors } from '../errors.js'

export interface MemberRecord { image_id: string, member: string, status: string, created_at: Date, updated_at: Date }

const COLUMNS = 'image_id, member, status, created_at, updated_at'

function seesAll (image: { owner: string | null }, who: Identity): boolean {
  return who.isAdmin || (who.projectId !== null && image.owner === who.projectId)
}

export async function listMembers (sql: Sql, image: { id: string, owner: string | null }, who: Identity): Promise<MemberRecord[]> {
  const mine = seesAll(image, who) ? sql`true` : sql`member = ${who.projectId}`
  return await sql<MemberRecord[]>`select ${sql.unsafe(COLUMNS)} from image_members
    where image_id = ${image.id} and ${mine} order by created_at, member`
}

export async function findMember (sql: Sql, image: { id: string, owner: string | null }, member: string, who: Identity): Promise<MemberRecord | undefined> {
  if (!seesAll(image, who) && member !== who.projectId) return undefined
  const [row] = await sql<MemberRecord[]>`select ${sql.unsafe(COLUMNS)} from image_members
    where image_id = ${image.id} and member = ${member}`
  return row
}

/**
 * Adds a pending membership. The image row is locked so that concurrent adds count the
 * quota one after another (a negative quota is unlimited); the quota is checked before
 * the duplicate, as Glance does.
 */
export async function addMember (sql: Sql, imageId: string, member: string, quota: number): Promise<MemberRecord> {
  return await sql.begin(async (tx) => {
    const [image] = await tx`select id from images where id = ${imageId} and not deleted for update`
    if (image === undefined) throw Errors.memberImageNotFound(imageId)
    if (quota >= 0) {
      const [{ count }] = await tx<Array<{ count: number }>>`select count(*)::int as count from image_members where image_id = ${imageId}`
      if (count + 1 > quota) throw Errors.tooManyMembers(imageId, count + 1, quota)
    }
    const now = new Date()
    const [row] = await tx<MemberRecord[]>`insert into image_members ${tx({ image_id: imageId, member, status: 'pending', created_at: now, updated_at: now })}
      on conflict (image_id, member) do nothing returning ${tx.unsafe(COLUMNS)}`
    if (row === undefined) throw Errors.memberExists(member, imageId)
    return row
  })
}

export async function setMemberStatus (sql: Sql, imageId: string, member: string, status: string): Promise<MemberRecord | undefined> {
  const [row] = await sql<MemberRecord[]>`update image_members set status = ${status}, updated_at = ${new Date()}
    where image_id = ${imageId} and member = ${member} returning ${sql.unsafe(COLUMNS)}`
  return row
}

export async function removeMember (sql: Sql, imageId: string, member: string): Promise<boolean> {
  const result = await sql`delete from image_members where image_id = ${imageId} and member = ${member}`
  return result.count === 1
}
