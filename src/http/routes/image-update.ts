// PATCH /v2/images/{id} (section 1.6). The Content-Type is checked before the body is read,
// so any other type gets 415 + Accept-Patch whatever the body holds. The whole document is
// validated, then applied to the image in memory, then saved once.

import type { AppContext } from '../../context.js'
import { Errors } from '../../errors.js'
import type { Exchange } from '../exchange.js'
import { readSmallBody } from '../body.js'
import { visibleImage } from './images.js'
import { formatImage } from '../../domain/image.js'
import { parsePatch, parsePatchBody, patchDraft, type PatchDraft } from '../../domain/json-patch.js'
import { FORMAT_ATTRIBUTES, FORMAT_MUTABLE_STATUSES, applyPatch, assertChangeAllowed } from '../../domain/image-patch.js'
import { findImage, updateImage } from '../../registry/images.js'

/** A 'stream' route: must read the body synchronously or not at all (see body.ts). */
export function patchImage (ex: Exchange, ctx: AppContext): Promise<void> {
  let draft: PatchDraft
  try {
    draft = patchDraft(ex.headers['content-type'])
  } catch (err) {
    // The body stays unread: the connection cannot carry another request.
    if (ex.hasBody) ex.closeConnection = true
    throw err
  }
  return readSmallBody(ex, ctx.config.maxBodySize).then(async (raw) => await update(ex, ctx, draft, raw))
}

async function update (ex: Exchange, ctx: AppContext, draft: PatchDraft, raw: Buffer): Promise<void> {
  const changes = parsePatch(parsePatchBody(raw), draft)
  for (const change of changes) assertChangeAllowed(change)
  const image = await visibleImage(ctx, ex, ex.params[0])
  // Glance saves nothing (and checks no ownership) for an empty patch
  if (changes.length === 0) {
    ex.json(200, formatImage(image, ctx.config, ex.identity))
    return
  }
  const save = applyPatch(image, changes, ex.identity, ctx.config)
  const formats = Object.keys(save.columns).filter((name) => FORMAT_ATTRIBUTES.has(name))
  if (formats.length > 0) save.whileStatus = FORMAT_MUTABLE_STATUSES
  if (!await updateImage(ctx.sql, image.id, save)) {
    // Deleted meanwhile, or data arrived and fixed the formats
    const now = await findImage(ctx.sql, image.id)
    if (now === undefined) throw Errors.imageNotFound(image.id)
    throw Errors.formatLocked(formats[0])
  }
  const saved = await findImage(ctx.sql, image.id)
  if (saved === undefined) throw Errors.imageNotFound(image.id)
  ex.json(200, formatImage(saved, ctx.config, ex.identity))
}
