// Glance's cache management API (v2.14+, PUT since 2.16), behind Glance's cache_list,
// cache_image and cache_delete policies (admin only by default). Served only while the image cache is on; otherwise
// these paths answer 404 as in a Glance without the cache.

import type { AppContext } from '../../context.js'
import { Errors } from '../../errors.js'
import type { ImageCache } from '../../stores/image-cache.js'
import { findImage } from '../../registry/images.js'
import type { Exchange } from '../exchange.js'
import type { Routes } from '../router.js'

type CachePolicy = 'cache_list' | 'cache_image' | 'cache_delete'

/** The cache, for an admin; 404 when the cache is off, 403 for anyone else. */
function cacheFor (ex: Exchange, ctx: AppContext, policy: CachePolicy): ImageCache {
  if (ctx.imageCache === undefined) throw Errors.routeNotFound()
  ctx.policy.enforce(ex.identity, policy, {})
  return ctx.imageCache
}

async function queueImage (ex: Exchange, ctx: AppContext): Promise<void> {
  const cache = cacheFor(ex, ctx, 'cache_image')
  const id = ex.params[0]
  const image = await findImage(ctx.sql, id)
  if (image === undefined) throw Errors.imageNotFound(id)
  if (image.status !== 'active') throw Errors.cacheNotActive()
  await cache.queue(id)
  ex.empty(202)
}

async function clearCache (ex: Exchange, ctx: AppContext): Promise<void> {
  const cache = cacheFor(ex, ctx, 'cache_delete')
  const target = (ex.headers['x-image-cache-clear-target'] ?? '').toLowerCase()
  if (target !== '' && target !== 'cache' && target !== 'queue') throw Errors.badCacheClearTarget()
  await cache.clear(target === '' ? 'both' : target)
  ex.empty(204)
}

export const cacheRoutes: Routes<AppContext> = {
  '/v2/cache': {
    GET: { handle: (ex, ctx) => ex.json(200, cacheFor(ex, ctx, 'cache_list').list()) },
    DELETE: { handle: clearCache }
  },
  '/v2/cache/:id': {
    PUT: { handle: queueImage },
    DELETE: {
      handle: async (ex, ctx) => {
        await cacheFor(ex, ctx, 'cache_delete').remove(ex.params[0])
        ex.empty(204)
      }
    }
  }
}
