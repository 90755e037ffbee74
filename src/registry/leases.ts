// Upload leases: an image in `saving` names the gateway that writes it, the store it writes
// to, and when its claim runs out. The writing gateway renews its leases; when one runs out
// (the gateway died, or lost the registry for longer than the lease), any gateway may claim
// the image, remove its partial data and put it back to `queued` (src/recovery/sweep.ts).
// Every later step of the upload is conditional on still holding the lease, so a gateway that
// comes back from a pause can no longer commit over a recovery. A stage (PUT .../stage) holds
// the same lease while it writes into the staging store: its image is `uploading` with
// upload_gateway set; once staged, upload_gateway is cleared and the image stays `uploading`.

import type { Sql, TransactionSql } from 'postgres'

type AnySql = Sql | TransactionSql

const NO_UPLOAD = {
  upload_gateway: null, upload_store: null, upload_lease_expires: null
}

/** queued -> saving, held by `gateway` for `seconds`; false when the image is not queued. */
export async function startUpload (sql: AnySql, id: string, gateway: string, store: string, seconds: number): Promise<boolean> {
  const result = await sql`update images set status = 'saving', updated_at = now(), upload_gateway = ${gateway},
      upload_store = ${store}, upload_lease_expires = now() + ${seconds} * interval '1 second'
    where id = ${id} and not deleted and status = 'queued'`
  return result.count === 1
}

/** queued -> uploading (a stage into the staging store), held by `gateway` for `seconds`. */
export async function startStage (sql: AnySql, id: string, gateway: string, store: string, seconds: number): Promise<boolean> {
  const result = await sql`update images set status = 'uploading', updated_at = now(), upload_gateway = ${gateway},
      upload_store = ${store}, upload_lease_expires = now() + ${seconds} * interval '1 second'
    where id = ${id} and not deleted and status = 'queued'`
  return result.count === 1
}

/**
 * saving (or a stage's uploading) -> `to` with `columns`, only while `gateway` still holds the
 * image's lease. A finished stage ends in `uploading` with the lease cleared: staged.
 */
export async function endUpload (sql: AnySql, id: string, gateway: string, to: 'active' | 'queued' | 'uploading', columns: Record<string, unknown>,
  from: 'saving' | 'uploading' = 'saving'): Promise<boolean> {
  const result = await sql`update images set ${sql({ ...columns, ...NO_UPLOAD, status: to, updated_at: new Date() } as Record<string, any>)}
    where id = ${id} and not deleted and status = ${from} and upload_gateway = ${gateway}`
  return result.count === 1
}

/** Extends the leases `gateway` holds on `ids`; returns how many it still holds. */
export async function renewLeases (sql: AnySql, gateway: string, ids: string[], seconds: number): Promise<number> {
  const result = await sql`update images set upload_lease_expires = now() + ${seconds} * interval '1 second'
    where id in ${sql(ids)} and status in ('saving', 'uploading') and upload_gateway = ${gateway}`
  return result.count
}

export interface ExpiredUpload { id: string, store: string | null, gateway: string | null, status: 'saving' | 'uploading' }

/** Images in `saving`, or being staged, whose lease ran out, oldest first. */
export async function expiredUploads (sql: AnySql, limit: number): Promise<ExpiredUpload[]> {
  return await sql<ExpiredUpload[]>`select id, upload_store as store, upload_gateway as gateway, status from images
    where not deleted and (upload_lease_expires is null or upload_lease_expires < now())
      and (status = 'saving' or (status = 'uploading' and upload_gateway is not null))
    order by upload_lease_expires nulls first limit ${limit}`
}

/** Takes over an expired lease for `seconds`; false when another gateway got there first. */
export async function claimExpired (sql: AnySql, id: string, gateway: string, seconds: number): Promise<boolean> {
  const result = await sql`update images set upload_gateway = ${gateway},
      upload_lease_expires = now() + ${seconds} * interval '1 second'
    where id = ${id} and not deleted and (status = 'saving' or (status = 'uploading' and upload_gateway is not null))
      and (upload_lease_expires is null or upload_lease_expires < now())`
  return result.count === 1
}

/** The ids of images whose data a store holds by right: located there, or being written there. */
export async function imagesHeldIn (sql: AnySql, store: string): Promise<Set<string>> {
  const rows = await sql<Array<{ id: string }>>`
    select l.image_id as id from image_locations l join images i on i.id = l.image_id
      where l.store = ${store} and not i.deleted
    union
    select id from images where status in ('saving', 'importing', 'uploading') and not deleted
      and (upload_store is null or upload_store = ${store})
    union
    select image_id as id from image_properties p join images i on i.id = p.image_id
      where p.name = 'os_glance_importing_to_stores' and p.value <> '' and not i.deleted`
  return new Set(rows.map((r) => r.id))
}
