// Image metadata: create, list, show, delete (sections 1.4, 1.5, 1.7). Updates live in
// image-update.ts, data in image-data.ts.

import { randomUUID } from 'node:crypto'
import type { AppContext } from '../../context.js'
import { Errors } from '../../errors.js'
import type { Exchange } from '../exchange.js'
import type { Routes } from '../router.js'
import { baseUrl } from './versions.js'
import { BASE_COLUMNS, assertMayModify, assertMayShare, assertPropertyName, assertTagsValid, assertWritable, countedProperties, formatImage, schemaViolation } from '../../domain/image.js'
import { assertStorable } from '../../domain/storable.js'
import { findImage, insertImage, softDelete, type NewImage } from '../../registry/images.js'
import { listImages } from '../../registry/list.js'
import { parseListQuery } from '../../domain/list-query.js'
import { deleteImageData } from '../../stores/image-data.js'
import { patchImage } from './image-update.js'
import { IMPORT_METHODS } from './import.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export function assertUuid (id: string): void {
  if (!UUID.test(id)) throw Errors.imageNotFound(id)
}

/** The image, if it exists and the caller may see it: 404 otherwise (never 403, section 4.1). */
export async function visibleImage (ctx: AppContext, ex: Exchange, id: string) {
  assertUuid(id)
  const image = await findImage(ctx.sql, id, ex.identity)
  if (image === undefined) throw Errors.imageNotFound(id)
  return image
}

/** Owner (or admin) only, as Glance's legacy checks for modify/upload/delete. */
export function assertOwner (ex: Exchange, image: { owner: string | null }): void {
  assertMayModify(ex.identity, image)
}

function storeHeaders (ctx: AppContext): Record<string, string> {
  return { 'OpenStack-image-import-methods': IMPORT_METHODS.join(','), 'OpenStack-image-store-ids': ctx.stores.ids().join(',') }
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
    assertMayShare(key, value, ex.identity)
    if (BASE_COLUMNS.has(key)) (image.columns as Record<string, unknown>)[key] = value
    // kernel_id/ramdisk_id may be null (Nova snapshots send that): a null extra property is simply not set
    else if (value !== null) image.properties[key] = value as string
  }
  const properties = countedProperties(Object.keys(image.properties))
  const maxProperties = ctx.config.quotas.properties
  if (maxProperties >= 0 && properties > maxProperties) throw Errors.tooManyProperties(properties, maxProperties)
  // A caller of no project would make an image nobody owns (visible to all): only an admin may.
  if (image.columns.owner === undefined && ex.identity.projectId === null && !ex.identity.isAdmin) throw Errors.forbidden('add_image')
  if (image.columns.owner === undefined) image.columns.owner = ex.identity.projectId
  try {
    await insertImage(ctx.sql, image)
  } catch (err) {
    if ((err as { code?: string }).code === '23505') throw Errors.imageExists(image.id)
    throw err
  }
  const created = await findImage(ctx.sql, image.id)
  ex.json(201, formatImage(created!, ctx.config, ex.identity), {
    Location: `${baseUrl(ctx, ex)}/v2/images/${image.id}`,
    ...storeHeaders(ctx)
  })
}

async function showImage (ex: Exchange, ctx: AppContext): Promise<void> {
  const image = await visibleImage(ctx, ex, ex.params[0])
  ex.json(200, formatImage(image, ctx.config, ex.identity))
}

async function listAll (ex: Exchange, ctx: AppContext): Promise<void> {
  const query = parseListQuery(ex.query, ctx.config)
  const page = await listImages(ctx.sql, query, ex.identity)
  const body: Record<string, unknown> = {
    images: page.images.map((image) => formatImage(image, ctx.config, ex.identity)),
    first: query.first,
    schema: '/v2/schemas/images'
  }
  if (page.next !== undefined) body.next = query.next(page.next)
  ex.json(200, body)
}

async function deleteImage (ex: Exchange, ctx: AppContext): Promise<void> {
  const image = await visibleImage(ctx, ex, ex.params[0])
  assertOwner(ex, image)
  if (image.protected) throw Errors.imageProtected(image.id)
  // Data first: a store that refuses (a COW clone still uses the RBD snapshot) answers 409
  // and the image keeps every location.
  await deleteImageData(ctx, image)
  await softDelete(ctx.sql, image.id)
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
