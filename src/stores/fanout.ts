// Fan-out: concurrent downloads of one image from one store share one read of it.
//
// A read (one store-worker task) keeps a window of the chunks it read last. Every download
// (a reader) sends from that window at its own pace. The read goes at the pace of its fastest
// reader: it reads ahead of that reader only, and when the window is full it drops its
// oldest chunk, so a reader still on that chunk (a slow client) leaves the read instead of
// holding the others back. A reader that left, or that starts where no read's window reaches
// (a late start, a Range), joins another read whose window holds its position, or opens a
// new one that later readers can join. Window memory is bounded per read, per image and in
// total; when that is spent, a reader gets a read of its own with two chunks, which no one
// else joins (the old per-download read-ahead). Those are bounded in total too: past that a
// reader waits for a read to end.

import { MessageChannel, type MessagePort } from 'node:worker_threads'
import type { Logger } from 'pino'
import type { Store } from './stores.js'
import { downloadBuffers } from './buffer-pool.js'
import { deserializeError, serializeError, type DownloadMessage, type SerializedError } from '../workers/protocol.js'
import type { HttpResponse } from '../http/uws.js'
import type { StalledWrites } from '../http/stalled-writes.js'

const CHUNK = 1024 * 1024
/** Chunks read ahead of a read's fastest reader. */
const READ_AHEAD = 4
/** A shared read starts with this many chunks reserved (it must be able to drop one and still read ahead). */
const MIN_SHARED = READ_AHEAD + 2
/** Chunks of a read of its own (outside the window budget). */
const OWN_CHUNKS = 2
/** How many windows of one image may be alive at once (readers spread over the image). */
const WINDOWS_PER_IMAGE = 4

/** Where a download goes: the response, its head, and the request's abort. */
export interface DownloadSink {
  res: HttpResponse
  /** Called once inside cork() before the first byte: status line and headers. */
  writeHead: () => void
  /** keeps the response alive while its client is slow to read */
  stalls: StalledWrites
  onAbort: (fn: () => void) => void
}

export interface FanOutLimits {
  /** bytes one read of an image may keep */
  windowBytes: number
  /** bytes all windows together may keep */
  totalBytes: number
}

export interface FanOutStats {
  /** window bytes held now, and the most ever held at once */
  windowBytes: number
  peakWindowBytes: number
  /** reads started in the stores, and the bytes they read */
  storeReads: number
  storeBytes: number
}

export interface Downloads {
  /** Streams [offset, offset+length) of an image of `size` bytes; resolves with the bytes sent. */
  stream: (store: Store, imageId: string, url: string, size: number, offset: number, length: number, sink: DownloadSink) => Promise<number>
  stats: () => FanOutStats
}

const flushed = (): void => {}

interface Slot { buffer: ArrayBuffer | undefined, length: number, ready: boolean }

export function fanOut (limits: FanOutLimits, log: Logger): Downloads {
  const windowChunks = Math.max(MIN_SHARED, Math.floor(limits.windowBytes / CHUNK))
  const imageBytesMax = windowChunks * CHUNK * WINDOWS_PER_IMAGE
  const reads = new Map<string, Set<Read>>()
  const imageBytes = new Map<string, number>()
  const stats: FanOutStats = { windowBytes: 0, peakWindowBytes: 0, storeReads: 0, storeBytes: 0 }
  /** buffers of reads of their own, bounded like the windows; readers past it wait here */
  let ownBytes = 0
  const waiting: Reader[] = []

  /** Reserves window memory for a read of image `key`; false when a bound would be passed. */
  const reserve = (key: string, bytes: number): boolean => {
    const held = imageBytes.get(key) ?? 0
    if (stats.windowBytes + bytes > limits.totalBytes || held + bytes > imageBytesMax) return false
    imageBytes.set(key, held + bytes)
    stats.windowBytes += bytes
    if (stats.windowBytes > stats.peakWindowBytes) stats.peakWindowBytes = stats.windowBytes
    return true
  }
  const release = (key: string, bytes: number): void => {
    const held = (imageBytes.get(key) ?? 0) - bytes
    if (held <= 0) imageBytes.delete(key)
    else imageBytes.set(key, held)
    stats.windowBytes -= bytes
  }

  /** One backend read of [start, size) of an image, shared by its readers unless `own`. */
  class Read {
    readonly readers = new Set<Reader>()
    /** chunk index of slots[0]; slots hold chunks read (ready) or being read, in order */
    private base = 0
    private readonly slots: Slot[] = []
    private readonly spare: ArrayBuffer[] = []
    private allotted = 0
    private arrived = 0
    private leader = 0
    private wantedEnd = 0
    private bytesRead = 0
    private joined = 0
    private closed = false
    private readonly port: MessagePort

    constructor (readonly store: Store, readonly key: string, readonly imageId: string, url: string,
      readonly start: number, readonly end: number, readonly own: boolean, reserved: number) {
      this.allotted = reserved
      for (let i = 0; i < reserved; i++) this.spare.push(downloadBuffers.take(CHUNK))
      const { port1, port2 } = new MessageChannel()
      this.port = port1
      port1.on('message', (message: DownloadMessage) => { this.arrive(message) })
      port1.postMessage({ type: 'start', buffers: [] })
      stats.storeReads++
      store.run({ op: 'download', port: port2, imageId, url, offset: start, length: end - start }, [port2])
        .catch((err) => { this.fail(serializeError(err)) })
    }

    private get requested (): number { return this.base + this.slots.length }
    private offsetOf (index: number): number { return this.start + index * CHUNK }
    private indexOf (position: number): number { return Math.floor((position - this.start) / CHUNK) }

    /** Whether a reader at `position` can be served from here (its chunk is held, or is the next to read). */
    covers (position: number): boolean {
      if (this.own || this.closed || position < this.offsetOf(this.base) || position >= this.end) return false
      return this.indexOf(position) <= this.requested
    }

    /** The ready chunk holding `position`, as [buffer, offset of its first byte, length]; undefined while it is read. */
    chunkAt (position: number): Slot | undefined {
      const slot = this.slots[this.indexOf(position) - this.base]
      return slot?.ready === true ? slot : undefined
    }

    chunkOffset (position: number): number { return this.offsetOf(this.indexOf(position)) }

    join (reader: Reader): void {
      this.readers.add(reader)
      this.joined++
      reader.source = this
      this.leader = Math.max(this.leader, this.indexOf(reader.position))
      this.wantedEnd = Math.max(this.wantedEnd, reader.end)
    }

    leave (reader: Reader): void {
      if (!this.readers.delete(reader)) return
      reader.source = undefined
      if (this.readers.size === 0) { this.close(); return }
      this.leader = 0
      this.wantedEnd = 0
      for (const r of this.readers) {
        this.leader = Math.max(this.leader, this.indexOf(r.position))
        this.wantedEnd = Math.max(this.wantedEnd, r.end)
      }
    }

    /** A reader moved on to `position`: read further if it leads, drop what a read of its own no longer needs. */
    moved (position: number): void {
      const index = this.indexOf(position)
      if (index > this.leader) this.leader = index
      if (this.own) {
        while (this.slots.length > 0 && this.base < index && this.slots[0].ready) {
          this.spare.push(this.slots.shift()!.buffer!)
          this.base++
        }
      }
      this.pull()
    }

    /** Lends the worker buffers to read into while the leader is less than READ_AHEAD chunks from the head. */
    pull (): void {
      while (!this.closed && this.offsetOf(this.requested) < Math.min(this.end, this.wantedEnd) &&
        this.requested < this.leader + READ_AHEAD) {
        const buffer = this.spare.pop() ?? this.grow() ?? this.dropOldest()
        if (buffer === undefined) return
        if (this.closed) { downloadBuffers.give(buffer); return }
        this.slots.push({ buffer: undefined, length: 0, ready: false })
        this.port.postMessage({ type: 'ack', buffer }, [buffer])
      }
    }

    private grow (): ArrayBuffer | undefined {
      if (this.own || this.allotted >= windowChunks || !reserve(this.key, CHUNK)) return undefined
      this.allotted++
      return downloadBuffers.take(CHUNK)
    }

    /** Drops the oldest chunk; its readers (behind by a whole window) go elsewhere. */
    private dropOldest (): ArrayBuffer | undefined {
      if (this.own || this.slots.length <= READ_AHEAD || this.slots[0].ready !== true) return undefined
      const slot = this.slots.shift()!
      this.base++
      const from = this.offsetOf(this.base)
      for (const reader of this.readers) {
        if (reader.position < from) { this.leave(reader); reader.leftBehind(slot.buffer!) }
      }
      return slot.buffer
    }

    private arrive (message: DownloadMessage): void {
      if (this.closed) { if (message.type === 'data') downloadBuffers.give(message.buffer); return }
      if (message.type === 'error') { this.fail(message.error); return }
      const slot = this.slots[this.arrived - this.base]
      this.arrived++
      slot.buffer = message.buffer
      slot.length = message.length
      slot.ready = true
      this.bytesRead += message.length
      stats.storeBytes += message.length
      // /metrics counts what was read out of the store, once however many clients it served
      this.store.traffic.bytesOut += message.length
      for (const reader of this.readers) reader.advance()
      this.pull()
    }

    private fail (error: SerializedError): void {
      if (this.closed) return
      for (const reader of [...this.readers]) { this.leave(reader); reader.fail(error) }
      this.close()
    }

    private close (): void {
      if (this.closed) return
      this.closed = true
      this.port.postMessage({ type: 'cancel' })
      this.port.close()
      for (const slot of this.slots) if (slot.ready) downloadBuffers.give(slot.buffer!)
      for (const buffer of this.spare) downloadBuffers.give(buffer)
      if (!this.own) release(this.key, this.allotted * CHUNK)
      else ownBytes -= this.allotted * CHUNK
      const set = reads.get(this.key)
      set?.delete(this)
      if (set?.size === 0) reads.delete(this.key)
      queueMicrotask(admitWaiting)
      // Once per read, never per chunk: what the store was asked for, so a storm's reads can be counted.
      log.info({ store: this.store.id, image: this.imageId, offset: this.start, bytes: this.bytesRead, readers: this.joined, shared: !this.own, windowPeak: stats.peakWindowBytes }, 'store read')
      // with a callback, pino writes out what it buffered even while a write is under way
      log.flush(flushed)
    }
  }

  /** One download: sends its byte range from whichever read currently serves it. */
  class Reader {
    source: Read | undefined
    position: number
    private headSent = false
    private finished = false
    /** bytes handed to tryEnd but not yet taken by the socket, and the position after them */
    private pending: { bytes: Uint8Array, startOffset: number, after: number, copy?: ArrayBuffer } | undefined
    private readonly nudgeThis = (): number | undefined => this.nudge()
    private readonly closeThis = (): void => { this.sink.res.close() }

    constructor (readonly store: Store, readonly key: string, readonly imageId: string, readonly url: string,
      readonly size: number, readonly offset: number, readonly end: number, private readonly sink: DownloadSink,
      private readonly settle: (err: (Error & { headSent: boolean }) | undefined) => void) {
      this.position = offset
      store.traffic.downloadsInFlight++
      sink.onAbort(() => { this.finish(undefined) })
      sink.res.onWritable((at) => this.resume(at))
    }

    private get length (): number { return this.end - this.offset }

    /** Sends from the source's window until the socket pushes back or the next chunk is not read yet. */
    advance (): void {
      while (!this.finished && this.pending === undefined) {
        const source = this.source
        if (source === undefined) { attach(this); return }
        const slot = source.chunkAt(this.position)
        if (slot === undefined) return
        const chunkStart = source.chunkOffset(this.position)
        const from = this.position - chunkStart
        const to = Math.min(slot.length, this.end - chunkStart)
        this.write(new Uint8Array(slot.buffer!, from, to - from))
      }
    }

    private write (bytes: Uint8Array): void {
      const res = this.sink.res
      const startOffset = res.getWriteOffset()
      let ok = false
      let complete = false
      res.cork(() => {
        if (!this.headSent) { this.headSent = true; this.sink.writeHead() }
        ;[ok, complete] = res.tryEnd(bytes, this.length)
      })
      if (complete) { this.reach(this.end); this.finish(undefined); return }
      if (!ok) {
        this.pending = { bytes, startOffset, after: this.position + bytes.byteLength }
        this.sink.stalls.watch(this.nudgeThis, this.closeThis)
        return
      }
      this.moveTo(this.position + bytes.byteLength)
    }

    private moveTo (position: number): void {
      this.reach(position)
      this.source?.moved(position)
    }

    /** The socket took everything before `position` (counted for /metrics). */
    private reach (position: number): void {
      this.store.traffic.bytesSent += position - this.position
      this.position = position
    }

    /** onWritable: the socket drained; writes the rest of the pending bytes from write offset `at`. */
    private resume (at: number): boolean {
      const pending = this.pending
      if (pending === undefined || this.finished) return true
      const [ok, complete] = this.sink.res.tryEnd(pending.bytes.subarray(at - pending.startOffset), this.length)
      if (!ok && !complete) return false
      this.pending = undefined
      if (pending.copy !== undefined) downloadBuffers.give(pending.copy)
      if (complete) { this.reach(this.end); this.finish(undefined); return true }
      this.moveTo(pending.after)
      this.advance()
      return true
    }

    private nudge (): number | undefined {
      if (this.pending === undefined || this.finished) return undefined
      this.sink.res.cork(() => { this.resume(this.sink.res.getWriteOffset()) })
      return this.pending === undefined || this.finished ? undefined : this.sink.res.getWriteOffset()
    }

    /**
     * Its read dropped the chunk this reader was still sending from: the unsent rest is copied
     * (the chunk is about to be read into again), and the next chunk comes from elsewhere.
     */
    leftBehind (buffer: ArrayBuffer): void {
      const pending = this.pending
      if (this.finished) return
      if (pending === undefined) { queueMicrotask(() => { this.advance() }); return }
      if (pending.bytes.buffer !== buffer) return
      const written = this.sink.res.getWriteOffset() - pending.startOffset
      const rest = pending.bytes.subarray(written)
      const copy = downloadBuffers.take(CHUNK)
      const bytes = new Uint8Array(copy, 0, rest.byteLength)
      bytes.set(rest)
      this.pending = { bytes, startOffset: pending.startOffset + written, after: pending.after, copy }
    }

    fail (error: SerializedError): void {
      this.finish(Object.assign(deserializeError(error), { headSent: this.headSent }))
    }

    private finish (err: (Error & { headSent: boolean }) | undefined): void {
      if (this.finished) return
      this.finished = true
      this.store.traffic.downloadsInFlight--
      if (this.pending?.copy !== undefined) downloadBuffers.give(this.pending.copy)
      this.pending = undefined
      this.source?.leave(this)
      this.settle(err)
    }

    get sent (): number { return this.position - this.offset }
    get done (): boolean { return this.finished }
  }

  /** Puts a reader on a read that holds its position, or on a new one. */
  function attach (reader: Reader): void {
    let read: Read | undefined
    for (const candidate of reads.get(reader.key) ?? []) {
      if (candidate.covers(reader.position)) { read = candidate; break }
    }
    if (read === undefined) {
      const shared = reserve(reader.key, MIN_SHARED * CHUNK)
      if (!shared && ownBytes + OWN_CHUNKS * CHUNK > limits.totalBytes) { waiting.push(reader); return }
      if (!shared) ownBytes += OWN_CHUNKS * CHUNK
      read = new Read(reader.store, reader.key, reader.imageId, reader.url, reader.position, reader.size, !shared,
        shared ? MIN_SHARED : OWN_CHUNKS)
      if (shared) {
        let set = reads.get(reader.key)
        if (set === undefined) { set = new Set(); reads.set(reader.key, set) }
        set.add(read)
      }
    }
    read.join(reader)
    reader.advance()
    read.pull()
  }

  /** Memory came free: readers that waited for it start again, in order, while it lasts. */
  function admitWaiting (): void {
    while (waiting.length > 0) {
      const reader = waiting.shift()!
      if (reader.done) continue
      attach(reader)
      if (reader.source === undefined && !reader.done) return // went back to waiting
    }
  }

  return {
    stream (store, imageId, url, size, offset, length, sink) {
      return new Promise((resolve, reject) => {
        const key = `${store.id}\n${imageId}\n${url}`
        const reader: Reader = new Reader(store, key, imageId, url, size, offset, offset + length, sink, (err) => {
          if (err !== undefined) reject(err)
          else resolve(reader.sent)
        })
        attach(reader)
      })
    },
    stats: () => ({ ...stats })
  }
}
