// Multi-store discovery and per-store data removal (sections 1.12 and 2).

import type { AppContext } from '../../context.js'
import { Errors } from '../errors.js'
import type { Exchange } from '../exchange.js'
import type { Routes } from '../router.js'
import { assertOwner, visibleImage } from './images.js'
import { removeLocation } from '../../registry/images.js'
import { storeFailure } from '../../workers/image-data.js'

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
  try {
    await store.run({ op: 'delete', imageId, url: location.url })
  } catch (err) {
    const failure = storeFailure(store, err)
    throw failure.code === 'GLINT_STORE_BUSY' ? Errors.imageInUse(imageId) : failure
  }
  await removeLocation(ctx.sql, imageId, storeId)
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
