// PATCH of /locations in the location layer: the plan (src/domain/location-patch.ts), then each
// new URL confirmed by the store that can read it (size > 0, as glance/location.py
// _check_location_uri), then one save that holds only if no other change of the image's
// locations or status committed meanwhile; if one did, the patch is planned again on the image
// as it is now (so concurrent adds all land, and a second remove of the last-but-one is a 403).
// Data of removed locations is removed from its store after the save.

import type { AppContext } from '../context.js'
import { Errors, GlintError } from '../errors.js'
import { findImage, type ImageLocation, type ImageRecord } from '../registry/images.js'
import { isLocationChange, planLocations, type PlannedLocation } from '../domain/location-patch.js'
import type { Store } from '../stores/stores.js'
import type { Dispatch, Op } from './chain.js'

const ATTEMPTS = 8
/** glance_store.location's restricted schemes: never added through the API. */
const RESTRICTED = new Set(['file', 'filesystem', 'swift+config'])

export function changesLocations (op: Op<'image.update'>): boolean {
  return op.changes.some(isLocationChange)
}

/** The store that reads `url`, and the size it reports; 400 "Invalid location" otherwise. */
async function locate (ctx: AppContext, url: string): Promise<{ store: Store, size: number }> {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1].toLowerCase()
  if (scheme === undefined || RESTRICTED.has(scheme)) throw Errors.invalidLocation()
  let candidates: Store[] = []
  if ((scheme === 'http' || scheme === 'https') && ctx.stores.http !== undefined) candidates = [ctx.stores.http]
  else if (scheme === 'rbd') candidates = ctx.stores.all().filter((s) => s.type === 'rbd')
  for (const store of candidates) {
    try {
      const { size } = await store.run<{ size: number }>({ op: 'stat', imageId: '', url })
      if (size > 0) return { store, size }
      break
    } catch (err) {
      const code = (err as { code?: string }).code
      if (code === 'GLINT_OTHER_CLUSTER') continue
      ctx.log.info({ err, url: redact(url) }, 'location refused')
      break
    }
  }
  throw Errors.invalidLocation()
}

/** URLs may carry credentials: the log gets them without. */
function redact (url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@')
}

export async function updateLocations (op: Op<'image.update'>, next: Dispatch): Promise<ImageRecord> {
  const { ctx } = op
  const rules = { showMultipleLocations: ctx.config.showMultipleLocations, hashingAlgorithm: ctx.config.hashingAlgorithm, maxLocations: ctx.config.quotas.locations }
  let image = op.image
  for (let attempt = 1; ; attempt++) {
    const plan = planLocations(image, op.changes, rules)
    let size: number | undefined
    const confirmed = new Map<string, { store: Store, size: number }>()
    for (const l of plan.locations.filter((l) => l.fresh)) {
      const found = confirmed.get(l.url) ?? await locate(ctx, l.url)
      confirmed.set(l.url, found)
      size ??= found.size
      l.store = found.store.id
    }
    const saved = (l: PlannedLocation): ImageLocation => ({ store: l.store!, url: l.url, metadata: l.fresh ? { ...l.metadata, store: l.store } : l.metadata })
    const columns: Record<string, unknown> = { ...plan.validation }
    if (plan.activate) columns.status = 'active'
    if (image.size === null && size !== undefined) columns.size = size
    try {
      const result = await next({
        ...op,
        image,
        locations: { save: { status: image.status, expected: image.locations, next: plan.locations.map(saved) }, columns }
      }) as ImageRecord
      for (const gone of plan.removed) void removeData(ctx, image.id, gone)
      return result
    } catch (err) {
      if (!(err instanceof GlintError) || err.code !== 'GLINT_LOCATIONS_MOVED' || attempt === ATTEMPTS) throw err
      const now = await findImage(ctx.sql, image.id)
      if (now === undefined) throw Errors.imageNotFound(image.id)
      image = now
    }
  }
}

/** glance/location.py StoreLocations.pop: the data goes with its location (an http store keeps its own). */
async function removeData (ctx: AppContext, imageId: string, location: ImageLocation): Promise<void> {
  const store = ctx.stores.get(location.store)
  if (store === undefined || store.readOnly) return
  await store.run({ op: 'delete', imageId, url: location.url }).catch((err) => {
    ctx.log.error({ err, imageId, store: store.id }, 'could not remove the data of a removed location (left for glint orphans)')
  })
}
