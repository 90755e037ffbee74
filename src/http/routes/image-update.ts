// PATCH /v2/images/{id} (section 1.6). The Content-Type is checked before the body is read,
// so any other type gets 415 + Accept-Patch whatever the body holds. The whole document is
// validated, then applied to the image in memory, then saved once.

import type { AppContext } from '../../context.js'
import { Errors } from '../../errors.js'
import type { Exchange } from '../exchange.js'
import { readSmallBody } from '../body.js'
import { opBase, visibleImage } from './images.js'
import { formatImage } from '../../domain/image.js'
import { parsePatch, parsePatchBody, patchDraft, type PatchDraft } from '../../domain/json-patch.js'
import { assertChangeAllowed } from '../../domain/image-patch.js'
import { run } from '../../pipeline/index.js'

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
  const saved = await run({ kind: 'image.update', ...opBase(ex, ctx), image, changes })
  ex.json(200, formatImage(saved, ctx.config, ex.identity))
}
