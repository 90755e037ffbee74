// Every gateway's poller of import tasks: it claims pending tasks (and tasks whose gateway's
// lease ran out) from the registry, runs a few at a time, renews the leases of those it runs,
// and sends Glance's task notifications. The POST that creates a task kicks the poller of its
// gateway, so an idle gateway starts the work at once; otherwise the periodic poll finds it.
// A gateway that dies leaves its tasks `processing` under a lease nobody renews: after at
// most a lease the next poll of any gateway takes them over (jobOf(...).takeover) and redoes
// what was not recorded. Nothing of a task lives only in a process, so a restart loses none.

import type { AppContext } from '../context.js'
import { claimTask, renewTaskLeases, type TaskRow } from '../registry/tasks.js'
import { copyImage } from './copy-image.js'
import { importStaged } from './import-staged.js'
import { failImport, jobOf, TaskLost, type ImportJob } from './import-job.js'
import { taskPayload } from './notifier.js'

/** Tasks one gateway runs at once (Glance's tasks_pool has 16 threads; each of these streams a whole image). */
const CONCURRENCY = 4
/** A task that took its gateway down this often is not tried again. */
const MAX_ATTEMPTS = 5

const METHODS: Record<string, (job: ImportJob) => Promise<TaskRow>> = {
  'copy-image': copyImage,
  'glance-direct': importStaged,
  'web-download': importStaged,
  'glance-download': importStaged
}

export interface ImportTasks {
  /** Look for work now (a task was just created). */
  kick: () => void
  /** Claims nothing more; tasks still running record nothing more (their leases run out and they are taken over). */
  stop: () => void
}

export function startImportTasks (ctx: AppContext): ImportTasks {
  const { sql, gateway, log, notifier } = ctx
  const running = new Set<string>()
  let stopped = false
  let pumping: Promise<void> | undefined
  let again = false

  async function execute (task: TaskRow): Promise<void> {
    const job = jobOf(ctx, task, () => stopped)
    notifier.info('task.processing', taskPayload(task))
    if (job.takeover) log.warn({ taskId: task.id, imageId: task.image_id, attempt: task.attempts }, 'took over an import task whose gateway stopped')
    let finished: TaskRow
    try {
      const method = METHODS[job.method]
      if (task.attempts > MAX_ATTEMPTS) finished = await failImport(job, `Import abandoned after ${MAX_ATTEMPTS} attempts`, job.stores)
      else if (method === undefined || !ctx.config.importMethods.includes(job.method)) finished = await failImport(job, `Import method ${job.method} is not enabled`, job.stores)
      else finished = await method(job)
    } catch (err) {
      if (err instanceof TaskLost || stopped) { log.warn({ taskId: task.id }, (err as Error).message); return }
      log.error({ err, taskId: task.id, imageId: task.image_id }, 'import task failed')
      try {
        finished = await failImport(job, (err as Error).message, job.stores)
      } catch (again) {
        // the registry is away: the lease runs out and the task is taken over (perhaps here)
        log.error({ err: again, taskId: task.id }, 'could not record the failure of an import task; it will be retried')
        return
      }
    }
    notifier.info(`task.${finished.status}`, taskPayload(finished))
  }

  async function pumpOnce (): Promise<void> {
    do {
      again = false
      while (!stopped && running.size < CONCURRENCY) {
        const task = await claimTask(sql, gateway.id, gateway.leaseSeconds)
        if (task === undefined) break
        running.add(task.id)
        void execute(task).finally(() => { running.delete(task.id); pump() })
      }
    } while (again && !stopped)
  }

  function pump (): void {
    if (stopped) return
    if (pumping !== undefined) { again = true; return }
    pumping = pumpOnce()
      .catch((err) => log.error({ err }, 'could not claim import tasks'))
      .finally(() => { pumping = undefined })
  }

  const leaseMs = gateway.leaseSeconds * 1000
  const renewTimer = setInterval(() => {
    if (running.size === 0) return
    renewTaskLeases(sql, gateway.id, [...running], gateway.leaseSeconds)
      .catch((err) => log.error({ err }, 'could not renew import task leases'))
  }, Math.max(250, leaseMs / 3))
  const pollTimer = setInterval(pump, Math.max(500, leaseMs / 2))
  renewTimer.unref()
  pollTimer.unref()
  pump()

  return {
    kick: pump,
    stop () {
      stopped = true
      clearInterval(renewTimer)
      clearInterval(pollTimer)
    }
  }
}
