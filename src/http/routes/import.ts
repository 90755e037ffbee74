// The interoperable import API (section 1.9): glance-direct (PUT .../stage, then import),
// web-download, copy-image and glance-download, as enabled_import_methods offers them. The body is validated
// here; the chain does the rest (policy: copy_image or modify_image; location: which stores,
// the URL filter; registry: the task and the import lock). The work runs after the 202 on
// whichever gateway claims the task (src/pipeline/import-tasks.ts).

import type { AppContext } from '../../context.js'
import { Errors } from '../../errors.js'
import type { Exchange } from '../exchange.js'
import type { Routes } from '../router.js'
import { opBase, visibleImage } from './images.js'
import { run } from '../../pipeline/index.js'
import type { ImportRequest } from '../../pipeline/chain.js'
import { receiveUpload } from '../upload.js'
import { checkGlanceDownloadMethod } from '../../pipeline/glance-download.js'

function parseImportBody (ex: Exchange, ctx: AppContext): ImportRequest {
  const body = ex.body as Record<string, any>
  if (Array.isArray(body) || body === null || typeof body !== 'object') throw Errors.unexpectedBodyType()
  if (body.method === undefined) throw Errors.importInvalid('Import request requires a \'method\' field.')
  const method = body.method?.name
  if (method === undefined) throw Errors.importInvalid('Import request requires a \'name\' field.')
  if (typeof method !== 'string' || !ctx.config.importMethods.includes(method)) throw Errors.importInvalid(`Unknown import method name '${String(method)}'.`)
  for (const flag of ['all_stores_must_succeed', 'all_stores']) {
    if (body[flag] !== undefined && typeof body[flag] !== 'boolean') throw Errors.importInvalid(`'${flag}' must be boolean value only`)
  }
  if (method === 'glance-download') checkGlanceDownloadMethod(body.method)
  return { method, body, storeHeader: ex.headers['x-image-meta-store'], stores: [], mustSucceed: body.all_stores_must_succeed !== false }
}

async function importImage (ex: Exchange, ctx: AppContext): Promise<void> {
  const request = parseImportBody(ex, ctx)
  const image = await visibleImage(ctx, ex, ex.params[0])
  await run({ kind: 'image.import', ...opBase(ex, ctx), image, request })
  ex.empty(202)
}

/** PUT .../stage: glance-direct's first half, the upload path into the staging store. */
function stageImage (ex: Exchange, ctx: AppContext): void {
  if (!ctx.config.importMethods.includes('glance-direct')) throw Errors.glanceDirectUnavailable()
  receiveUpload(ex, ctx, { staging: true })
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
      handle: (ex, ctx) => ex.json(200, { 'import-methods': { description: 'Import methods available.', type: 'array', value: ctx.config.importMethods } })
    }
  },
  '/v2/images/:id/import': { POST: { body: 'json', handle: importImage } },
  '/v2/images/:id/stage': { PUT: { body: 'stream', handle: stageImage } },
  '/v2/images/:id/tasks': { GET: { handle: imageTasks } }
}
