// One image of `glint upload`, resumable: an image of the same name already active with the
// same data (size, md5, sha512) is not uploaded again, only completed (copies to stores it
// lacks); a half-done one (queued, after an upload that was cut) gets the data again; a new
// one is created otherwise. Every upload is verified against the local file's hashes, and the
// image is deleted again when the server's hashes differ, so a rerun starts clean.

import { ApiError, digestFile, type Image, type ImageApi, type LocalDigest } from './api.js'
import type { UploadJob } from './manifest.js'
import type { Tracker } from './progress.js'

export type Outcome = 'uploaded' | 'skipped' | 'completed' | 'failed'

export interface IngestResult {
  job: UploadJob
  outcome: Outcome
  id?: string
  stores?: string
  seconds: number
  /** bytes this run sent for the image (0 when skipped) */
  sent: number
  /** seconds spent sending them (the rate's denominator; copies and checks excluded) */
  sendSeconds: number
  note?: string
}

export interface IngestOptions {
  retries: number
  /** how long to wait for another client's upload or a copy before giving up, per GiB (at least a minute) */
  waitSecPerGiB: number
}

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

function storeSet (value: unknown): Set<string> {
  return new Set(String(value ?? '').split(',').map((s) => s.trim()).filter(Boolean))
}

export async function ingest (api: ImageApi, job: UploadJob, tracker: Tracker, opts: IngestOptions): Promise<IngestResult> {
  const started = Date.now()
  const waitMs = Math.max(60, opts.waitSecPerGiB * job.size / 2 ** 30) * 1000
  let sent = 0
  let sendSeconds = 0
  let id: string | undefined
  const result = (outcome: Outcome, image?: Image, note?: string): IngestResult =>
    ({ job, outcome, id: image?.id ?? id, stores: image?.stores, seconds: (Date.now() - started) / 1000, sent, sendSeconds, note })
  try {
    /** Polls until `done` holds for the image, bounded. */
    const waitFor = async (imageId: string, what: string, done: (image: Image) => boolean): Promise<Image> => {
      const deadline = Date.now() + waitMs
      for (;;) {
        const image = await api.image(imageId)
        if (done(image)) return image
        if (Date.now() > deadline) throw new Error(`gave up waiting for ${what} after ${Math.round(waitMs / 1000)} s (image ${imageId} is ${image.status})`)
        await sleep(1000)
      }
    }

    let local: LocalDigest | undefined
    let image = await findResumable(api, job, waitFor)
    let outcome: Outcome = 'uploaded'
    if (image?.status === 'active') {
      tracker.phase('checking')
      local = await digestFile(job.file)
      if (image.size !== local.size || image.checksum !== local.md5 || image.os_hash_value !== local.sha512) {
        throw new Error(`an active image named '${job.name}' (${image.id}) holds other data than ${job.file}; rename or delete one`)
      }
      tracker.skip(job.size)
      outcome = 'skipped'
    } else {
      image ??= await api.create(createFields(job))
      id = image.id
      const sending = Date.now()
      for (let attempt = 0; ; attempt++) {
        tracker.phase(attempt === 0 ? '' : `retry ${attempt}`)
        let thisTry = 0
        try {
          local = await api.upload(image.id, job.file, job.size, job.stores[0], (n) => { thisTry += n; sent += n; tracker.add(n) })
          break
        } catch (err) {
          tracker.add(-thisTry)
          // a refusal that another try cannot change (4xx but 408/409) ends here
          if (err instanceof ApiError && err.status >= 400 && err.status < 500 && err.status !== 408 && err.status !== 409) throw err
          if (attempt >= opts.retries) throw err
          // the server puts an image whose upload failed back to queued
          const now = await waitFor(image.id, 'the failed upload to be undone', (i) => i.status !== 'saving')
          if (now.status !== 'queued') throw err
        }
      }
      sendSeconds = (Date.now() - sending) / 1000
      tracker.phase('verifying')
      image = await api.image(image.id)
      if (image.status !== 'active' || image.size !== local.size || image.checksum !== local.md5 || image.os_hash_value !== local.sha512) {
        const why = `the server's image ${image.id} (${image.status}, size ${image.size}, md5 ${image.checksum}) does not match ${job.file} (size ${local.size}, md5 ${local.md5})`
        await api.remove(image.id).catch(() => {})
        throw new Error(why)
      }
    }

    // Copies to the other stores (copy-image), or waits for those another run started.
    const want = job.stores
    const missing = (i: Image): string[] => want.filter((s) => !storeSet(i.stores).has(s))
    if (storeSet(image.os_glance_importing_to_stores).size > 0) {
      tracker.phase('copying')
      image = await waitFor(image.id, 'copies in progress', (i) => storeSet(i.os_glance_importing_to_stores).size === 0)
    }
    const toCopy = missing(image)
    if (toCopy.length > 0) {
      tracker.phase(`copying to ${toCopy.join(',')}`)
      await api.copyToStores(image.id, toCopy)
      image = await waitFor(image.id, `copies to ${toCopy.join(',')}`,
        (i) => missing(i).length === 0 || (storeSet(i.os_glance_importing_to_stores).size === 0 && toCopy.some((s) => storeSet(i.os_glance_failed_import).has(s))))
      const failed = missing(image)
      if (failed.length > 0) throw new Error(`copy to ${failed.join(',')} failed (os_glance_failed_import: ${String(image.os_glance_failed_import)})`)
      if (outcome === 'skipped') outcome = 'completed'
    }
    return result(outcome, image, outcome === 'skipped' ? 'already active with the same checksums' : 'md5 and sha512 verified')
  } catch (err) {
    return result('failed', undefined, (err as Error).message)
  }
}

function createFields (job: UploadJob): Record<string, unknown> {
  const fields: Record<string, unknown> = { ...job.properties, name: job.name, disk_format: job.diskFormat, container_format: job.containerFormat }
  if (job.visibility !== undefined) fields.visibility = job.visibility
  if (job.tags.length > 0) fields.tags = job.tags
  return fields
}

/**
 * The image a previous run left for this job: an active one (to check and complete), else
 * the newest queued one (its upload was cut). An upload in progress (saving) is waited for.
 */
async function findResumable (api: ImageApi, job: UploadJob,
  waitFor: (id: string, what: string, done: (i: Image) => boolean) => Promise<Image>): Promise<Image | undefined> {
  let named = (await api.imagesNamed(job.name)).filter((i) => i.disk_format === job.diskFormat)
  for (const saving of named.filter((i) => i.status === 'saving')) {
    await waitFor(saving.id, 'an upload in progress', (i) => i.status !== 'saving')
  }
  if (named.some((i) => i.status === 'saving')) named = (await api.imagesNamed(job.name)).filter((i) => i.disk_format === job.diskFormat)
  const active = named.filter((i) => i.status === 'active')
  if (active.length > 1) throw new Error(`${active.length} active images are named '${job.name}'; give each image a name of its own`)
  if (active.length === 1) return active[0]
  return named.filter((i) => i.status === 'queued').sort((a, b) => b.updated_at.localeCompare(a.updated_at))[0]
}
