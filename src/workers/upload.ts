// The main thread's half of an upload: copies each chunk uWS hands over (once) into a
// pooled buffer of the store's chunk size, ships full buffers to the store worker, and
// reports when the window of buffers is used up so the caller can pause the socket.

import { MessageChannel, type MessagePort } from 'node:worker_threads'
import type { Store } from './stores.js'
import { sharedBuffers } from './buffer-pool.js'
import type { SerializedError, UploadResult } from './protocol.js'

/** At most this many bytes of one upload are in memory at once, whatever its size. */
export const UPLOAD_WINDOW_BYTES = 32 * 1024 * 1024

export class UploadSession {
  private readonly port: MessagePort
  private readonly result: Promise<UploadResult>
  private readonly bufferSize: number
  private readonly windowBuffers: number
  private current: Uint8Array | undefined
  private filled = 0
  private outstanding = 0
  private drainWaiter: (() => void) | undefined
  private failure: SerializedError | undefined
  private failureWaiter: ((e: SerializedError) => void) | undefined
  private closed = false

  constructor (store: Store, imageId: string, declaredSize: number) {
    this.bufferSize = store.chunkSize
    // the window counts the buffer being filled too
    this.windowBuffers = Math.max(2, Math.floor(UPLOAD_WINDOW_BYTES / this.bufferSize) - 1)
    const { port1, port2 } = new MessageChannel()
    this.port = port1
    this.port.on('message', (message: { type: 'ack', buffer: ArrayBuffer } | { type: 'failed', error: SerializedError }) => {
      if (message.type === 'ack') {
        this.outstanding--
        sharedBuffers.give(message.buffer)
        if (this.drainWaiter !== undefined && this.hasRoom()) { const w = this.drainWaiter; this.drainWaiter = undefined; w() }
      } else {
        this.reportFailure(message.error)
      }
    })
    this.result = store.run<UploadResult>({ op: 'upload', port: port2, imageId, declaredSize }, [port2])
    // A task that fails before finish() (the store could not even start the image: cluster
    // down, directory missing) must stop the upload now, not when the client gives up.
    this.result.catch((err) => {
      if (!this.closed) this.reportFailure({ message: err.message, code: err.code })
    })
  }

  /** A store write failed: the caller should stop reading and answer with this error. */
  onFailure (fn: (e: SerializedError) => void): void {
    if (this.failure !== undefined) fn(this.failure)
    else this.failureWaiter = fn
  }

  /**
   * Copies `chunk` into the upload. Returns false when the window is full: the caller must
   * pause the socket until onDrain fires.
   */
  write (chunk: Uint8Array): boolean {
    let at = 0
    while (at < chunk.byteLength) {
      if (this.current === undefined) {
        this.current = new Uint8Array(sharedBuffers.take(this.bufferSize))
        this.filled = 0
      }
      const n = Math.min(chunk.byteLength - at, this.bufferSize - this.filled)
      this.current.set(n === chunk.byteLength ? chunk : chunk.subarray(at, at + n), this.filled)
      this.filled += n
      at += n
      if (this.filled === this.bufferSize) this.ship()
    }
    return this.hasRoom()
  }

  onDrain (fn: () => void): void {
    if (this.hasRoom()) fn()
    else this.drainWaiter = fn
  }

  /** All bytes received: flush the last buffer and wait for the store to make them durable. */
  async finish (): Promise<UploadResult> {
    if (this.filled > 0) this.ship()
    this.closed = true
    this.port.postMessage({ type: 'end' })
    try {
      return await this.result
    } finally {
      this.port.close()
    }
  }

  /** Stops the upload; the worker removes whatever was written. */
  async abort (): Promise<void> {
    if (!this.closed) {
      this.closed = true
      this.port.postMessage({ type: 'abort' })
    }
    await this.result.catch(() => {})
    this.port.close()
  }

  private reportFailure (error: SerializedError): void {
    if (this.failure !== undefined) return
    this.failure = error
    this.failureWaiter?.(error)
  }

  // A new buffer is only needed when the current one is full, and uWS hands over at most
  // 512 KiB per call, so "room" means: a free slot in the window for the next buffer.
  private hasRoom (): boolean {
    return this.outstanding < this.windowBuffers
  }

  private ship (): void {
    const buffer = this.current!.buffer as ArrayBuffer
    this.port.postMessage({ type: 'chunk', buffer, length: this.filled }, [buffer])
    this.outstanding++
    this.current = undefined
    this.filled = 0
  }
}
