// PUT/DELETE /v2/images/{id}/tags/{tag} (section 1.11): single-tag changes, owner or admin.

import type { AppContext } from '../../context.js'
import { Errors } from '../../errors.js'
import type { Exchange } from '../exchange.js'
import type { Routes } from '../router.js'
import { assertOwner, visibleImage } from './images.js'
import { schemaViolation } from '../../domain/image.js'
import { assertStorable, hasNul } from '../../domain/storable.js'
import { addTag, removeTag } from '../../registry/tags.js'

async function putTag (ex: Exchange, ctx: AppContext): Promise<void> {
  const [id, tag] = ex.params
  // Glance validates the tag against the image schema before it loads the image
  const why = schemaViolation('tags', [tag])
  if (why !== undefined) throw Errors.schemaInvalid(why)
  assertStorable('tags', [tag])
  const image = await visibleImage(ctx, ex, id)
  assertOwner(ex, image)
  const result = await addTag(ctx.sql, image.id, tag, ctx.config.quotas.tags)
  if (result.outcome === 'gone') throw Errors.imageNotFound(id)
  if (result.outcome === 'over-quota') throw Errors.tooManyTags(result.attempted, ctx.config.quotas.tags)
  ex.empty(204)
}

async function deleteTag (ex: Exchange, ctx: AppContext): Promise<void> {
  const [id, tag] = ex.params
  const image = await visibleImage(ctx, ex, id)
  assertOwner(ex, image)
  // No stored tag holds a NUL: the registry could not even compare one
  const result = hasNul(tag) ? 'absent' : await removeTag(ctx.sql, image.id, tag)
  if (result === 'gone') throw Errors.imageNotFound(id)
  if (result === 'absent') throw Errors.tagNotFound(tag)
  ex.empty(204)
}

export const tagRoutes: Routes<AppContext> = {
  '/v2/images/:id/tags/:tag': {
    PUT: { handle: putTag },
    DELETE: { handle: deleteTag }
  }
}
