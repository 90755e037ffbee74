// Image data operations shared by several routes, and the mapping of store failures onto
// Glance's HTTP answers.

import type { AppContext } from '../context.js'
import { Errors, GlintError } from '../errors.js'
import type { ImageLocation, ImageRecord } from '../registry/images.js'
import { removeLocation } from '../registry/images.js'
import type { Store } from './stores.js'

/** A store error (its `code` is an errno name or a GLINT_ code) as the API answers it. */
export function storeFailure (store: Store, err: unknown): GlintError {
  if (err instanceof GlintError) return err
  const { code, message } = err as { code?: string, message?: string }
  switch (code) {
    case 'ENOSPC': case 'EDQUOT': case 'EFBIG': return Errors.storageFull(store.id)
    case 'EACCES': case 'EPERM': return Errors.storeWriteDenied(store.id)
    case 'EBUSY': return Errors.storeBusy(store.id, message ?? 'in use')
    case 'EEXIST': return Errors.storeDuplicate(store.id)
    case 'ETIMEDOUT': case 'ENOTCONN': case 'ECONNREFUSED': case 'ESHUTDOWN': case 'EHOSTUNREACH': case 'ENXIO':
    case 'GLINT_STORE_UNAVAILABLE': case 'GLINT_RBD_UNAVAILABLE':
      return Errors.storeUnavailable(store.id, message ?? code)
    default: return Errors.storeFailed(store.id, message ?? String(err))
  }
}

/**
 * Removes every copy of the image's data. A copy a store refuses to remove (a COW clone of
 * the RBD snapshot still exists) stops the delete with 409 before anything is removed from
 * the registry; copies already removed are dropped from the image's locations.
 */
export async function deleteImageData (ctx: AppContext, image: ImageRecord): Promise<void> {
  for (const location of image.locations) {
    const store = ctx.stores.get(location.store)
    if (store === undefined) continue // a store no longer configured: nothing Glint can remove
    await removeImageCopy(ctx, store, image.id, location)
  }
  await ctx.imageCache?.remove(image.id)
}

/** Removes one store's copy of the image's data, then its location; 409 while the copy is in use. */
export async function removeImageCopy (ctx: AppContext, store: Store, imageId: string, location: ImageLocation): Promise<void> {
  try {
    await store.run({ op: 'delete', imageId, url: location.url })
  } catch (err) {
    const failure = storeFailure(store, err)
    throw failure.code === 'GLINT_STORE_BUSY' ? Errors.imageInUse(imageId) : failure
  }
  await removeLocation(ctx.sql, imageId, location.store, location.url)
}
