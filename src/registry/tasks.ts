// Import tasks (section 1.9) as jobs kept in the registry: one row per POST
// /v2/images/{id}/import, created `pending`; any gateway's poller claims it (FOR UPDATE SKIP
// LOCKED, so two gateways never take the same row) and holds it with a lease it renews while
// the work runs. A task whose lease ran out (its gateway died or lost the registry) is
// `processing` with an expired lease, and the next claim takes it over. Every write of a
// task's outcome is conditional on still holding its lease, so a gateway back from a pause
// cannot overwrite the gateway that took over. Also the image's os_glance_* import
// properties (sorted comma strings, kept as "" when empty).

import type { Sql, TransactionSql } from 'postgres'

type AnySql = Sql | TransactionSql

export type TaskStatus = 'pending' | 'processing' | 'success' | 'failure'

export interface TaskRow {
  id: string
  type: string
  status: TaskStatus
  owner: string
  image_id: string
  request_id: string | null
  user_id: string | null
  input: any
  result: unknown
  message: string | null
  expires_at: Date | null
  created_at: Date
  updated_at: Date
  deleted: boolean
  deleted_at: Date | null
  lease_gateway: string | null
  lease_expires: Date | null
  /** how many times a gateway started it: above 1 it was taken over */
  attempts: number
}

export async function insertTask (sql: AnySql, task: Pick<TaskRow, 'id' | 'owner' | 'image_id' | 'request_id' | 'user_id' | 'input'>): Promise<TaskRow> {
  const now = new Date()
  const [row] = await sql<TaskRow[]>`insert into tasks ${sql({
    ...task, input: sql.json(task.input), type: 'api_image_import', status: 'pending', created_at: now, updated_at: now
  } as Record<string, any>)} returning *`
  return row
}

/**
 * Takes the oldest runnable task for `gateway`: a pending one, or one whose gateway's lease
 * ran out. Rows another gateway is claiming at this moment are skipped, not waited for.
 */
export async function claimTask (sql: AnySql, gateway: string, seconds: number): Promise<TaskRow | undefined> {
  const rows = await sql<TaskRow[]>`
    with picked as (
      select id from tasks
        where type = 'api_image_import' and not deleted
          and (status = 'pending' or (status = 'processing' and (lease_expires is null or lease_expires < now())))
        order by created_at
        limit 1
        for update skip locked
    )
    update tasks t set status = 'processing', lease_gateway = ${gateway},
        lease_expires = now() + ${seconds} * interval '1 second', attempts = t.attempts + 1, updated_at = now()
      from picked where t.id = picked.id
      returning t.*`
  return rows[0]
}

/** Extends `gateway`'s leases on `ids`; returns the ids it still holds. */
export async function renewTaskLeases (sql: AnySql, gateway: string, ids: string[], seconds: number): Promise<Set<string>> {
  if (ids.length === 0) return new Set()
  const rows = await sql<Array<{ id: string }>>`update tasks set lease_expires = now() + ${seconds} * interval '1 second'
    where id in ${sql(ids)} and status = 'processing' and lease_gateway = ${gateway} returning id`
  return new Set(rows.map((r) => r.id))
}

/** Locks the task's row and says whether `gateway` still holds it: writes of its work go in the same transaction. */
export async function holdsTask (tx: AnySql, id: string, gateway: string): Promise<boolean> {
  const rows = await tx`select 1 from tasks where id = ${id} and status = 'processing' and lease_gateway = ${gateway} for update`
  return rows.length === 1
}

/** Glance's task.message progress ("Copied N MiB"); it also refreshes updated_at. */
export async function setTaskMessage (sql: AnySql, id: string, gateway: string, message: string): Promise<void> {
  await sql`update tasks set message = ${message}, updated_at = now() where id = ${id} and status = 'processing' and lease_gateway = ${gateway}`
}

/**
 * processing -> success/failure, only while `gateway` holds the task. The finished task is
 * kept for `ttlHours` ([task] task_time_to_live) and then no longer shown.
 */
export async function finishTask (sql: AnySql, id: string, gateway: string, status: 'success' | 'failure', message: string,
  result: unknown, ttlHours: number): Promise<TaskRow | undefined> {
  const rows = await sql<TaskRow[]>`update tasks set status = ${status}, message = ${message},
      result = ${result === null ? null : sql.json(result as any)}, updated_at = now(),
      expires_at = now() + ${ttlHours} * interval '1 hour', lease_gateway = null, lease_expires = null
    where id = ${id} and status = 'processing' and lease_gateway = ${gateway} returning *`
  return rows[0]
}

export async function findTask (sql: AnySql, id: string): Promise<TaskRow | undefined> {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) return undefined
  const rows = await sql<TaskRow[]>`select * from tasks where id = ${id} and not deleted and (expires_at is null or expires_at > now())`
  return rows[0]
}

export const TASK_SORT_KEYS = ['created_at', 'updated_at', 'id', 'type', 'status']

export interface TaskQuery { owner?: string, status?: string, type?: string, limit: number, marker?: TaskRow, sortKey: string, sortDir: 'asc' | 'desc' }

/** GET /v2/tasks: unexpired tasks, newest first by default, keyset-paged after `marker`. */
export async function listTasks (sql: AnySql, q: TaskQuery): Promise<TaskRow[]> {
  const key = sql(q.sortKey)
  const dir = q.sortDir === 'asc' ? sql`asc` : sql`desc`
  const after = q.marker === undefined
    ? sql`true`
    : q.sortDir === 'asc'
      ? sql`(${key}, id) > (${(q.marker as any)[q.sortKey]}, ${q.marker.id})`
      : sql`(${key}, id) < (${(q.marker as any)[q.sortKey]}, ${q.marker.id})`
  return await sql<TaskRow[]>`select * from tasks where not deleted and (expires_at is null or expires_at > now())
    and ${q.owner === undefined ? sql`true` : sql`owner = ${q.owner}`}
    and ${q.status === undefined ? sql`true` : sql`status = ${q.status}`}
    and ${q.type === undefined ? sql`true` : sql`type = ${q.type}`}
    and ${after}
    order by ${key} ${dir}, id ${dir} limit ${q.limit}`
}

export async function tasksOfImage (sql: AnySql, imageId: string): Promise<TaskRow[]> {
  return await sql<TaskRow[]>`select * from tasks where image_id = ${imageId} and not deleted
    and (expires_at is null or expires_at > now()) order by created_at`
}

/** Reads a sorted comma-string property as a set. */
export function storeList (value: string | undefined): Set<string> {
  return new Set((value ?? '').split(',').map((s) => s.trim()).filter(Boolean))
}

export function storeString (stores: Set<string>): string {
  return [...stores].sort().join(',')
}

export interface ImportState { importing: Set<string>, failed: Set<string>, task: string | undefined }

/**
 * Changes the image's import properties under a row lock, so that concurrent tasks (and the
 * per-store completions of one task) never lose each other's updates. `change` may write more
 * in the same transaction (`tx`); returning `{ task }` sets or (null) drops the import lock.
 */
export async function updateImportState (sql: Sql, imageId: string,
  change: (state: ImportState, tx: TransactionSql) => Promise<{ task?: string | null } | void> | { task?: string | null } | void): Promise<void> {
  await sql.begin(async (tx) => { await changeImportState(tx, imageId, change) })
}

/** updateImportState inside a transaction the caller holds. */
export async function changeImportState (tx: TransactionSql, imageId: string,
  change: (state: ImportState, tx: TransactionSql) => Promise<{ task?: string | null } | void> | { task?: string | null } | void): Promise<void> {
  await tx`select id from images where id = ${imageId} for update`
  const rows = await tx<Array<{ name: string, value: string }>>`select name, value from image_properties
    where image_id = ${imageId} and name in ('os_glance_importing_to_stores', 'os_glance_failed_import', 'os_glance_import_task')`
  const get = (name: string): string | undefined => rows.find((r) => r.name === name)?.value
  const state: ImportState = {
    importing: storeList(get('os_glance_importing_to_stores')),
    failed: storeList(get('os_glance_failed_import')),
    task: get('os_glance_import_task')
  }
  const outcome = await change(state, tx) ?? {}
  const set = [
    { image_id: imageId, name: 'os_glance_importing_to_stores', value: storeString(state.importing) },
    { image_id: imageId, name: 'os_glance_failed_import', value: storeString(state.failed) }
  ]
  if (typeof outcome.task === 'string') set.push({ image_id: imageId, name: 'os_glance_import_task', value: outcome.task })
  await tx`insert into image_properties ${tx(set)} on conflict (image_id, name) do update set value = excluded.value`
  if (outcome.task === null) await tx`delete from image_properties where image_id = ${imageId} and name = 'os_glance_import_task'`
  await tx`update images set updated_at = ${new Date()} where id = ${imageId}`
}
