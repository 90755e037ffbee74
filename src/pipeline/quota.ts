// The quota layer for uploads: image_size_cap per image and user_storage_quota per owner,
// enforced while the bytes stream (413 the moment a limit is crossed) and re-checked before
// the upload is committed, because concurrent uploads of one owner each saw the same usage.
// It starts nothing, so it has nothing to undo.

import { Errors } from '../errors.js'
import { storageUsed } from '../registry/images.js'
import type { Upload, UploadLayer } from './lifecycle.js'

async function limitFor (u: Upload): Promise<void> {
  const { imageSizeCap, userStorageQuota } = u.ctx.config
  u.limit = imageSizeCap
  u.limitError = Errors.sizeCapExceeded(imageSizeCap)
  if (userStorageQuota > 0) {
    const left = userStorageQuota - await storageUsed(u.ctx.sql, u.image.owner, u.image.id)
    if (left < u.limit) {
      u.limit = Math.max(0, left)
      u.limitError = Errors.storageQuotaExceeded(userStorageQuota)
    }
  }
}

export const quotaLayer: UploadLayer = (next) => async (u) => {
  await limitFor(u)
  if (u.declaredSize > u.limit) throw u.limitError!
  const inner = await next(u)
  return {
    ...inner,
    write (chunk) {
      if (u.received + chunk.byteLength > u.limit) throw u.limitError!
      return inner.write(chunk)
    },
    async finish () {
      await limitFor(u)
      if (u.received > u.limit) throw u.limitError!
      await inner.finish()
    }
  }
}
