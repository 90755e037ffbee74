// Import tasks (section 1.9): one row per POST /v2/images/{id}/import, and the image's
// os_glance_* import properties (sorted comma strings, kept as "" when empty).

import type { Sql } from 'postgres'

export interface TaskRow {
  id: string
  type: string
  status: string
  owner: string
  image_id: string
  request_id: string | null
  user_id: string | null
  input: unknown
  result: unknown
  message: string | null
  expires_at: Date | null
  created_at: Date
  updated_at: Date
  deleted: boolean
  deleted_at: Date | null
}

export async function insertTask (sql: Sql, task: Pick<TaskRow, 'id' | 'owner' | 'image_id' | 'request_id' | 'user_id' | 'input'>): Promise<void> {
  const now = new Date()
  await sql`insert into tasks ${sql({
    ...task, input: sql.json(task.input as any), type: 'api_image_import', status: 'processing', created_at: now, updated_at: now
  } as Record<string, any>)}`
}

export async function finishTask (sql: Sql, id: string, status: 'success' | 'failure', message: string, result: unknown): Promise<void> {
  const now = new Date()
  // Glance keeps finished tasks for 48 hours ([task] task_time_to_live).
  await sql`update tasks set status = ${status}, message = ${message}, result = ${result === null ? null : sql.json(result as any)},
    updated_at = ${now}, expires_at = ${new Date(now.getTime() + 48 * 3600 * 1000)} where id = ${id}`
}

export async function tasksOfImage (sql: Sql, imageId: string): Promise<TaskRow[]> {
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

/**
 * Changes the image's import properties under a row lock, so that concurrent tasks (and the
 * per-store completions of one task) never lose each other's updates.
 */
export async function updateImportState (sql: Sql, imageId: string,
  change: (props: { importing: Set<string>, failed: Set<string>, task: string | undefined }) => { task?: string | null } | void): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`select id from images where id = ${imageId} for update`
    const rows = await tx<Array<{ name: string, value: string }>>`select name, value from image_properties
      where image_id = ${imageId} and name in ('os_glance_importing_to_stores', 'os_glance_failed_import', 'os_glance_import_task')`
    const get = (name: string): string | undefined => rows.find((r) => r.name === name)?.value
    const state = {
      importing: storeList(get('os_glance_importing_to_stores')),
      failed: storeList(get('os_glance_failed_import')),
      task: get('os_glance_import_task')
    }
    const outcome = change(state) ?? {}
    const set = [
      { image_id: imageId, name: 'os_glance_importing_to_stores', value: storeString(state.importing) },
      { image_id: imageId, name: 'os_glance_failed_import', value: storeString(state.failed) }
    ]
    if (typeof outcome.task === 'string') set.push({ image_id: imageId, name: 'os_glance_import_task', value: outcome.task })
    await tx`insert into image_properties ${tx(set)} on conflict (image_id, name) do update set value = excluded.value`
    if (outcome.task === null) await tx`delete from image_properties where image_id = ${imageId} and name = 'os_glance_import_task'`
    await tx`update images set updated_at = ${new Date()} where id = ${imageId}`
  })
}
