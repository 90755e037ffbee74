// The main thread's half of a download: lends the store worker a few buffers to read ahead
// into, writes each filled buffer to the socket with tryEnd (which never buffers more than
// the socket takes), and lends the buffer back once the client has it. A slow reader thus
// holds at most READ_AHEAD buffers, whatever the image's size.

import { MessageChannel } from 'node:worker_threads'
import type { Store } from './stores.js'
import { downloadBuffers } from './buffer-pool.js'
import { deserializeError, serializeError, type DownloadMessage, type SerializedError } from '../workers/protocol.js'
import type { HttpResponse } from '../http/uws.js'
import type { StalledWrites } from '../http/stalled-writes.js'

const READ_BUFFER_BYTES = 1024 * 1024
const READ_AHEAD = 4
/** Past this many downloads at once (a boot storm), each reads ahead less: memory stays flat. */
const STORM = 32
let activeDownloads = 0

export interface DownloadSink {
  res: HttpResponse
  /** Called once inside cork() before the first byte: status line and headers. */
  writeHead: () => void
  /** keeps the response alive while its client is slow to read */
  stalls: StalledWrites
  onAbort: (fn: () => void) => void
}

/** Streams [offset, offset+length) of the image; resolves with the bytes sent. */
export function streamDownload (store: Store, imageId: string, url: string, offset: number, length: number, sink: DownloadSink): Promise<number> {
  return new Promise((resolve, reject) => {
    const { port1: port, port2 } = new MessageChannel()
    const queue: Array<{ buffer: ArrayBuffer, length: number }> = []
    let headSent = false
    let sent = 0
    let writing: { bytes: Uint8Array, startOffset: number, buffer: ArrayBuffer } | undefined
    let finished = false

    activeDownloads++
    const traffic = store.traffic
    traffic.downloadsInFlight++
    const done = (err?: SerializedError): void => {
      if (finished) return
      finished = true
      activeDownloads--
      traffic.downloadsInFlight--
      port.postMessage({ type: 'cancel' })
      port.close()
      for (const item of queue) downloadBuffers.give(item.buffer)
      if (err !== undefined) reject(Object.assign(deserializeError(err), { headSent }))
      else resolve(sent)
    }
    sink.onAbort(() => done())
    /** `n` more bytes reached the socket */
    const advance = (n: number): void => { sent += n; traffic.bytesOut += n }

    // The worker stops reading at the end of the range; a buffer it no longer needs is dropped.
    const giveBack = (buffer: ArrayBuffer): void => {
      if (finished) downloadBuffers.give(buffer)
      else port.postMessage({ type: 'ack', buffer }, [buffer])
    }

    /** Writes queued buffers until the socket pushes back or the queue is empty. */
    const pump = (): void => {
      while (!finished && writing === undefined && queue.length > 0) {
        const item = queue.shift()!
        const bytes = new Uint8Array(item.buffer, 0, item.length)
        const startOffset = sink.res.getWriteOffset()
        let ok = false
        let complete = false
        sink.res.cork(() => {
          if (!headSent) { headSent = true; sink.writeHead() }
          ;[ok, complete] = sink.res.tryEnd(bytes, length)
        })
        if (complete) { advance(length - sent); giveBack(item.buffer); done(); return }
        if (!ok) {
          writing = { bytes, startOffset, buffer: item.buffer }
          sink.stalls.watch(nudge, closeStalled)
          return
        }
        advance(item.length)
        giveBack(item.buffer)
      }
    }

    /** Writes the rest of the pending buffer, from the response's write offset `offset`. */
    const resume = (offset: number): boolean => {
      if (writing === undefined || finished) return true
      const { bytes, startOffset, buffer } = writing
      const [ok, complete] = sink.res.tryEnd(bytes.subarray(offset - startOffset), length)
      if (complete) { advance(length - sent); writing = undefined; giveBack(buffer); done(); return true }
      if (ok) {
        advance(bytes.byteLength)
        writing = undefined
        giveBack(buffer)
        pump()
      }
      return ok
    }
    sink.res.onWritable(resume)

    const closeStalled = (): void => { sink.res.close() }
    const nudge = (): number | undefined => {
      if (writing === undefined || finished) return undefined
      sink.res.cork(() => { resume(sink.res.getWriteOffset()) })
      return writing === undefined || finished ? undefined : sink.res.getWriteOffset()
    }

    port.on('message', (message: DownloadMessage) => {
      if (finished) { if (message.type === 'data') downloadBuffers.give(message.buffer); return }
      if (message.type === 'error') { done(message.error); return }
      queue.push(message)
      pump()
    })

    const lent = Math.min(activeDownloads > STORM ? 2 : READ_AHEAD, Math.ceil(length / READ_BUFFER_BYTES))
    const buffers = Array.from({ length: lent }, () => downloadBuffers.take(READ_BUFFER_BYTES))
    port.postMessage({ type: 'start', buffers }, buffers)
    store.run({ op: 'download', port: port2, imageId, url, offset, length }, [port2])
      .catch((err) => done(serializeError(err)))
  })
}
