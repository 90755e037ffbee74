// The interoperable import API (section 1.9), with the one method Glint offers: copy-image,
// which puts an active image's data into more stores (Nova's images_rbd_glance_store_name
// uses it to bring an image to its own Ceph cluster before cloning). Copies to several stores
// run in parallel, each streamed store to store and verified against the image's checksums.

import { randomUUID } from 'node:crypto'
import type { AppContext } from '../../context.js'
import { Errors } from '../../errors.js'
import type { Exchange } from '../exchange.js'
import type { Routes } from '../router.js'
import { assertOwner, visibleImage } from './images.js'
import { addLocation, findImage, type ImageRecord } from '../../registry/images.js'
import { finishTask, insertTask, storeList, tasksOfImage, updateImportState } from '../../registry/tasks.js'
import { copyImageData } from '../../stores/copy.js'
import { storeFailure } from '../../stores/image-data.js'

export const IMPORT_METHODS = ['copy-image']

interface ImportRequest { stores: string[], mustSucceed: boolean, body: Record<string, unknown> }

function parseImportRequest (ex: Exchange, ctx: AppContext, image: ImageRecord): ImportRequest {
  const body = ex.body as Record<string, any>
  if (Array.isArray(body)) throw Errors.unexpectedBodyType()
  const method = body.method?.name
  if (typeof method !== 'string') throw Errors.importInvalid('Import request requires a \'method\' field.')
  if (!IMPORT_METHODS.includes(method)) throw Errors.importInvalid(`Import method ${method} is not supported.`)
  for (const flag of ['all_stores', 'all_stores_must_succeed']) {
    if (body[flag] !== undefined && typeof body[flag] !== 'boolean') throw Errors.importInvalid(`'${flag}' must be boolean value only`)
  }
  if (!ex.identity.isAdmin) throw Errors.forbidden('copy_image')
  assertOwner(ex, image)
  if (image.status !== 'active') throw Errors.importConflict(`Image ${image.id} is not active`)
  const header = ex.headers['x-image-meta-store']
  const given: unknown = body.stores
  if (body.all_stores === true && (given !== undefined || header !== undefined)) {
    throw Errors.importInvalid('All_stores parameter can\'t be used with x-image-meta-store header or stores parameter')
  }
  if (given !== undefined && header !== undefined) throw Errors.importInvalid('Stores parameter and x-image-meta-store header can\'t be both specified')
  if (given !== undefined && (!Array.isArray(given) || given.some((s) => typeof s !== 'string'))) throw Errors.importInvalid('stores must be a list of store identifiers')
  const holding = new Set(image.locations.map((l) => l.store))
  let stores: string[]
  if (body.all_stores === true) {
    stores = ctx.stores.ids().filter((id) => !holding.has(id))
  } else {
    stores = (given as string[] | undefined) ?? [header ?? ctx.stores.default.id]
    for (const id of stores) {
      if (ctx.stores.get(id) === undefined) throw Errors.importConflict(`Store for identifier ${id} not found`)
      if (holding.has(id)) throw Errors.importInvalid(`Image is already present at store '${id}'`)
    }
  }
  if (storeList(image.properties.os_glance_import_task).size > 0) throw Errors.importConflict('Image has active task')
  return { stores: [...new Set(stores)], mustSucceed: body.all_stores_must_succeed !== false, body }
}

async function importImage (ex: Exchange, ctx: AppContext): Promise<void> {
  const image = await visibleImage(ctx, ex, ex.params[0])
  const request = parseImportRequest(ex, ctx, image)
  if (request.stores.length === 0) { ex.empty(202); return }
  const taskId = randomUUID()
  let locked = false
  await updateImportState(ctx.sql, image.id, (state) => {
    if (state.task !== undefined) return
    locked = true
    for (const id of request.stores) { state.importing.add(id); state.failed.delete(id) }
    return { task: taskId }
  })
  if (!locked) throw Errors.importConflict('Image has active task')
  await insertTask(ctx.sql, {
    id: taskId,
    owner: image.owner ?? ex.identity.projectId ?? '',
    image_id: image.id,
    request_id: ex.requestId,
    user_id: ex.identity.userId,
    input: { image_id: image.id, import_req: request.body, backend: request.stores }
  })
  ex.empty(202)
  void copyToStores(ctx, image, request, taskId)
}

/** Runs after the 202: every store at once; the outcome lands in the task and the image. */
async function copyToStores (ctx: AppContext, image: ImageRecord, request: ImportRequest, taskId: string): Promise<void> {
  const source = image.locations[0]
  const from = ctx.stores.get(source.store)!
  const failures: string[] = []
  await Promise.all(request.stores.map(async (id) => {
    const to = ctx.stores.get(id)!
    try {
      const copy = await copyImageData(from, source.url, to, ctx.hashers, { id: image.id, size: image.size ?? 0, hashAlgo: image.os_hash_algo ?? ctx.config.hashingAlgorithm })
      if (copy.checksum !== image.checksum || copy.osHashValue !== image.os_hash_value) {
        await to.run({ op: 'delete', imageId: image.id, url: copy.url }).catch(() => {})
        throw Object.assign(new Error(`checksum of the copy in ${id} does not match the image`), { code: 'GLINT_COPY_MISMATCH' })
      }
      // Deleted while copying: remove the copy again.
      if (await findImage(ctx.sql, image.id) === undefined) {
        await to.run({ op: 'delete', imageId: image.id, url: copy.url }).catch(() => {})
        throw Object.assign(new Error('image deleted during the copy'), { code: 'GLINT_IMAGE_GONE' })
      }
      await addLocation(ctx.sql, image.id, { store: id, url: copy.url, metadata: { store: id } })
      await updateImportState(ctx.sql, image.id, (state) => { state.importing.delete(id) })
    } catch (err) {
      const reason = storeFailure(to, err).message
      failures.push(`${id}: ${reason}`)
      ctx.log.warn({ imageId: image.id, store: id, err }, 'copy-image to store failed')
      await updateImportState(ctx.sql, image.id, (state) => { state.importing.delete(id); state.failed.add(id) }).catch(() => {})
    }
  }))
  await updateImportState(ctx.sql, image.id, () => ({ task: null })).catch(() => {})
  const ok = failures.length === 0 || !request.mustSucceed
  await finishTask(ctx.sql, taskId, ok ? 'success' : 'failure',
    failures.length === 0 ? `Copied ${Math.round((image.size ?? 0) / 1024 / 1024)} MiB` : failures.join('; '),
    ok ? { image_id: image.id } : null).catch((err) => ctx.log.error({ err, taskId }, 'could not record the task outcome'))
}

async function imageTasks (ex: Exchange, ctx: AppContext): Promise<void> {
  const image = await visibleImage(ctx, ex, ex.params[0])
  const tasks = await tasksOfImage(ctx.sql, image.id)
  // Glance dumps raw DB datetimes here (section 0): microseconds, no zone.
  const raw = (d: Date | null): string | null => d === null ? null : d.toISOString().replace('Z', '').replace(/\.(\d{3})$/, '.$1000')
  ex.json(200, {
    tasks: tasks.map((t) => ({
      id: t.id, type: t.type, status: t.status, owner: t.owner, expires_at: raw(t.expires_at),
      created_at: raw(t.created_at), updated_at: raw(t.updated_at), deleted_at: raw(t.deleted_at), deleted: t.deleted,
      image_id: t.image_id, request_id: t.request_id, user_id: t.user_id, input: t.input, result: t.result, message: t.message ?? ''
    }))
  })
}

export const importRoutes: Routes<AppContext> = {
  '/v2/info/import': {
    GET: {
      handle: (ex) => ex.json(200, { 'import-methods': { description: 'Import methods available.', type: 'array', value: IMPORT_METHODS } })
    }
  },
  '/v2/images/:id/import': { POST: { body: 'json', handle: importImage } },
  '/v2/images/:id/tasks': { GET: { handle: imageTasks } }
}

