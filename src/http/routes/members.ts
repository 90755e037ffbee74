// Image members (sections 1.1, 1.11, 4.1): the projects a shared image is offered to, and
// whether each accepted it. Through the chain in Glance's order (glance/api/v2/image_members.py):
// image lookup (404) -> policy (shared only, legacy ownership, the member rules) -> quota
// (image_member_quota) -> registry (member lookup, the change).

import type { AppContext } from '../../context.js'
import { Errors } from '../../errors.js'
import type { Exchange } from '../exchange.js'
import type { Routes } from '../router.js'
import { opBase } from './images.js'
import { run, targetImage } from '../../pipeline/index.js'
import { formatMember, memberFromBody, statusFromBody } from '../../domain/member.js'
import type { ImageRecord } from '../../registry/images.js'

/** The image if the caller may see it; 404 otherwise, never 403 (section 4.1). */
async function lookupImage (ctx: AppContext, ex: Exchange): Promise<ImageRecord> {
  return await targetImage(ctx, ex.identity, ex.params[0], Errors.memberImageNotFound)
}

async function list (ex: Exchange, ctx: AppContext): Promise<void> {
  const members = await run({ kind: 'member.list', ...opBase(ex, ctx), image: await lookupImage(ctx, ex) })
  ex.json(200, { members: members.map(formatMember), schema: '/v2/schemas/members' })
}

async function create (ex: Exchange, ctx: AppContext): Promise<void> {
  const member = memberFromBody(ex.body)
  const row = await run({ kind: 'member.create', ...opBase(ex, ctx), image: await lookupImage(ctx, ex), member })
  // 200, not 201: Glance's status for a new member
  ex.json(200, formatMember(row))
}

async function show (ex: Exchange, ctx: AppContext): Promise<void> {
  const row = await run({ kind: 'member.show', ...opBase(ex, ctx), image: await lookupImage(ctx, ex), member: ex.params[1] })
  ex.json(200, formatMember(row))
}

async function update (ex: Exchange, ctx: AppContext): Promise<void> {
  const status = statusFromBody(ex.body)
  const row = await run({ kind: 'member.update', ...opBase(ex, ctx), image: await lookupImage(ctx, ex), member: ex.params[1], status })
  ex.json(200, formatMember(row))
}

async function remove (ex: Exchange, ctx: AppContext): Promise<void> {
  await run({ kind: 'member.delete', ...opBase(ex, ctx), image: await lookupImage(ctx, ex), member: ex.params[1] })
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
