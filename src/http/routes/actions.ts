// POST /v2/images/{id}/actions/deactivate and /reactivate (sections 1.3, 4.4): owner or admin;
// each is idempotent, and any other status is 403 (Glance's domain raises Forbidden).

import type { AppContext } from '../../context.js'
import { Errors } from '../../errors.js'
import type { Exchange } from '../exchange.js'
import type { Routes } from '../router.js'
import { assertOwner, visibleImage } from './images.js'
import { findImage, moveStatus } from '../../registry/images.js'

interface Action { name: string, from: string, to: string }

const DEACTIVATE: Action = { name: 'deactivate', from: 'active', to: 'deactivated' }
const REACTIVATE: Action = { name: 'reactivate', from: 'deactivated', to: 'active' }

function perform (action: Action) {
  return async function (ex: Exchange, ctx: AppContext): Promise<void> {
    const image = await visibleImage(ctx, ex, ex.params[0])
    assertOwner(ex, image)
    let status = image.status
    // Compare-and-set; if the status moved underneath, decide again on the new one.
    while (status !== action.to) {
      if (status !== action.from) throw Errors.invalidStatusTransition(`Not allowed to ${action.name} image in status '${status}'`)
      if (await moveStatus(ctx.sql, image.id, [action.from], action.to)) break
      const now = await findImage(ctx.sql, image.id)
      if (now === undefined) throw Errors.imageNotFound(image.id)
      status = now.status
    }
    ex.empty(204)
  }
}

export const actionRoutes: Routes<AppContext> = {
  '/v2/images/:id/actions/deactivate': { POST: { handle: perform(DEACTIVATE) } },
  '/v2/images/:id/actions/reactivate': { POST: { handle: perform(REACTIVATE) } }
}
