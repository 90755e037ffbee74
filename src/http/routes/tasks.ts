// The tasks API (deprecated in Glance, admin-only by default: tasks_api_access): GET
// /v2/tasks lists stubs (no input, result, message) newest first with Glance's paging links,
// GET /v2/tasks/{id} the whole task. Tasks are created by imports only (POST is not offered:
// Glance's legacy `import` task type is gone from its flows).

import type { AppContext } from '../../context.js'
import { Errors } from '../../errors.js'
import type { Exchange } from '../exchange.js'
import type { Routes } from '../router.js'
import { opBase } from './images.js'
import { run } from '../../pipeline/index.js'
import { findTask, TASK_SORT_KEYS, type TaskRow } from '../../registry/tasks.js'

/** timeutils.isotime: seconds, Z */
const isotime = (d: Date): string => d.toISOString().replace(/\.\d+Z$/, 'Z')

function stub (t: TaskRow): Record<string, unknown> {
  const view: Record<string, unknown> = {
    id: t.id, type: t.type, status: t.status, owner: t.owner,
    created_at: isotime(t.created_at), updated_at: isotime(t.updated_at), self: `/v2/tasks/${t.id}`, schema: '/v2/schemas/task'
  }
  if (t.expires_at !== null) view.expires_at = isotime(t.expires_at)
  return view
}

function full (t: TaskRow): Record<string, unknown> {
  const view: Record<string, unknown> = { ...stub(t), input: t.input, result: t.result, message: t.message ?? '' }
  if (t.image_id !== null) view.image_id = t.image_id
  if (t.request_id !== null) view.request_id = t.request_id
  if (t.user_id !== null) view.user_id = t.user_id
  return view
}

async function listTasks (ex: Exchange, ctx: AppContext): Promise<void> {
  const q = ex.query
  const sortDir = q.get('sort_dir') ?? 'desc'
  if (sortDir !== 'asc' && sortDir !== 'desc') throw Errors.taskBadQuery(`Invalid sort direction: ${sortDir}`)
  const sortKey = q.get('sort_key') ?? 'created_at'
  if (!TASK_SORT_KEYS.includes(sortKey)) throw Errors.taskBadQuery(`Invalid sort key: ${sortKey}`)
  const status = q.get('status') ?? undefined
  if (status !== undefined && status !== '' && !['pending', 'processing', 'success', 'failure'].includes(status)) throw Errors.taskBadQuery(`Invalid status value: ${status}`)
  const type = q.get('type') ?? undefined
  if (type !== undefined && type !== '' && type !== 'import') throw Errors.taskBadQuery(`Invalid type value: ${type}`)
  let limit = ctx.config.limitDefault
  const rawLimit = q.get('limit')
  if (rawLimit !== null) {
    if (!/^-?\d+$/.test(rawLimit)) throw Errors.taskBadQuery('limit param must be an integer')
    limit = Number(rawLimit)
    if (limit < 0) throw Errors.taskBadQuery('limit param must be positive')
  }
  limit = Math.min(ctx.config.limitMax, limit)
  let marker: TaskRow | undefined
  const rawMarker = q.get('marker')
  if (rawMarker !== null) {
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(rawMarker)) throw Errors.taskBadQuery('Invalid marker format')
    marker = await findTask(ctx.sql, rawMarker)
    if (marker === undefined) throw Errors.taskNotFound(rawMarker)
  }
  const tasks = await run({
    kind: 'task.list',
    ...opBase(ex, ctx),
    query: { status: status || undefined, type: type === 'import' ? 'import' : undefined, limit, marker, sortKey, sortDir }
  })
  const params = new URLSearchParams(q)
  params.delete('marker')
  const query = params.toString()
  const body: Record<string, unknown> = { tasks: tasks.map(stub), first: query === '' ? '/v2/tasks' : `/v2/tasks?${query}`, schema: '/v2/schemas/tasks' }
  if (tasks.length > 0 && tasks.length === limit) {
    params.set('marker', tasks[tasks.length - 1].id)
    body.next = `/v2/tasks?${params.toString()}`
  }
  ex.json(200, body)
}

async function showTask (ex: Exchange, ctx: AppContext): Promise<void> {
  ex.json(200, full(await run({ kind: 'task.show', ...opBase(ex, ctx), taskId: ex.params[0] })))
}

export const taskRoutes: Routes<AppContext> = {
  '/v2/tasks': { GET: { handle: listTasks } },
  '/v2/tasks/:id': { GET: { handle: showTask } }
}
