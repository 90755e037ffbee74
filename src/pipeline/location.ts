// The location layer: which store receives the data (X-Image-Meta-Store or the default),
// the status moves around the upload (queued -> saving -> active, or back to queued), and
// the location and checksums recorded once the data is durable.

import { Errors } from '../errors.js'
import { addLocation, moveStatus } from '../registry/images.js'
import type { UploadLayer } from './lifecycle.js'

export const locationLayer: UploadLayer = {
  name: 'location',
  async beforeUpload (u) {
    const wanted = u.ex.headers['x-image-meta-store']
    const store = wanted === undefined ? u.ctx.stores.default : u.ctx.stores.get(wanted)
    if (store === undefined) throw Errors.unknownStore(wanted!)
    u.store = store
    // Compare-and-set: of two uploads racing for one queued image, one gets 409.
    if (!await moveStatus(u.ctx.sql, u.image.id, ['queued'], 'saving')) throw Errors.uploadConflict('saving')
  },
  async afterUpload (u) {
    const r = u.result!
    const activated = await u.ctx.sql.begin(async (tx) => {
      const moved = await moveStatus(tx, u.image.id, ['saving'], 'active', {
        size: r.size, checksum: r.checksum, os_hash_algo: r.osHashAlgo, os_hash_value: r.osHashValue
      })
      if (moved) await addLocation(tx, u.image.id, { store: u.store!.id, url: r.url, metadata: { ...r.metadata, store: u.store!.id } })
      return moved
    })
    // Deleted (or reset) while uploading: Glance answers 410 and removes the data.
    if (!activated) throw Errors.imageGone(u.image.id)
  },
  async onFailure (u) {
    await moveStatus(u.ctx.sql, u.image.id, ['saving'], 'queued', { size: null, checksum: null, os_hash_algo: null, os_hash_value: null })
  }
}
