// The location layer for uploads: which store receives the data (X-Image-Meta-Store or the
// default), the status around the upload (queued -> saving -> active), and the location and
// checksums recorded once the data is durable. Only the winner of the queued -> saving
// compare-and-set owns the image's `saving`, so only it ever moves it back to queued.

import { Errors } from '../errors.js'
import { addLocation } from '../registry/images.js'
import { endUpload, startUpload } from '../registry/leases.js'
import type { Upload, UploadLayer } from './lifecycle.js'

const NO_DATA = { size: null, virtual_size: null, checksum: null, os_hash_algo: null, os_hash_value: null }

async function backToQueued (u: Upload): Promise<void> {
  await endUpload(u.ctx.sql, u.image.id, u.ctx.gateway.id, 'queued', NO_DATA).catch((err) => {
    u.ctx.log.error({ err, imageId: u.image.id }, 'could not put the image back to queued')
  })
}

export const locationLayer: UploadLayer = (next) => async (u) => {
  const store = u.storeId === undefined ? u.ctx.stores.default : u.ctx.stores.get(u.storeId)
  if (store === undefined) throw Errors.unknownStore(u.storeId!)
  // Lost the race (or the image moved on): we own nothing, so we undo nothing.
  // The lease says which gateway writes the image, so a recovery can tell a dead upload.
  if (!await startUpload(u.ctx.sql, u.image.id, u.ctx.gateway.id, store.id, u.ctx.gateway.leaseSeconds)) throw Errors.uploadConflict('saving')
  u.store = store
  let inner
  try {
    inner = await next(u)
  } catch (err) {
    await backToQueued(u)
    throw err
  }
  let activated = false
  return {
    ...inner,
    async finish () {
      await inner.finish()
      const r = u.result!
      activated = await u.ctx.sql.begin(async (tx) => {
        const moved = await endUpload(tx, u.image.id, u.ctx.gateway.id, 'active', {
          size: r.size, virtual_size: u.virtualSize ?? null, checksum: r.checksum, os_hash_algo: r.osHashAlgo, os_hash_value: r.osHashValue
        })
        if (moved) await addLocation(tx, u.image.id, { store: store.id, url: r.url, metadata: { ...r.metadata, store: store.id } })
        return moved
      })
      // Deleted while uploading: Glance answers 410 (and the store layer removes the data).
      if (!activated) throw Errors.imageGone(u.image.id)
    },
    async abort (err) {
      await inner.abort(err)
      if (!activated) await backToQueued(u)
    }
  }
}
