// web-download's (and glance-download's) first step: the URL's data streamed into the staging store, through the
// same sink an upload writes (format inspection, then the store session that hashes and
// writes; never whole in memory), fetched by src/stores/http-store.ts, the one place that
// fetches: every URL and redirect checked against [import_filtering_opts], the connection
// made to the address checked. image_size_cap is enforced while the bytes arrive, and a body
// shorter or longer than its Content-Length is refused (Glance's check).

import { Errors } from '../errors.js'
import type { ImageRecord } from '../registry/images.js'
import { fetchUrl } from '../stores/http-store.js'
import { formatLayer } from './format.js'
import type { Upload } from './lifecycle.js'
import { storeUpload } from './store-upload.js'
import type { ImportJob } from './import-job.js'

export interface Staged { size: number, virtualSize: number | null }

/** `headers`: glance-download's caller token (never sent on to another origin by a redirect). */
export async function downloadToStaging (job: ImportJob, image: ImageRecord, uri: string, headers: Record<string, string> = {}): Promise<Staged> {
  const { ctx, task } = job
  const res = await fetchUrl(uri, ctx.config.importFiltering, 'GET', headers)
  const length = Number(res.headers['content-length'])
  const limit = ctx.config.imageSizeCap
  const u: Upload = {
    ctx,
    identity: { projectId: task.owner, userId: task.user_id, roles: [], isAdmin: false },
    image,
    storeId: undefined,
    staging: true,
    store: ctx.stores.staging!,
    declaredSize: res.headers['content-length'] !== undefined && Number.isSafeInteger(length) && length >= 0 ? length : -1,
    received: 0,
    limit
  }
  if (u.declaredSize > limit) { res.body.destroy(); throw Errors.sizeCapExceeded(limit) }
  const sink = await formatLayer(storeUpload)(u)
  let failure: Error | undefined
  sink.onFailure((err) => { failure = err })
  try {
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      if (failure !== undefined) throw failure
      if (u.received + chunk.byteLength > limit) throw Errors.sizeCapExceeded(limit)
      // the store's window is full: read nothing more from the socket until it drains
      if (!sink.write(chunk)) await new Promise<void>((resolve) => sink.onDrain(resolve))
    }
    if (failure !== undefined) throw failure
    await sink.finish()
  } catch (err) {
    res.body.destroy()
    await sink.abort(err)
    throw err
  }
  return { size: u.result!.size, virtualSize: u.virtualSize ?? null }
}
