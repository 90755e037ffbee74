// The location layer: where image data lives. Uploads (which store receives the data, the
// status around the upload: queued -> saving -> active, and the location and checksums
// recorded once the data is durable), stages (glance-direct's PUT .../stage into the staging
// store), removing data on delete and per store, and which stores an import fills.

import { Errors } from '../errors.js'
import type { AppContext } from '../context.js'
import { addLocation, locationsOf, type ImageRecord } from '../registry/images.js'
import { endUpload, startStage, startUpload } from '../registry/leases.js'
import { deleteImageData, removeImageCopy } from '../stores/image-data.js'
import type { Upload, UploadLayer } from './lifecycle.js'
import { throughUpload, type Layer, type Op } from './chain.js'
import { checkUrl, FetchRefused, hostResolves } from '../stores/http-store.js'
import { changesLocations, updateLocations } from './location-update.js'
import { credentialsOf } from './glance-download.js'

const NO_DATA = { size: null, virtual_size: null, checksum: null, os_hash_algo: null, os_hash_value: null }

async function backToQueued (u: Upload): Promise<void> {
  await endUpload(u.ctx.sql, u.image.id, u.ctx.gateway.id, 'queued', NO_DATA, u.staging === true ? 'uploading' : 'saving').catch((err) => {
    u.ctx.log.error({ err, imageId: u.image.id }, 'could not put the image back to queued')
  })
}

/**
 * Only the winner of the queued -> saving compare-and-set owns the image's `saving`, so only
 * it ever moves it back to queued: the loser of two racing uploads undoes nothing.
 */
export const uploadLocation: UploadLayer = (next) => async (u) => {
  if (u.staging === true) return await stageLocation(next, u)
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

/**
 * A stage (glance-direct's PUT .../stage): queued -> uploading under the same lease as an
 * upload, the bytes into the staging store; once durable the image stays `uploading` with its
 * size (Glance's stage sets image.size) and no location: the staged data is found by the image
 * id in the staging store. Undone, the staged data is removed and the image is queued again.
 */
async function stageLocation (next: Parameters<UploadLayer>[0], u: Upload): ReturnType<ReturnType<UploadLayer>> {
  const store = u.ctx.stores.staging!
  if (!await startStage(u.ctx.sql, u.image.id, u.ctx.gateway.id, store.id, u.ctx.gateway.leaseSeconds)) throw Errors.stageConflict(u.image.status)
  u.store = store
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
  let staged: Promise<boolean> | undefined
  return {
    ...inner,
    async finish () {
      await inner.finish()
      leases.delete(u.image.id)
      staged = endUpload(u.ctx.sql, u.image.id, u.ctx.gateway.id, 'uploading', { size: u.result!.size, virtual_size: u.virtualSize ?? null }, 'uploading')
      if (!await staged) throw Errors.imageGone(u.image.id)
    },
    async abort (err) {
      leases.delete(u.image.id)
      if (await staged?.catch(() => false) === true) return
      await inner.abort(err)
      await backToQueued(u)
    }
  }
}

/**
 * Which stores an import fills, after policy, as glance/api/v2/images.py import_image checks
 * them: the image's status for the method, the store selection (body `stores`, `all_stores`,
 * or the X-Image-Meta-Store header, else the default store), and for web-download the URL
 * through [import_filtering_opts] (a host that does not resolve is accepted: the task fails).
 */
async function resolveImportStores (op: Op<'image.import'>): Promise<string[]> {
  const { ctx, image, request } = op
  const { body, storeHeader: header, method } = request
  const copying = method === 'copy-image'
  if (copying && image.status !== 'active') throw Errors.importConflict('Only images with status active can be targeted for copying')
  if (!copying && image.status === 'active') throw Errors.importConflict('Image with status active cannot be target for import')
  if (image.container_format === null) throw Errors.importConflict('\'container_format\' needs to be set before import')
  if (image.disk_format === null) throw Errors.importConflict('\'disk_format\' needs to be set before import')
  const given: unknown = body.stores
  if (body.all_stores === true && (given !== undefined || header !== undefined)) {
    throw Errors.importInvalid('All_stores parameter can\'t be used with x-image-meta-store header or stores parameter')
  }
  if (given !== undefined && header !== undefined) throw Errors.importInvalid('Stores parameter and x-image-meta-store header can\'t be both specified')
  if (given !== undefined && (!Array.isArray(given) || given.some((s) => typeof s !== 'string'))) throw Errors.importInvalid('stores must be a list of store identifiers')
  const holding = new Set(copying ? image.locations.map((l) => l.store) : [])
  let stores: string[]
  if (body.all_stores === true) {
    stores = ctx.stores.ids().filter((id) => !holding.has(id))
  } else {
    stores = (given as string[] | undefined) ?? [header ?? ctx.stores.default.id]
    for (const id of stores) {
      if (!ctx.stores.ids().includes(id)) throw Errors.importConflict(`Store for identifier ${id} not found`)
      if (holding.has(id)) throw Errors.importInvalid(`Image is already present at store '${id}'`)
    }
  }
  if (method === 'web-download') await checkImportUrl(ctx, (body.method as Record<string, unknown>).uri)
  return [...new Set(stores)]
}

/**
 * Glance's validate_uri at the API: a refused URL is 400. A host that does not resolve is
 * accepted and fails in the task (as tempest expects, whatever the host lists say): the task
 * fetches through the same filter, so nothing refused is ever fetched.
 */
async function checkImportUrl (ctx: AppContext, uri: unknown): Promise<void> {
  const refused = Errors.importInvalid(`URI for web-download does not pass filtering: ${typeof uri === 'string' ? uri : 'None'}`)
  if (typeof uri !== 'string') throw refused
  try {
    await checkUrl(uri, ctx.config.importFiltering)
  } catch (err) {
    if (err instanceof FetchRefused && (err.unresolved || (err.code === 'GLINT_URL_REFUSED' && !await hostResolves(uri)))) return
    throw refused
  }
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
      // staged data (glance-direct) goes with its image, as Glance deletes it from staging
      if (op.image.status === 'uploading' || op.image.status === 'importing') {
        await op.ctx.stores.staging?.run({ op: 'purge', imageId: op.image.id }).catch((err) => {
          op.ctx.log.error({ err, imageId: op.image.id }, 'could not remove the staged data of a deleted image')
        })
      }
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
      const stores = await resolveImportStores(op)
      if (stores.length === 0) return {}
      // The registry records the task and takes the image's import lock; a gateway's poller
      // runs it (this one's at once, unless it is busy).
      // glance-download: the endpoint is resolved from this request's token, which the task (run
      // anywhere, perhaps later) no longer has
      const credentials = op.request.method === 'glance-download' ? credentialsOf(op.identity, op.request.body.method as Record<string, unknown>) : undefined
      const started = await next({ ...op, request: { ...op.request, stores, credentials } }) as { task?: unknown }
      op.ctx.importTasks?.kick()
      return started
    }
  }
  return await next(op)
}
