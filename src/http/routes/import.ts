// The interoperable import API (section 1.9), with the one method Glint offers: copy-image,
// which puts an active image's data into more stores (Nova's images_rbd_glance_store_name
// uses it to bring an image to its own Ceph cluster before cloning). The body is validated
// here; the chain does the rest (policy: copy_image; location: which stores, and the copies,
// which run in parallel after the 202, see src/pipeline/copy-image.ts; registry: the task).

import type { AppContext } from '../../context.js'
import { Errors } from '../../errors.js'
import type { Exchange } from '../exchange.js'
import type { Routes } from '../router.js'
import { opBase, visibleImage } from './images.js'
import { run } from '../../pipeline/index.js'
import type { ImportRequest } from '../../pipeline/chain.js'

export const IMPORT_METHODS = ['copy-image']

function parseImportBody (ex: Exchange): ImportRequest {
  const body = ex.body as Record<string, any>
  if (Array.isArray(body)) throw Errors.unexpectedBodyType()
  const method = body.method?.name
  if (typeof method !== 'string') throw Errors.importInvalid('Import request requires a \'method\' field.')
  if (!IMPORT_METHODS.includes(method)) throw Errors.importInvalid(`Import method ${method} is not supported.`)
  for (const flag of ['all_stores', 'all_stores_must_succeed']) {
    if (body[flag] !== undefined && typeof body[flag] !== 'boolean') throw Errors.importInvalid(`'${flag}' must be boolean value only`)
  }
  return { method, body, storeHeader: ex.headers['x-image-meta-store'], stores: [], mustSucceed: body.all_stores_must_succeed !== false }
}

async function importImage (ex: Exchange, ctx: AppContext): Promise<void> {
  const request = parseImportBody(ex)
  const image = await visibleImage(ctx, ex, ex.params[0])
  await run({ kind: 'image.import', ...opBase(ex, ctx), image, request })
  ex.empty(202)
}

async function imageTasks (ex: Exchange, ctx: AppContext): Promise<void> {
  const tasks = await run({ kind: 'image.tasks', ...opBase(ex, ctx), image: await visibleImage(ctx, ex, ex.params[0]) }) as any[]
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
