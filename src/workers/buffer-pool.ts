// Reusable transfer buffers. A buffer travels to a worker and back (transfer moves the
// memory, it does not copy it), so after warm-up an upload or download allocates nothing.

export class BufferPool {
  private readonly free = new Map<number, ArrayBuffer[]>()
  private retained = 0

  /** Keeps at most `maxRetainedBytes` of idle buffers; the rest are left to the GC. */
  constructor (private readonly maxRetainedBytes: number) {}

  take (size: number): ArrayBuffer {
    const buffer = this.free.get(size)?.pop()
    if (buffer === undefined) return new ArrayBuffer(size)
    this.retained -= size
    return buffer
  }

  give (buffer: ArrayBuffer): void {
    const size = buffer.byteLength
    if (size === 0 || this.retained + size > this.maxRetainedBytes) return
    let list = this.free.get(size)
    if (list === undefined) { list = []; this.free.set(size, list) }
    list.push(buffer)
    this.retained += size
  }
}

export const sharedBuffers = new BufferPool(256 * 1024 * 1024)
