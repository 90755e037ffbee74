// What an import method's work is given (one claimed task), and the steps every method shares:
// writes made only while the task's lease is held (in the transaction that checks it), the
// task ended in the same transaction as the image's last writes (so a takeover never finds an
// image finished and its task still running), and a failure that puts everything back.

import type { TransactionSql } from 'postgres'
import type { AppContext } from '../context.js'
import { changeImportState, finishTask, holdsTask, type ImportState, type TaskRow } from '../registry/tasks.js'
import { dropCredentials } from './glance-download.js'

export interface ImportJob {
  readonly ctx: AppContext
  readonly task: TaskRow
  readonly method: string
  /** the stores the import fills (the task's input.backend) */
  readonly stores: string[]
  readonly mustSucceed: boolean
  /** another gateway (or this one before a restart) started it and stopped: redo what it left */
  readonly takeover: boolean
  /** this gateway is shutting down: it records nothing more and leaves the task to be taken over */
  readonly stopping: () => boolean
}

export function jobOf (ctx: AppContext, task: TaskRow, stopping: () => boolean = () => false): ImportJob {
  const request = (task.input?.import_req ?? {}) as Record<string, any>
  return {
    ctx,
    task,
    method: String(request.method?.name ?? ''),
    stores: Array.isArray(task.input?.backend) ? task.input.backend.filter((s: unknown) => typeof s === 'string') : [],
    mustSucceed: request.all_stores_must_succeed !== false,
    takeover: task.attempts > 1,
    stopping
  }
}

/** The task's lease went to another gateway: this one stops and writes nothing more. */
export class TaskLost extends Error {
  readonly code = 'GLINT_TASK_LOST'
  constructor (id: string) { super(`import task ${id} is no longer this gateway's (taken over, or this gateway is stopping)`) }
}

/** Runs `fn` in a transaction that holds the task's row, only while this gateway holds its lease. */
export async function whileHeld<T> (job: ImportJob, fn: (tx: TransactionSql) => Promise<T>): Promise<T> {
  const { ctx, task } = job
  // a shutdown closes the stores under the work: what fails then is not the import's failure
  if (job.stopping()) throw new TaskLost(task.id)
  return await ctx.sql.begin(async (tx) => {
    if (!await holdsTask(tx, task.id, ctx.gateway.id)) throw new TaskLost(task.id)
    return await fn(tx)
  }) as T
}

/** The image's import lock is dropped only by the task that holds it. */
export function dropLock (state: ImportState, job: ImportJob): { task?: null } {
  return state.task === job.task.id ? { task: null } : {}
}

export async function finishIn (tx: TransactionSql, job: ImportJob, status: 'success' | 'failure', message: string): Promise<TaskRow> {
  const finished = await finishTask(tx, job.task.id, job.ctx.gateway.id, status, message,
    status === 'success' ? { image_id: job.task.image_id } : null, job.ctx.config.taskTtlHours)
  if (finished === undefined) throw new TaskLost(job.task.id)
  if (job.method === 'glance-download') await dropCredentials(tx, job.task.id)
  return finished
}

/**
 * Ends the task in failure: its stores are no longer being imported into (`failed` of them are
 * marked failed, as Glance's reverts mark them), an image this import had moved to
 * `importing` goes back to `queued` without data, the lock is dropped.
 */
export async function failImport (job: ImportJob, message: string, failed: string[]): Promise<TaskRow> {
  job.ctx.log.warn({ imageId: job.task.image_id, taskId: job.task.id, method: job.method, reason: message }, 'import failed')
  return await whileHeld(job, async (tx) => {
    if (job.method !== 'copy-image') {
      await tx`update images set status = 'queued', size = null, virtual_size = null, checksum = null, os_hash_algo = null,
        os_hash_value = null, updated_at = now() where id = ${job.task.image_id} and status = 'importing'`
    }
    await changeImportState(tx, job.task.image_id, (state) => {
      for (const id of job.stores) state.importing.delete(id)
      for (const id of failed) state.failed.add(id)
      return dropLock(state, job)
    })
    return await finishIn(tx, job, 'failure', message)
  })
}

/** Removes what a stopped gateway may have left of this image in `stores` (stores that hold none of its locations). */
export async function purgeLeftovers (job: ImportJob, stores: string[]): Promise<void> {
  for (const id of stores) {
    const store = id === job.ctx.stores.staging?.id ? job.ctx.stores.staging : job.ctx.stores.get(id)
    await store?.run({ op: 'purge', imageId: job.task.image_id })
  }
}

export const MiB = 1024 * 1024
