// PUT /v2/images/{id}/file: the body streams chunk by chunk through the upload lifecycle
// (src/pipeline) into the store worker; never whole in memory. The socket is paused while
// the registry is consulted and whenever the upload's window of buffers is full, so a slow
// store slows the client instead of filling memory.

import type { AppContext } from '../context.js'
import { Errors } from '../errors.js'
import type { Exchange } from './exchange.js'
import { uploadPipeline, type Upload } from '../pipeline/lifecycle.js'
import { policyLayer } from '../pipeline/policy.js'
import { quotaLayer } from '../pipeline/quota.js'
import { locationLayer } from '../pipeline/location.js'
import { UploadSession } from '../stores/upload.js'
import { deserializeError } from '../workers/protocol.js'
import { storeFailure } from '../stores/image-data.js'
import { visibleImage } from './routes/images.js'

const pipeline = uploadPipeline([policyLayer, quotaLayer, locationLayer])

export function receiveUpload (ex: Exchange, ctx: AppContext): void {
  const type = (ex.headers['content-type'] ?? '').split(';')[0].trim()
  if (type !== 'application/octet-stream') throw Errors.unsupportedMediaType(type === '' ? '(none)' : type)
  const declaredSize = ex.headers['content-length'] !== undefined && ex.headers['transfer-encoding'] === undefined
    ? Number(ex.headers['content-length'])
    : -1

  let upload: Upload | undefined
  let session: UploadSession | undefined
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
    void (async () => {
      await session?.abort()
      if (upload?.store !== undefined) await pipeline.onFailure(upload, err)
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
      ex.fail(upload?.store !== undefined ? storeFailure(upload.store, err) : err)
    })()
  }

  const accept = (chunk: Uint8Array): boolean => {
    pipeline.onChunk(upload!, chunk.byteLength)
    upload!.received += chunk.byteLength
    return session!.write(chunk)
  }

  const finish = async (): Promise<void> => {
    ended = true
    if (declaredSize >= 0 && upload!.received !== declaredSize) throw Errors.sizeMismatch(upload!.received, declaredSize)
    upload!.result = await session!.finish()
    try {
      await pipeline.afterUpload(upload!)
    } catch (err) {
      // The data is durable in the store but the image cannot take it: remove it again.
      await upload!.store!.run({ op: 'delete', imageId: upload!.image.id, url: upload!.result.url }).catch(() => {})
      throw err
    }
    // A paused socket would never read the connection's next request.
    resumeSocket()
    ex.empty(204)
  }

  ex.onAbort(() => fail(Object.assign(new Error('client disconnected'), { code: 'GLINT_ABORTED' })))
  ex.res.onData((ab, isLast) => {
    if (isLast) { bodyReceived = true; onBodyReceived?.() }
    if (failed) return
    try {
      // The ArrayBuffer is only valid during this call: the copy into a pooled buffer
      // (in session.write) is the one copy each byte gets.
      const chunk = new Uint8Array(ab)
      if (session === undefined) {
        // Arrived before pause() took effect: keep a copy until the session exists.
        if (chunk.byteLength > 0) early.push(chunk.slice())
        if (isLast) ended = true
        return
      }
      if (chunk.byteLength > 0 && !accept(chunk) && !isLast) {
        ex.res.pause()
        paused = true
        session.onDrain(() => { if (!failed) resumeSocket() })
      }
      if (isLast) finish().catch(fail)
    } catch (err) {
      fail(err)
    }
  })
  ex.res.pause()

  void (async () => {
    const image = await visibleImage(ctx, ex, ex.params[0])
    upload = { ctx, ex, image, declaredSize, received: 0, limit: Infinity }
    await pipeline.beforeUpload(upload)
    // The client left (or a limit failed) while we prepared: fail() already ran without a
    // session, so undo what beforeUpload did and never open one.
    if (failed) { await pipeline.onFailure(upload, new Error('upload ended before it started')); return }
    session = new UploadSession(upload.store!, ctx.hashers, image.id, Math.max(declaredSize, 0))
    session.onFailure((e) => fail(deserializeError(e)))
    for (const chunk of early.splice(0)) accept(chunk)
    if (ended) { await finish(); return }
    if (!failed) resumeSocket()
  })().catch(fail)
}
