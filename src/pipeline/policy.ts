// The policy layer for uploads: Glance's legacy checks (owner or admin may upload), the
// formats an image needs before it can hold data, and the status it must be in. Checks only.

import { Errors } from '../errors.js'
import type { UploadLayer } from './lifecycle.js'

export const policyLayer: UploadLayer = (next) => async (u) => {
  const who = u.identity
  if (!who.isAdmin && u.image.owner !== who.projectId) throw Errors.notOwner()
  if (u.image.status !== 'queued') throw Errors.uploadConflict(u.image.status)
  if (u.image.disk_format === null || u.image.container_format === null) throw Errors.formatsRequired()
  return await next(u)
}
