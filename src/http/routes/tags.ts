// PUT/DELETE /v2/images/{id}/tags/{tag} (section 1.11): single-tag changes through the chain
// (policy: modify_image; quota: image_tag_quota).

import type { AppContext } from '../../context.js'
import { Errors } from '../../errors.js'
import type { Exchange } from '../exchange.js'
import type { Routes } from '../router.js'
import { opBase, visibleImage } from './images.js'
import { schemaViolation } from '../../domain/image.js'
import { assertStorable } from '../../domain/storable.js'
import { run } from '../../pipeline/index.js'

async function putTag (ex: Exchange, ctx: AppContext): Promise<void> {
  const [id, tag] = ex.params
  // Glance validates the tag against the image schema before it loads the image
  const why = schemaViolation('tags', [tag])
  if (why !== undefined) throw Errors.schemaInvalid(why)
  assertStorable('tags', [tag])
  await run({ kind: 'tag.add', ...opBase(ex, ctx), image: await visibleImage(ctx, ex, id), tag })
  ex.empty(204)
}

async function deleteTag (ex: Exchange, ctx: AppContext): Promise<void> {
  const [id, tag] = ex.params
  await run({ kind: 'tag.delete', ...opBase(ex, ctx), image: await visibleImage(ctx, ex, id), tag })
  ex.empty(204)
}

export const tagRoutes: Routes<AppContext> = {
  '/v2/images/:id/tags/:tag': {
    PUT: { handle: putTag },
    DELETE: { handle: deleteTag }
  }
}
