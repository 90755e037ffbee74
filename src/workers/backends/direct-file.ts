// The file store's temporary image file, written with direct I/O (O_DIRECT) where it can be.
//
// Direct writes go from the upload buffer to the disk: no copy into the page cache, no
// writeback work later, and an upload does not push other data out of the cache. They need
// the memory, the offset and the length aligned to the disk's block size. Upload buffers are
// page-aligned (../aligned-memory.ts) and every chunk but the last is a whole buffer at a
// whole-buffer offset, so nearly every byte goes direct. What cannot goes through a second,
// buffered handle on the same file: the last chunk's unaligned tail, and everything once a
// direct write has been refused (EINVAL: unaligned memory, or a file system without direct
// I/O, where opening with O_DIRECT already fails).

import { constants } from 'node:fs'
import { open, type FileHandle } from 'node:fs/promises'

/** 4 KiB covers disks with 512-byte and 4 KiB sectors. */
const DIRECT_ALIGNMENT = 4096
/** Buffered bytes are flushed this often while the upload goes on, so commit waits only for the tail. */
const BACKGROUND_FLUSH_BYTES = 64 * 1024 * 1024

export interface TempFile {
  /** Writes all of `bytes` at `offset`. Several writes may be in flight. */
  write (bytes: Uint8Array, offset: number): Promise<void>
  truncate (size: number): Promise<void>
  /** Makes everything written durable. */
  sync (): Promise<void>
  close (): Promise<void>
}

/** `direct: false` (filesystem_store_direct_io = false) writes everything through the page cache. */
export async function openTempFile (path: string, opts: { direct: boolean }): Promise<TempFile> {
  let direct = opts.direct ? await openDirect(path) : undefined
  let buffered: Promise<FileHandle> | undefined
  if (direct === undefined) {
    buffered = open(path, 'wx', 0o640)
    await buffered
  }

  const bufferedHandle = async (): Promise<FileHandle> => (buffered ??= open(path, 'r+'))
  let unflushed = 0
  let flushing: Promise<void> | undefined

  const writeBuffered = async (bytes: Uint8Array, offset: number): Promise<void> => {
    const handle = await bufferedHandle()
    await writeAll(handle, bytes, offset)
    unflushed += bytes.byteLength
    if (flushing === undefined && unflushed >= BACKGROUND_FLUSH_BYTES) {
      unflushed = 0
      flushing = handle.datasync().catch(() => {}).finally(() => { flushing = undefined })
    }
  }

  const write = async (bytes: Uint8Array, offset: number): Promise<void> => {
    const alignedLength = bytes.byteLength - bytes.byteLength % DIRECT_ALIGNMENT
    const handle = direct
    if (handle === undefined || offset % DIRECT_ALIGNMENT !== 0 || alignedLength === 0) {
      await writeBuffered(bytes, offset)
      return
    }
    try {
      await writeAll(handle, bytes.subarray(0, alignedLength), offset)
    } catch (err) {
      if ((err as { code?: string }).code !== 'EINVAL') throw err
      // This memory cannot go direct; later buffers are no more likely to.
      if (direct === handle) { direct = undefined; await handle.close().catch(() => {}) }
      await writeBuffered(bytes, offset)
      return
    }
    if (alignedLength < bytes.byteLength) await writeBuffered(bytes.subarray(alignedLength), offset + alignedLength)
  }

  const anyHandle = async (): Promise<FileHandle> => direct ?? await bufferedHandle()

  return {
    write,
    truncate: async (size) => { await (await anyHandle()).truncate(size) },
    async sync () {
      await flushing
      // fsync covers the whole file, whichever handle wrote which part.
      await (await anyHandle()).sync()
    },
    async close () {
      await flushing
      const handles = [direct, buffered === undefined ? undefined : await buffered.catch(() => undefined)]
      direct = undefined
      buffered = undefined
      for (const handle of handles) await handle?.close()
    }
  }
}

/** The new file opened for direct writes, or undefined where the file system has no direct I/O. */
async function openDirect (path: string): Promise<FileHandle | undefined> {
  try {
    return await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_DIRECT, 0o640)
  } catch (err) {
    if ((err as { code?: string }).code === 'EINVAL') return undefined
    throw err
  }
}

async function writeAll (handle: FileHandle, bytes: Uint8Array, offset: number): Promise<void> {
  let done = 0
  while (done < bytes.byteLength) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.byteLength - done, offset + done)
    done += bytesWritten
  }
}
