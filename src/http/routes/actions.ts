// POST /v2/images/{id}/actions/deactivate and /reactivate (sections 1.3, 4.4), through the
// chain: policy (`deactivate` / `reactivate`), then the registry's idempotent status change
// (any other status is 403, as Glance's domain raises Forbidden).

import type { AppContext } from '../../context.js'
import type { Exchange } from '../exchange.js'
import type { Routes } from '../router.js'
import { opBase, visibleImage } from './images.js'
import { run } from '../../pipeline/index.js'

function perform (kind: 'image.deactivate' | 'image.reactivate') {
  return async function (ex: Exchange, ctx: AppContext): Promise<void> {
    await run({ kind, ...opBase(ex, ctx), image: await visibleImage(ctx, ex, ex.params[0]) })
    ex.empty(204)
  }
}

export const actionRoutes: Routes<AppContext> = {
  '/v2/images/:id/actions/deactivate': { POST: { handle: perform('image.deactivate') } },
  '/v2/images/:id/actions/reactivate': { POST: { handle: perform('image.reactivate') } }
}
