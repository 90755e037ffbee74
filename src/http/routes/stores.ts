// Multi-store discovery and per-store data removal (sections 1.12 and 2).

import type { AppContext } from '../../context.js'
import { Errors } from '../../errors.js'
import type { Exchange } from '../exchange.js'
import type { Routes } from '../router.js'
import { assertOwner, visibleImage } from './images.js'
import { removeImageCopy } from '../../stores/image-data.js'

function storeInfo (ctx: AppContext, detail: boolean): unknown {
  return {
    stores: ctx.stores.all().map((store) => {
      const entry: Record<string, unknown> = { id: store.id }
      if (store.config.description !== undefined) entry.description = store.config.description
      if (store.isDefault) entry.default = 'true'
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
  const image = await visibleImage(ctx, ex, imageId)
  assertOwner(ex, image)
  if (image.status !== 'active') throw Errors.invalidStatusTransition(`It's not allowed to remove image data from store if image status is not 'active'`)
  const location = image.locations.find((l) => l.store === storeId)
  if (location === undefined) throw Errors.storeNotHolding(imageId, storeId)
  if (image.locations.length === 1) throw Errors.lastLocation()
  await removeImageCopy(ctx, store, imageId, location)
  ex.empty(204)
}

export const storeRoutes: Routes<AppContext> = {
  '/v2/info/stores': { GET: { handle: (ex, ctx) => ex.json(200, storeInfo(ctx, false)) } },
  '/v2/info/stores/detail': {
    GET: {
      handle: (ex, ctx) => {
        if (!ex.identity.isAdmin) throw Errors.storesInfoDetailForbidden()
        ex.json(200, storeInfo(ctx, true))
      }
    }
  },
  '/v2/stores/:store/:image': { DELETE: { handle: deleteFromStore } }
}
