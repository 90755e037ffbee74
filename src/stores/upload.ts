// The main thread's half of an upload: copies each chunk uWS hands over (once) into a pooled
// shared buffer of the store's chunk size, and shares every full buffer with two threads at
// once: the store worker (md5 + write) and a hasher thread (sha512). A buffer is reused when
// both have acknowledged it. When the window of buffers is used up, write() says so and the
// caller pauses the socket.

import { MessageChannel, type MessagePort } from 'node:worker_threads'
import { createRequire } from 'node:module'
import type { Store } from './stores.js'
import type { Hashers } from './hashers.js'
import { uploadBuffers } from './buffer-pool.js'
import { nodeHashName } from '../config/hash-algorithms.js'
import type { StoreTraffic } from '../metrics/registry.js'
import { serializeError, type SerializedError, type StoredImage, type UploadReply, type UploadResult } from '../workers/protocol.js'
import type * as Copy from '../../native/copy.cjs'

// memcpy into the shared buffers: V8's own copy into shared memory (TypedArray.set) goes byte by
// byte for chunks that start unaligned, 0.6-0.8 CPU-s per GiB (native/src/copy.cc).
const { copyInto } = createRequire(import.meta.url)('../../../native/copy.cjs') as typeof Copy

/** At most this many bytes of one upload are in memory at once, whatever its size. */
export const UPLOAD_WINDOW_BYTES = 32 * 1024 * 1024
/**
 * The window of an upload into RBD. Each buffer's trip (copy, md5 and sha512 threads, the
 * write, both acks) waits for the scheduler several times; on a busy machine 3 buffers of 8 MiB
 * in flight reached the OSD in trickles that cost it 1.8-2.1 CPU-s per GiB at 23-29 MB/s,
 * 15 in flight 1.3-1.4 CPU-s per GiB at 28-44 MB/s (64 MiB: no better than 32). BENCHMARKS.md.
 */
export const RBD_UPLOAD_WINDOW_BYTES = 128 * 1024 * 1024

export class UploadSession {
  private readonly storePort: MessagePort
  private readonly hashPort: MessagePort
  private readonly stored: Promise<StoredImage>
  private readonly hashed: Promise<{ size: number, hex: string }>
  private readonly bufferSize: number
  private readonly windowBuffers: number
  private current: Uint8Array | undefined
  private filled = 0
  private seq = 0
  /** shipped buffers by seq, with how many of the two readers still hold each */
  private readonly shipped = new Map<number, { buffer: SharedArrayBuffer, holders: number }>()
  private drainWaiter: (() => void) | undefined
  private failure: SerializedError | undefined
  private failureWaiter: ((e: SerializedError) => void) | undefined
  private closed = false
  private released = false
  private readonly traffic: StoreTraffic

  /** `hashAlgo`: the os_hash_algo to compute, as Glance names it (the image's, or hashing_algorithm). */
  constructor (store: Store, hashers: Hashers, imageId: string, declaredSize: number, private readonly hashAlgo: string) {
    this.bufferSize = store.chunkSize
    this.traffic = store.traffic
    this.traffic.uploadsInFlight++
    // the window counts the buffer being filled too
    const window = store.type === 'rbd' ? RBD_UPLOAD_WINDOW_BYTES : UPLOAD_WINDOW_BYTES
    this.windowBuffers = Math.max(2, Math.floor(window / this.bufferSize) - 1)

    const { port1, port2 } = new MessageChannel()
    this.storePort = port1
    this.storePort.on('message', (reply: UploadReply) => {
      if (reply.type === 'ack') this.release(reply.seq)
      else this.reportFailure(reply.error)
    })
    this.stored = store.run<StoredImage>({ op: 'upload', port: port2, imageId, declaredSize }, [port2])

    // checked at start (hashing_algorithm) and when an image records one (nothing else writes it)
    const digest = hashers.start(nodeHashName(hashAlgo) ?? hashAlgo)
    this.hashPort = digest.port
    this.hashPort.on('message', (seq: number) => this.release(seq))
    this.hashed = digest.result

    // A task that fails before finish() (the store could not even start the image: cluster
    // down, directory missing) must stop the upload now, not when the client gives up.
    for (const task of [this.stored, this.hashed]) {
      task.catch((err) => { if (!this.closed) this.reportFailure(serializeError(err)) })
    }
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
    this.traffic.bytesIn += chunk.byteLength
    let at = 0
    while (at < chunk.byteLength) {
      if (this.current === undefined) {
        this.current = new Uint8Array(uploadBuffers.take(this.bufferSize))
        this.filled = 0
      }
      const n = Math.min(chunk.byteLength - at, this.bufferSize - this.filled)
      copyInto(this.current, this.filled, chunk, at, n)
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

  /** All bytes received: flush the last buffer and wait until the data is durable and hashed. */
  async finish (): Promise<UploadResult> {
    if (this.filled > 0) this.ship()
    this.closed = true
    this.storePort.postMessage({ type: 'end' })
    this.hashPort.postMessage({ type: 'end' })
    try {
      const [stored, hashed] = await Promise.all([this.stored, this.hashed])
      return { ...stored, osHashAlgo: this.hashAlgo, osHashValue: hashed.hex }
    } finally {
      this.close()
    }
  }

  /** Stops the upload; the store worker removes whatever was written. */
  async abort (): Promise<void> {
    if (!this.closed) {
      this.closed = true
      this.storePort.postMessage({ type: 'abort' })
      this.hashPort.postMessage({ type: 'abort' })
    }
    await Promise.allSettled([this.stored, this.hashed])
    this.close()
  }

  private close (): void {
    if (!this.released) { this.released = true; this.traffic.uploadsInFlight-- }
    this.storePort.close()
    this.hashPort.close()
    if (this.current !== undefined) uploadBuffers.give(this.current.buffer as SharedArrayBuffer)
    this.current = undefined
    // Both tasks have settled, so neither reader touches these buffers any more.
    for (const { buffer } of this.shipped.values()) uploadBuffers.give(buffer)
    this.shipped.clear()
  }

  private reportFailure (error: SerializedError): void {
    if (this.failure !== undefined) return
    this.failure = error
    this.failureWaiter?.(error)
  }

  /** One reader is done with chunk `seq`; when both are, its buffer is free again. */
  private release (seq: number): void {
    const entry = this.shipped.get(seq)
    if (entry === undefined || --entry.holders > 0) return
    this.shipped.delete(seq)
    uploadBuffers.give(entry.buffer)
    if (this.drainWaiter !== undefined && this.hasRoom()) {
      const waiter = this.drainWaiter
      this.drainWaiter = undefined
      waiter()
    }
  }

  private hasRoom (): boolean {
    return this.shipped.size < this.windowBuffers
  }

  private ship (): void {
    const buffer = this.current!.buffer as SharedArrayBuffer
    const message = { type: 'chunk', seq: this.seq, buffer, length: this.filled }
    this.shipped.set(this.seq, { buffer, holders: 2 })
    this.seq++
    this.storePort.postMessage(message)
    this.hashPort.postMessage(message)
    this.current = undefined
    this.filled = 0
  }
}
