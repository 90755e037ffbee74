// Image metadata: create, list, show, delete (sections 1.4, 1.5, 1.7). Updates live in
// image-update.ts, data in image-data.ts.

import { randomUUID } from 'node:crypto'
import type { AppContext } from '../../context.js'
import { Errors } from '../../errors.js'
import type { Exchange } from '../exchange.js'
import type { Routes } from '../router.js'
import { baseUrl } from './versions.js'
import { BASE_COLUMNS, assertPropertyName, assertTagsValid, assertWritable, formatImage, schemaViolation } from '../../domain/image.js'
import { assertStorable } from '../../domain/storable.js'
import type { NewImage } from '../../registry/images.js'
import { parseListQuery } from '../../domain/list-query.js'
import { run, shownImage, targetImage } from '../../pipeline/index.js'
import { patchImage } from './image-update.js'
import { imageJson, imageListJson } from '../image-json.js'

const JSON_TYPE = { 'Content-Type': 'application/json' }

/** The image, if it exists and the caller may see it: 404 otherwise (never 403, section 4.1). */
export async function visibleImage (ctx: AppContext, ex: Exchange, id: string) {
  return await targetImage(ctx, ex.identity, id)
}

/** The fields every operation carries. */
export function opBase (ex: Exchange, ctx: AppContext) {
  return { ctx, identity: ex.identity, requestId: ex.requestId }
}

function storeHeaders (ctx: AppContext): Record<string, string> {
  return { 'OpenStack-image-import-methods': ctx.config.importMethods.join(','), 'OpenStack-image-store-ids': ctx.stores.ids().join(',') }
}

async function createImage (ex: Exchange, ctx: AppContext): Promise<void> {
  const body = ex.body
  if (Array.isArray(body)) throw Errors.unexpectedBodyType()
  const input = body as Record<string, unknown>
  // null prototype: "__proto__" is a valid property name
  const image: NewImage = { id: randomUUID(), columns: {}, properties: Object.create(null), tags: [] }
  for (const [key, value] of Object.entries(input)) {
    assertWritable(key)
    if (key === 'id') {
      const why = schemaViolation('id', value)
      if (why !== undefined) throw Errors.schemaInvalid(why)
      image.id = (value as string).toLowerCase()
      continue
    }
    if (key === 'tags') { image.tags = assertTagsValid(value, ctx.config.quotas.tags); assertStorable(key, value); continue }
    assertPropertyName(key)
    const why = schemaViolation(key, value)
    if (why !== undefined) throw Errors.schemaInvalid(why)
    assertStorable(key, value)
    if (BASE_COLUMNS.has(key)) (image.columns as Record<string, unknown>)[key] = value
    // kernel_id/ramdisk_id may be null (Nova snapshots send that): a null extra property is simply not set
    else if (value !== null) image.properties[key] = value as string
  }
  if (image.columns.owner === undefined) image.columns.owner = ex.identity.projectId
  const created = await run({ kind: 'image.create', ...opBase(ex, ctx), input: image })
  ex.json(201, formatImage(created, ctx.config, ex.identity), {
    Location: `${baseUrl(ctx, ex)}/v2/images/${image.id}`,
    ...storeHeaders(ctx)
  })
}

async function showImage (ex: Exchange, ctx: AppContext): Promise<void> {
  const image = await run({ kind: 'image.show', ...opBase(ex, ctx), image: await shownImage(ctx, ex.identity, ex.params[0]) })
  ex.send(200, imageJson(image, ctx.config, ex.identity), JSON_TYPE)
}

async function listAll (ex: Exchange, ctx: AppContext): Promise<void> {
  const query = parseListQuery(ex.query, ctx.config)
  const page = await run({ kind: 'image.list', ...opBase(ex, ctx), query })
  const next = page.next === undefined ? undefined : query.next(page.next)
  ex.send(200, imageListJson(page.images, ctx.config, ex.identity, query.first, next), JSON_TYPE)
}

async function deleteImage (ex: Exchange, ctx: AppContext): Promise<void> {
  await run({ kind: 'image.delete', ...opBase(ex, ctx), image: await visibleImage(ctx, ex, ex.params[0]) })
  ex.empty(204)
}

export const imageRoutes: Routes<AppContext> = {
  '/v2/images': {
    GET: { handle: listAll },
    POST: { body: 'json', handle: createImage }
  },
  '/v2/images/:id': {
    GET: { handle: showImage },
    // 'stream': the handler answers 415 for a wrong Content-Type before reading the body
    PATCH: { body: 'stream', handle: patchImage },
    DELETE: { handle: deleteImage }
  }
}
