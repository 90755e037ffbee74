// Multi-store discovery, the project's usage of its unified limits, and per-store data removal (sections 1.12 and 2), through the chain
// (policy: stores_info_detail, get_image_location + delete_image_location; location: the removal).

import type { AppContext } from '../../context.js'
import { Errors } from '../../errors.js'
import type { Exchange } from '../exchange.js'
import type { Routes } from '../router.js'
import { opBase, visibleImage } from './images.js'
import { run } from '../../pipeline/index.js'
import { projectUsage } from '../../pipeline/unified-limits.js'

function storeInfo (ctx: AppContext, detail: boolean): unknown {
  return {
    // Glance lists an http store too, marked read-only
    stores: [...ctx.stores.all(), ...(ctx.stores.http === undefined ? [] : [ctx.stores.http])].map((store) => {
      const entry: Record<string, unknown> = { id: store.id }
      if (store.config.description !== undefined) entry.description = store.config.description
      if (store.isDefault) entry.default = 'true'
      if (store.readOnly) entry['read-only'] = 'true'
      if (detail) {
        entry.type = store.type
        entry.weight = store.config.weight
        entry.properties = store.properties()
      }
      return entry
    })
  }
}

async function deleteFromStore (ex: Exchange, ctx: AppContext): Promise<void> {
  const [storeId, imageId] = ex.params
  const store = ctx.stores.get(storeId)
  if (store === undefined) throw Errors.unknownStore(storeId)
  await run({ kind: 'store.delete', ...opBase(ex, ctx), image: await visibleImage(ctx, ex, imageId), store })
  ex.empty(204)
}

export const storeRoutes: Routes<AppContext> = {
  '/v2/info/stores': { GET: { handle: (ex, ctx) => ex.json(200, storeInfo(ctx, false)) } },
  '/v2/info/stores/detail': {
    GET: {
      handle: async (ex, ctx) => {
        await run({ kind: 'stores.detail', ...opBase(ex, ctx) })
        ex.json(200, storeInfo(ctx, true))
      }
    }
  },
  // Glance's get_usage: no policy rule; the caller's own project
  '/v2/info/usage': { GET: { handle: async (ex, ctx) => ex.json(200, { usage: await projectUsage(ctx, ex.identity.projectId) }) } },
  '/v2/stores/:store/:image': { DELETE: { handle: deleteFromStore } }
}
