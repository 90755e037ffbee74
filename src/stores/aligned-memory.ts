// Shared memory that starts on a page boundary, for upload buffers.
//
// The file store writes uploads with O_DIRECT: the disk reads straight from these buffers,
// with no copy into the page cache and no writeback work (measured on this project's VM:
// about 0.25 CPU-s per GiB instead of 2-4). Direct I/O needs the memory aligned to the disk's
// block size, and JavaScript cannot align a SharedArrayBuffer (node allocates them with
// malloc, 16 bytes past a page boundary). A shared WebAssembly.Memory is mapped page by page,
// so its buffer is a SharedArrayBuffer that starts on a page boundary.
//
// Each such memory reserves address space for guard regions (about 10 GiB of virtual space,
// no RAM). Where that cannot be had (a process address-space limit) or WebAssembly is off,
// a plain SharedArrayBuffer is returned and the file store falls back to buffered writes.

const WASM_PAGE_BYTES = 64 * 1024

export function pageAlignedSharedBuffer (size: number): SharedArrayBuffer {
  if (size > 0 && size % WASM_PAGE_BYTES === 0) {
    try {
      const pages = size / WASM_PAGE_BYTES
      return new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true }).buffer as unknown as SharedArrayBuffer
    } catch {
      // fall through: unaligned memory still works, only without direct I/O
    }
  }
  return new SharedArrayBuffer(size)
}
