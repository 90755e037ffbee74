// The location layer: where image data lives. Uploads (which store receives the data, the
// status around the upload: queued -> saving -> active, and the location and checksums
// recorded once the data is durable), removing data on delete and per store, and the
// copy-image import, which puts an active image's data into more stores.

import { Errors } from '../errors.js'
import type { AppContext } from '../context.js'
import { addLocation, locationsOf, type ImageRecord } from '../registry/images.js'
import { endUpload, startUpload } from '../registry/leases.js'
import { storeList } from '../registry/tasks.js'
import { deleteImageData, removeImageCopy } from '../stores/image-data.js'
import type { Upload, UploadLayer } from './lifecycle.js'
import { throughUpload, type Layer, type Op } from './chain.js'
import { copyToStores } from './copy-image.js'
import { changesLocations, updateLocations } from './location-update.js'

const NO_DATA = { size: null, virtual_size: null, checksum: null, os_hash_algo: null, os_hash_value: null }

async function backToQueued (u: Upload): Promise<void> {
  await endUpload(u.ctx.sql, u.image.id, u.ctx.gateway.id, 'queued', NO_DATA).catch((err) => {
    u.ctx.log.error({ err, imageId: u.image.id }, 'could not put the image back to queued')
  })
}

/**
 * Only the winner of the queued -> saving compare-and-set owns the image's `saving`, so only
 * it ever moves it back to queued: the loser of two racing uploads undoes nothing.
 */
export const uploadLocation: UploadLayer = (next) => async (u) => {
  const store = u.storeId === undefined ? u.ctx.stores.default : u.ctx.stores.get(u.storeId)
  if (store === undefined) throw Errors.unknownStore(u.storeId!)
  if (store.readOnly) throw Errors.readOnlyStore(store.id)
  // Lost the race (or the image moved on): we own nothing, so we undo nothing.
  // The lease says which gateway writes the image, so a recovery can tell a dead upload.
  if (!await startUpload(u.ctx.sql, u.image.id, u.ctx.gateway.id, store.id, u.ctx.gateway.leaseSeconds)) throw Errors.uploadConflict('saving')
  u.store = store
  // Renewed while this upload runs; once it ends (even without reaching the registry) the
  // lease is left to run out, and an image still saving then is recovered by a sweep.
  const leases = u.ctx.gateway.uploads
  leases.add(u.image.id)
  let inner
  try {
    inner = await next(u)
  } catch (err) {
    await backToQueued(u)
    leases.delete(u.image.id)
    throw err
  }
  let activated = false
  let aborted = false
  /** the activation in flight: an abort that arrives meanwhile waits for its outcome */
  let activating: Promise<boolean> | undefined
  return {
    ...inner,
    async finish () {
      await inner.finish()
      leases.delete(u.image.id)
      // The client left while the data was made durable: abort() removes it, nothing is activated.
      if (aborted) throw Errors.uploadConflict('queued')
      const r = u.result!
      activating = u.ctx.sql.begin(async (tx) => {
        const moved = await endUpload(tx, u.image.id, u.ctx.gateway.id, 'active', {
          size: r.size, virtual_size: u.virtualSize ?? null, checksum: r.checksum, os_hash_algo: r.osHashAlgo, os_hash_value: r.osHashValue
        })
        if (moved) await addLocation(tx, u.image.id, { store: store.id, url: r.url, metadata: { ...r.metadata, store: store.id } })
        return moved
      })
      activated = await activating
      // Deleted while uploading: Glance answers 410 (and the store session removes the data).
      if (!activated) throw Errors.imageGone(u.image.id)
    },
    async abort (err) {
      leases.delete(u.image.id)
      aborted = true
      // Activated meanwhile: the upload is complete, its data stays.
      if (await activating?.catch(() => false) === true) return
      await inner.abort(err)
      if (!activated) await backToQueued(u)
    }
  }
}

/** Which stores a copy-image import fills (glance/api/v2/images.py import_image's checks, after policy). */
function resolveImportStores (op: Op<'image.import'>): string[] {
  const { ctx, image, request } = op
  const { body, storeHeader: header } = request
  if (image.status !== 'active') throw Errors.importConflict(`Image ${image.id} is not active`)
  const given: unknown = body.stores
  if (body.all_stores === true && (given !== undefined || header !== undefined)) {
    throw Errors.importInvalid('All_stores parameter can\'t be used with x-image-meta-store header or stores parameter')
  }
  if (given !== undefined && header !== undefined) throw Errors.importInvalid('Stores parameter and x-image-meta-store header can\'t be both specified')
  if (given !== undefined && (!Array.isArray(given) || given.some((s) => typeof s !== 'string'))) throw Errors.importInvalid('stores must be a list of store identifiers')
  const holding = new Set(image.locations.map((l) => l.store))
  let stores: string[]
  if (body.all_stores === true) {
    stores = ctx.stores.ids().filter((id) => !holding.has(id))
  } else {
    stores = (given as string[] | undefined) ?? [header ?? ctx.stores.default.id]
    for (const id of stores) {
      if (ctx.stores.get(id) === undefined || ctx.stores.get(id)!.readOnly) throw Errors.importConflict(`Store for identifier ${id} not found`)
      if (holding.has(id)) throw Errors.importInvalid(`Image is already present at store '${id}'`)
    }
  }
  if (storeList(image.properties.os_glance_import_task).size > 0) throw Errors.importConflict('Image has active task')
  return [...new Set(stores)]
}

/**
 * An upload (through any gateway) may commit between the delete's read of the image and its
 * soft delete: its location is in the registry but was not in the image we removed data for.
 * The image is deleted now, so such data is removed too; what cannot be is left for
 * `glint orphans` rather than failing a delete that has happened.
 */
async function removeLateData (ctx: AppContext, image: ImageRecord): Promise<void> {
  const late = await locationsOf(ctx.sql, image.id)
  if (late.length === 0) return
  await deleteImageData(ctx, { ...image, locations: late }).catch((err) => {
    ctx.log.error({ err, imageId: image.id }, 'could not remove the data of an upload that finished as its image was deleted')
  })
}

export const locationLayer: Layer = (next) => async (op) => {
  switch (op.kind) {
    case 'image.upload': return await throughUpload(uploadLocation, next, op)
    case 'image.update':
      if (changesLocations(op)) return await updateLocations(op, next)
      break
    case 'image.delete':
      if (op.image.protected) throw Errors.imageProtected(op.image.id)
      // Data first: a store that refuses (a COW clone still uses the RBD snapshot) answers 409
      // and the image keeps every location.
      await deleteImageData(op.ctx, op.image)
      await next(op)
      await removeLateData(op.ctx, op.image)
      return
    case 'store.delete': {
      const { image, store } = op
      if (image.status !== 'active') throw Errors.invalidStatusTransition('It\'s not allowed to remove image data from store if image status is not \'active\'')
      const location = image.locations.find((l) => l.store === store.id)
      if (location === undefined) throw Errors.storeNotHolding(image.id, store.id)
      if (image.locations.length === 1) throw Errors.lastLocation()
      await removeImageCopy(op.ctx, store, image.id, location)
      break
    }
    case 'image.import': {
      const stores = resolveImportStores(op)
      if (stores.length === 0) return {}
      const request = { ...op.request, stores }
      // The registry records the task and takes the image's import lock; the copies run after.
      const started = await next({ ...op, request }) as { taskId?: string }
      if (started.taskId !== undefined) void copyToStores(op.ctx, op.image, request, started.taskId)
      return started
    }
  }
  return await next(op)
}
