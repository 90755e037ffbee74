// A project's consumption as Glance's unified limits count it (glance/db/sqlalchemy/api.py
// user_get_storage_usage, user_get_staging_usage, user_get_image_count,
// user_get_uploading_count). An image being copied into more stores (a non-empty
// os_glance_importing_to_stores) counts as uploading and as staging, as in Glance.

import type { Sql } from 'postgres'

/** Statuses of an image whose data is on its way in (uploading: staged by glance-direct). */
const UPLOADING = ['saving', 'uploading', 'importing']

/** Bytes of every copy of the project's live images: size once per location. */
export async function storageUsage (sql: Sql, owner: string): Promise<number> {
  const [row] = await sql<Array<{ used: string }>>`select coalesce(sum(i.size * (select count(*) from image_locations l where l.image_id = i.id)), 0)::bigint as used
    from images i where i.owner = ${owner} and not i.deleted and i.size > 0 and i.status not in ('killed', 'deleted')`
  return Number(row.used)
}

/** Bytes in staging: images staged or importing, and images being copied. */
export async function stagingUsage (sql: Sql, owner: string): Promise<number> {
  const [row] = await sql<Array<{ used: string }>>`select coalesce(sum(i.size), 0)::bigint as used from images i
    where i.owner = ${owner} and not i.deleted and i.size > 0 and (i.status in ('uploading', 'importing')
      or (i.status not in ('uploading', 'importing', 'killed', 'deleted') and ${copying(sql)}))`
  return Number(row.used)
}

export async function imageCount (sql: Sql, owner: string): Promise<number> {
  const [row] = await sql<Array<{ n: string }>>`select count(*) as n from images
    where owner = ${owner} and not deleted and status not in ('killed', 'deleted')`
  return Number(row.n)
}

/** Images being uploaded, staged or imported, and images being copied. */
export async function uploadingCount (sql: Sql, owner: string): Promise<number> {
  const [row] = await sql<Array<{ n: string }>>`select count(*) as n from images i
    where i.owner = ${owner} and not i.deleted and (i.status in ${sql(UPLOADING)}
      or (i.status not in ('killed', 'deleted') and i.status not in ${sql(UPLOADING)} and ${copying(sql)}))`
  return Number(row.n)
}

function copying (sql: Sql) {
  return sql`exists (select 1 from image_properties p where p.image_id = i.id and p.name = 'os_glance_importing_to_stores' and p.value <> '')`
}
