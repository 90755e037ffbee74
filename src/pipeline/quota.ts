// The quota layer: Glance's legacy per-image and per-owner limits. image_property_quota on
// create (a PATCH counts in the domain's patch, which knows the result), image_tag_quota and
// image_member_quota handed to the registry (which counts under a row lock, so concurrent
// requests cannot overrun them), and for uploads image_size_cap and user_storage_quota,
// enforced while the bytes stream (413 the moment a limit is crossed) and re-checked before
// the upload is committed, because concurrent uploads of one owner each saw the same usage.
// It starts nothing, so it has nothing to undo.

import { Errors } from '../errors.js'
import { storageUsed } from '../registry/images.js'
import { countedProperties } from '../domain/image.js'
import type { Upload, UploadLayer } from './lifecycle.js'
import { throughUpload, type Layer } from './chain.js'

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

export const uploadQuota: UploadLayer = (next) => async (u) => {
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

export const quotaLayer: Layer = (next) => async (op) => {
  const quotas = op.ctx.config.quotas
  switch (op.kind) {
    case 'image.create': {
      const properties = countedProperties(Object.keys(op.input.properties))
      if (quotas.properties >= 0 && properties > quotas.properties) throw Errors.tooManyProperties(properties, quotas.properties)
      break
    }
    case 'image.upload': return await throughUpload(uploadQuota, next, op)
    case 'tag.add': return await next({ ...op, limit: quotas.tags })
    case 'member.create': return await next({ ...op, limit: quotas.members })
  }
  return await next(op)
}
