// PUT /v2/images/{id}/file (and .../stage): the body streams chunk by chunk through the chain's upload
// (src/pipeline/lifecycle.ts) into the store worker; never whole in memory. The socket is
// paused while the layers consult the registry and whenever the upload's window of buffers
// is full, so a slow store slows the client instead of filling memory.

import type { AppContext } from '../context.js'
import { Errors } from '../errors.js'
import type { Exchange } from './exchange.js'
import type { Upload, UploadSink } from '../pipeline/lifecycle.js'
import { run, targetImage } from '../pipeline/index.js'
import { storeFailure } from '../stores/image-data.js'
import { registryFailure } from '../registry/connect.js'

/** `staging`: PUT .../stage, the same path into the staging store (glance-direct). */
export function receiveUpload (ex: Exchange, ctx: AppContext, how: { staging?: boolean } = {}): void {
  const type = (ex.headers['content-type'] ?? '').split(';')[0].trim()
  if (type !== 'application/octet-stream') throw Errors.unsupportedMediaType(type === '' ? '(none)' : type)
  const declaredSize = ex.headers['content-length'] !== undefined && ex.headers['transfer-encoding'] === undefined
    ? Number(ex.headers['content-length'])
    : -1

  let upload: Upload | undefined
  let sink: UploadSink | undefined
  let failed = false
  let ended = false
  let paused = true
  /** The body's last byte arrived (whether or not the upload still takes it). */
  let bodyReceived = false
  let onBodyReceived: (() => void) | undefined
  const early: Uint8Array[] = []

  // Touching the response after the client left throws, so the abort check lives here.
  const resumeSocket = (): void => {
    if (paused && !ex.aborted) { paused = false; ex.res.resume() }
  }

  const fail = (err: unknown): void => {
    if (failed) return
    failed = true
    // No sink yet: the dispatch is still running (it aborts itself when it sees `failed`)
    // or it threw, and then every layer has already undone its own part.
    const undone = sink?.abort(err) ?? Promise.resolve()
    ex.linger(undone)
    void (async () => {
      await undone
      if (ex.aborted) return
      // uWS reads and drops the rest of the body, which keeps the connection usable and
      // lets the client read our answer (closing with unread input would reset it).
      resumeSocket()
      // A connection that closes after this answer must first have read the whole body, or the
      // client gets a reset instead of the answer.
      if (ex.closeConnection && !bodyReceived) {
        await new Promise<void>((resolve) => { onBodyReceived = resolve; ex.onAbort(resolve) })
        if (ex.aborted) return
      }
      ex.fail(answerFor(err))
    })()
  }

  // The registry going away (before the upload starts, or at its commit) is the registry's
  // 503 as on every other route, not a store's failure nor a 500; a store worker's own
  // connection errors are the store's.
  const answerFor = (err: unknown): unknown => {
    const registry = (err as { fromWorker?: boolean } | null)?.fromWorker === true ? undefined : registryFailure(err)
    if (registry !== undefined) return registry
    return upload?.store !== undefined ? storeFailure(upload.store, err) : err
  }

  const finish = async (): Promise<void> => {
    ended = true
    await sink!.finish()
    // A paused socket would never read the connection's next request.
    resumeSocket()
    ex.empty(204)
  }

  ex.onAbort(() => fail(Object.assign(new Error('client disconnected'), { code: 'GLINT_ABORTED' })))
  ex.onData((ab, isLast) => {
    if (isLast) { bodyReceived = true; onBodyReceived?.() }
    if (failed) return
    try {
      // The ArrayBuffer is only valid during this call: the copy into a pooled buffer
      // (in the store session's write) is the one copy each byte gets.
      const chunk = new Uint8Array(ab)
      if (sink === undefined) {
        // Arrived before pause() took effect: keep a copy until the sink exists.
        if (chunk.byteLength > 0) early.push(chunk.slice())
        if (isLast) ended = true
        return
      }
      if (chunk.byteLength > 0 && !sink.write(chunk) && !isLast) {
        ex.res.pause()
        paused = true
        sink.onDrain(() => { if (!failed) resumeSocket() })
      }
      if (isLast) finish().catch(fail)
    } catch (err) {
      fail(err)
    }
  })
  ex.res.pause()

  // Lingers: a shutdown while the layers prepare must let them undo what they did.
  ex.linger((async () => {
    const image = await targetImage(ctx, ex.identity, ex.params[0])
    upload = { ctx, identity: ex.identity, image, storeId: ex.headers['x-image-meta-store'], staging: how.staging, declaredSize, received: 0, limit: Infinity }
    const opened = await run({ kind: 'image.upload', ctx, identity: ex.identity, requestId: ex.requestId, image, upload })
    // The client left (or a chunk failed) while the layers prepared: undo them, open nothing more.
    if (failed) { await opened.abort(new Error('upload ended before it started')); return }
    sink = opened
    sink.onFailure(fail)
    for (const chunk of early.splice(0)) sink.write(chunk)
    if (ended) { await finish(); return }
    if (!failed) resumeSocket()
  })().catch(fail))
}
