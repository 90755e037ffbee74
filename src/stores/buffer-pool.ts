// Reusable I/O buffers. Download buffers travel to a store worker and back (transfer moves
// the memory, it does not copy it); upload buffers are shared with two threads and return
// once both have read them. Either way, after warm-up a transfer allocates nothing.

import { pageAlignedSharedBuffer } from './aligned-memory.js'

export class BufferPool<B extends ArrayBuffer | SharedArrayBuffer> {
  private readonly free = new Map<number, B[]>()
  private retained = 0

  /** Keeps at most `maxRetainedBytes` of idle buffers; the rest are left to the GC. */
  constructor (private readonly allocate: (size: number) => B, private readonly maxRetainedBytes: number) {}

  take (size: number): B {
    const buffer = this.free.get(size)?.pop()
    if (buffer === undefined) return this.allocate(size)
    this.retained -= size
    return buffer
  }

  give (buffer: B): void {
    const size = buffer.byteLength
    if (size === 0 || this.retained + size > this.maxRetainedBytes) return
    let list = this.free.get(size)
    if (list === undefined) { list = []; this.free.set(size, list) }
    list.push(buffer)
    this.retained += size
  }
}

const RETAINED_BYTES = 256 * 1024 * 1024

export const downloadBuffers = new BufferPool((size) => new ArrayBuffer(size), RETAINED_BYTES)
// Page-aligned, so the file store can write them to disk with O_DIRECT (aligned-memory.ts).
export const uploadBuffers = new BufferPool(pageAlignedSharedBuffer, RETAINED_BYTES)
