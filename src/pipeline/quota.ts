// The quota layer: Glance's legacy per-image and per-owner limits. image_property_quota on
// create (a PATCH counts in the domain's patch, which knows the result), image_tag_quota and
// image_member_quota handed to the registry (which counts under a row lock, so concurrent
// requests cannot overrun them), and for uploads image_size_cap and user_storage_quota,
// enforced while the bytes stream (413 the moment a limit is crossed) and re-checked before
// the upload is committed, because concurrent uploads of one owner each saw the same usage.
// With use_keystone_limits, Glance's unified limits (unified-limits.ts) instead of
// user_storage_quota, checked where Glance checks them: image_count_total on create,
// image_size_total before an upload or import, image_count_uploading once the upload's image
// is saving (it counts itself), and for copy-image image_stage_total and
// image_count_uploading in the task, after the 202 (handed on as the request's `admit`).
// It undoes only the upload it refused after the layers below had started it.

import { Errors } from '../errors.js'
import { storageUsed } from '../registry/images.js'
import { countedProperties } from '../domain/image.js'
import type { Upload, UploadLayer } from './lifecycle.js'
import { throughUpload, type Layer } from './chain.js'
import type { AppContext } from '../context.js'
import type { ImageRecord } from '../registry/images.js'
import { enforceLimit, mebibytes } from './unified-limits.js'

async function limitFor (u: Upload): Promise<void> {
  const { imageSizeCap, userStorageQuota } = u.ctx.config
  u.limit = imageSizeCap
  u.limitError = Errors.sizeCapExceeded(imageSizeCap)
  // use_keystone_limits: "the relevant static global limits will be ignored" (Glance); a
  // stage is held to image_size_cap only (Glance's stage reads through a LimitingReader)
  if (userStorageQuota > 0 && u.ctx.limits === undefined && u.staging !== true) {
    const left = userStorageQuota - await storageUsed(u.ctx.sql, u.image.owner, u.image.id)
    if (left < u.limit) {
      u.limit = Math.max(0, left)
      u.limitError = Errors.storageQuotaExceeded(userStorageQuota)
    }
  }
}

export const uploadQuota: UploadLayer = (next) => async (u) => {
  // Glance's stage: image_stage_total before, image_count_uploading once uploading
  await enforceLimit(u.ctx, u.identity.projectId, u.staging === true ? 'image_stage_total' : 'image_size_total')
  await limitFor(u)
  if (u.declaredSize > u.limit) throw u.limitError!
  const inner = await next(u)
  try {
    await enforceLimit(u.ctx, u.identity.projectId, 'image_count_uploading')
  } catch (err) {
    // the layers below made the image saving: they put it back
    await inner.abort(err)
    throw err
  }
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

/**
 * The checks of Glance's import flow (api_image_import.py get_flow's assert_quota), run by the
 * task (src/pipeline/import-tasks.ts) once the image is marked as importing into its stores, which then count as staging
 * and uploading: glance-direct brings the staged bytes into the stores, the other methods
 * stage (a copy counts its own image as staging too).
 */
export async function admitImport (ctx: AppContext, projectId: string | null, method: string, image: ImageRecord): Promise<void> {
  const size = mebibytes(image.size)
  if (method === 'glance-direct') {
    await enforceLimit(ctx, projectId, 'image_size_total', size)
    return
  }
  await enforceLimit(ctx, projectId, 'image_stage_total', size)
  await enforceLimit(ctx, projectId, 'image_count_uploading')
}

export const quotaLayer: Layer = (next) => async (op) => {
  const quotas = op.ctx.config.quotas
  switch (op.kind) {
    case 'image.create': {
      await enforceLimit(op.ctx, op.identity.projectId, 'image_count_total', 1)
      const properties = countedProperties(Object.keys(op.input.properties))
      if (quotas.properties >= 0 && properties > quotas.properties) throw Errors.tooManyProperties(properties, quotas.properties)
      break
    }
    case 'image.upload': return await throughUpload(uploadQuota, next, op)
    // the rest of Glance's import checks run in the task, on whichever gateway runs it (admitImport)
    case 'image.import': await enforceLimit(op.ctx, op.identity.projectId, 'image_size_total'); break
    case 'tag.add': return await next({ ...op, limit: quotas.tags })
    case 'member.create': return await next({ ...op, limit: quotas.members })
  }
  return await next(op)
}
