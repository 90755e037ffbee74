// glance-download (section 1.9): the image's data and some of its metadata copied from an
// image of another Glance (or Glint), found in the caller's service catalog by region and
// interface, read with the caller's token.
//
// The task may run on any gateway, and be taken over by another after its gateway died, long
// after the request that made it: what it needs of that request (the caller's token and the
// endpoint resolved from the token's catalog) is recorded with the task at accept time, in a
// table of its own (task_credentials), not in the task's `input` that GET /v2/tasks shows. The
// row goes in the transaction that ends the task. A token that expired before the task ran
// (a takeover long after) fails the task with a message saying so: there is no way to get
// another token for the caller.
//
// What the source gives (its disk and container format, the properties named by
// [glance_download_properties] extra_properties) is written to the image only in the
// transaction that activates it: a failure at any step leaves the image as it was, queued
// with its own properties (Glance writes them first and restores them on revert).

import type { TransactionSql } from 'postgres'
import { Errors } from '../errors.js'
import type { CatalogEntry, Identity } from '../identity.js'
import type { ImageRecord } from '../registry/images.js'
import { fetchUrl } from '../stores/http-store.js'
import type { ImportJob } from './import-job.js'

/** What the task needs of its caller, recorded when the import is accepted. */
export interface RemoteCredentials {
  authToken: string | null
  /** ms since the epoch; undefined: not known */
  expiresAt?: number
  /** the remote image endpoint (no trailing slash), or null when the catalog has none for the region and interface */
  endpoint: string | null
}

/** Python's uuid.UUID(): hyphens optional, braces and a urn:uuid: prefix allowed. */
export function canonicalUuid (value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined
  const hex = value.trim().replace(/^urn:/i, '').replace(/^uuid:/i, '').replace(/^\{(.*)\}$/, '$1').replaceAll('-', '')
  if (!/^[0-9a-f]{32}$/i.test(hex)) return undefined
  const h = hex.toLowerCase()
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}

/**
 * ImagesController.import_image's checks of a glance-download method (400 each), and the
 * interface defaulted to `public` in the request the task records, as Glance does.
 */
export function checkGlanceDownloadMethod (method: Record<string, unknown>): void {
  if (method.glance_region === undefined) throw Errors.importInvalid('\'glance_region\' needs to be set for glance-download import method')
  if (typeof method.glance_region !== 'string' || method.glance_region === '') throw Errors.importInvalid('\'glance_region\' must be a region name')
  if (method.glance_image_id === undefined) throw Errors.importInvalid('\'glance_image_id\' needs to be set for glance-download import method')
  if (canonicalUuid(method.glance_image_id) === undefined) throw Errors.importInvalid(`Remote image id does not look like a UUID: ${String(method.glance_image_id)}`)
  method.glance_service_interface ??= 'public'
  if (typeof method.glance_service_interface !== 'string') throw Errors.importInvalid('\'glance_service_interface\' must be public, internal or admin')
}

/** keystoneauth's url_for(service_type='image', region_name, interface) over the token's catalog. */
export function imageEndpointOf (catalog: CatalogEntry[] | undefined, region: string, iface: string): string | null {
  const wanted = iface.replace(/URL$/, '')
  for (const service of catalog ?? []) {
    if (service.type !== 'image') continue
    for (const e of service.endpoints ?? []) {
      if (e.interface === wanted && (e.region_id === region || e.region === region) && typeof e.url === 'string') return e.url.replace(/\/+$/, '')
    }
  }
  return null
}

/** What the task will need, taken from the caller's identity at accept time. */
export function credentialsOf (who: Identity, method: Record<string, unknown>): RemoteCredentials {
  return {
    authToken: who.authToken ?? null,
    expiresAt: who.expiresAt,
    endpoint: imageEndpointOf(who.serviceCatalog, String(method.glance_region), String(method.glance_service_interface ?? 'public'))
  }
}

export async function saveCredentials (tx: TransactionSql, taskId: string, c: RemoteCredentials): Promise<void> {
  await tx`insert into task_credentials (task_id, auth_token, token_expires, endpoint)
    values (${taskId}, ${c.authToken}, ${c.expiresAt === undefined || Number.isNaN(c.expiresAt) ? null : new Date(c.expiresAt)}, ${c.endpoint})`
}

/** Dropped in the transaction that ends the task: a finished task keeps no token. */
export async function dropCredentials (tx: TransactionSql, taskId: string): Promise<void> {
  await tx`delete from task_credentials where task_id = ${taskId}`
}

/** Why the remote image is not imported: the task fails with this message. */
export class RemoteImageError extends Error {
  readonly code = 'GLINT_REMOTE_IMAGE'
}

/** The source, as the remote service shows it: enough to import its data and metadata. */
export interface RemoteImage {
  /** `<endpoint>/v2/images/<id>/file` */
  fileUrl: string
  headers: Record<string, string>
  diskFormat: string | null
  containerFormat: string | null
  /** the properties [glance_download_properties] extra_properties names */
  properties: Record<string, string>
}

/** The source image record's JSON is small; a larger answer is not an image record. */
const MAX_RECORD_BYTES = 1024 * 1024

/**
 * Attributes of the image record that are not properties: never copied, whatever the
 * prefixes say (an operator's `os_` must not overwrite the target's hashes or import state).
 */
const NOT_PROPERTIES = new Set(['id', 'name', 'status', 'visibility', 'protected', 'os_hidden', 'checksum', 'os_hash_algo', 'os_hash_value',
  'owner', 'size', 'virtual_size', 'min_ram', 'min_disk', 'created_at', 'updated_at', 'tags', 'self', 'file', 'schema', 'direct_url',
  'locations', 'stores', 'disk_format', 'container_format'])

/** The task's recorded credentials and the source image's record (GET <endpoint>/v2/images/<id>); throws RemoteImageError. */
export async function remoteImage (job: ImportJob): Promise<RemoteImage> {
  const { ctx, task } = job
  const method = (task.input?.import_req?.method ?? {}) as Record<string, unknown>
  const id = canonicalUuid(method.glance_image_id)
  const region = String(method.glance_region)
  const iface = String(method.glance_service_interface ?? 'public')
  const [c] = await ctx.sql<Array<{ auth_token: string | null, token_expires: Date | null, endpoint: string | null }>>`
    select auth_token, token_expires, endpoint from task_credentials where task_id = ${task.id}`
  if (c === undefined) throw new RemoteImageError('The caller\'s credentials for this glance-download task are gone; import again')
  // Glance's GlanceEndpointNotFound
  if (c.endpoint === null) throw new RemoteImageError(`${iface} glance endpoint not found for region ${region}`)
  if (id === undefined) throw new RemoteImageError(`Remote image id does not look like a UUID: ${String(method.glance_image_id)}`)
  if (c.token_expires !== null && c.token_expires.getTime() <= Date.now()) {
    throw new RemoteImageError('The caller\'s token expired before this glance-download task could run (it was taken over too late); import again')
  }
  const headers: Record<string, string> = c.auth_token === null ? {} : { 'X-Auth-Token': c.auth_token }
  const recordUrl = `${c.endpoint}/v2/images/${id}`
  let record: any
  try {
    const res = await fetchUrl(recordUrl, ctx.config.importFiltering, 'GET', { ...headers, Accept: 'application/json' })
    const chunks: Buffer[] = []
    let size = 0
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      size += chunk.byteLength
      if (size > MAX_RECORD_BYTES) { res.body.destroy(); throw new Error('the answer is too large for an image record') }
      chunks.push(chunk)
    }
    record = JSON.parse(Buffer.concat(chunks).toString('utf8'))
  } catch (err) {
    const why = (err as Error).message
    if (/returned a 401 status/.test(why)) throw new RemoteImageError(`The remote image service refused the caller's token (expired or revoked?): ${recordUrl}`)
    throw new RemoteImageError(`Cannot read the remote image ${id} at ${recordUrl}: ${why}`)
  }
  if (record === null || typeof record !== 'object' || Array.isArray(record)) throw new RemoteImageError(`The remote image service answered no image record for ${id}`)
  if (record.status !== 'active') throw new RemoteImageError(`Source image status should be active instead of ${String(record.status)}`)
  const prefixes = ctx.config.glanceDownloadProperties
  const properties: Record<string, string> = {}
  for (const [name, value] of Object.entries(record)) {
    if (NOT_PROPERTIES.has(name) || name.startsWith('os_glance_') || typeof value !== 'string') continue
    if (prefixes.some((p) => name.startsWith(p))) properties[name] = value
  }
  return {
    fileUrl: `${recordUrl}/file`,
    headers,
    diskFormat: typeof record.disk_format === 'string' ? record.disk_format : null,
    containerFormat: typeof record.container_format === 'string' ? record.container_format : null,
    properties
  }
}

/** The image as the source describes it: its formats (the data is inspected and stored as such). */
export function asRemote (image: ImageRecord, remote: RemoteImage): ImageRecord {
  return { ...image, disk_format: remote.diskFormat ?? image.disk_format, container_format: remote.containerFormat ?? image.container_format }
}

/** In the activating transaction: the source's properties on the image. */
export async function copyProperties (tx: TransactionSql, imageId: string, remote: RemoteImage): Promise<void> {
  const rows = Object.entries(remote.properties).map(([name, value]) => ({ image_id: imageId, name, value }))
  if (rows.length === 0) return
  await tx`insert into image_properties ${tx(rows)} on conflict (image_id, name) do update set value = excluded.value`
}
