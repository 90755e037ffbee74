// Image members (sections 1.1, 1.11, 4.1): the projects a shared image is offered to, and
// whether each accepted it. Checks run in Glance's order (glance/api/v2/image_members.py):
// image lookup (404) -> shared only -> legacy ownership -> member lookup -> the change.

import type { AppContext } from '../../context.js'
import { Errors } from '../../errors.js'
import type { Exchange } from '../exchange.js'
import type { Routes } from '../router.js'
import { findImage, type ImageRecord } from '../../registry/images.js'
import { addMember, findMember, listMembers, removeMember, setMemberStatus } from '../../registry/members.js'
import { MEMBER_STATUSES, formatMember, memberFromBody, statusFromBody } from '../../domain/member.js'
import { hasNul } from '../../domain/storable.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** The image if the caller may see it; 404 otherwise, never 403 (section 4.1). */
async function lookupImage (ctx: AppContext, ex: Exchange): Promise<ImageRecord> {
  const id = ex.params[0]
  const image = UUID.test(id) ? await findImage(ctx.sql, id, ex.identity) : undefined
  if (image === undefined) throw Errors.memberImageNotFound(id)
  return image
}

const isOwner = (ex: Exchange, image: ImageRecord): boolean =>
  image.owner !== null && image.owner === ex.identity.projectId

async function list (ex: Exchange, ctx: AppContext): Promise<void> {
  const image = await lookupImage(ctx, ex)
  if (image.visibility !== 'shared') throw Errors.membersNotShared(image.id)
  const members = await listMembers(ctx.sql, image, ex.identity)
  ex.json(200, { members: members.map(formatMember), schema: '/v2/schemas/members' })
}

async function create (ex: Exchange, ctx: AppContext): Promise<void> {
  const member = memberFromBody(ex.body)
  const image = await lookupImage(ctx, ex)
  if (image.visibility !== 'shared') throw Errors.memberNotShared('create', image.id)
  if (!ex.identity.isAdmin && !isOwner(ex, image)) throw Errors.memberForbidden('create', image.id)
  const row = await addMember(ctx.sql, image.id, member, ctx.config.quotas.members)
  // 200, not 201: Glance's status for a new member
  ex.json(200, formatMember(row))
}

async function show (ex: Exchange, ctx: AppContext): Promise<void> {
  const image = await lookupImage(ctx, ex)
  // Glance maps every refusal here to 404 so that nothing leaks.
  if (image.visibility !== 'shared') throw Errors.memberHiddenNotShared()
  const row = hasNul(ex.params[1]) ? undefined : await findMember(ctx.sql, image, ex.params[1], ex.identity)
  if (row === undefined) throw Errors.memberNotFound(ex.params[1], image.id)
  ex.json(200, formatMember(row))
}

async function update (ex: Exchange, ctx: AppContext): Promise<void> {
  const status = statusFromBody(ex.body)
  const image = await lookupImage(ctx, ex)
  if (image.visibility !== 'shared') throw Errors.memberNotShared('update', image.id)
  // Only the member decides; the owner offering the image may not accept it for them.
  if (!ex.identity.isAdmin && isOwner(ex, image)) throw Errors.memberForbidden('update', image.id)
  const member = ex.params[1]
  if (hasNul(member) || await findMember(ctx.sql, image, member, ex.identity) === undefined) throw Errors.memberNotFound(member, image.id)
  if (typeof status !== 'string' || !MEMBER_STATUSES.includes(status)) throw Errors.badMemberStatus()
  const row = await setMemberStatus(ctx.sql, image.id, member, status)
  if (row === undefined) throw Errors.memberNotFound(member, image.id)
  ex.json(200, formatMember(row))
}

async function remove (ex: Exchange, ctx: AppContext): Promise<void> {
  const image = await lookupImage(ctx, ex)
  if (image.visibility !== 'shared') throw Errors.memberNotShared('delete', image.id)
  if (!ex.identity.isAdmin && !isOwner(ex, image)) throw Errors.memberForbidden('delete', image.id)
  const member = ex.params[1]
  if (hasNul(member) || !await removeMember(ctx.sql, image.id, member)) throw Errors.memberNotFound(member, image.id)
  ex.empty(204)
}

export const memberRoutes: Routes<AppContext> = {
  '/v2/images/:id/members': {
    GET: { handle: list },
    POST: { body: 'json', handle: create }
  },
  '/v2/images/:id/members/:member': {
    GET: { handle: show },
    PUT: { body: 'json', handle: update },
    DELETE: { handle: remove }
  }
}
