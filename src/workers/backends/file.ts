// The file store: each image is one file named by its id in the store's directory. Data is
// written to a hidden temporary file (with direct I/O where it can: direct-file.ts), fsynced,
// then renamed into place, so a crash or a failed upload never leaves a file that looks
// complete.

import { open, rename, unlink, access, readdir, type FileHandle } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { FileStoreConfig } from '../../config/load.js'
import { isAllZero, storeError, type Backend, type ImageReader, type ImageWriter } from './backend.js'
import { openTempFile, type TempFile } from './direct-file.js'

export function fileBackend (config: FileStoreConfig): Backend {
  const zeros = new Uint8Array(16 * 1024 * 1024)

  function finalPath (imageId: string): string {
    return join(config.dir, imageId)
  }

  async function createWriter (imageId: string): Promise<ImageWriter> {
    const target = finalPath(imageId)
    if (await exists(target)) throw storeError('EEXIST', `Image ${imageId} already has data in ${config.dir}`)
    const temp = join(config.dir, `.${imageId}.${randomBytes(4).toString('hex')}.partial`)
    let file: TempFile
    try {
      file = await openTempFile(temp, { direct: config.directIo })
    } catch (err) {
      throw describe(err, config.dir)
    }
    return {
      async write (bytes, offset) {
        if (config.thin && isAllZero(bytes, zeros)) return
        try {
          await file.write(bytes, offset)
        } catch (err) {
          throw describe(err, config.dir)
        }
      },
      async commit (size) {
        try {
          if (config.thin) await file.truncate(size)
          await file.sync()
          await file.close()
          await rename(temp, target)
          await syncDirectory(config.dir)
        } catch (err) {
          throw describe(err, config.dir)
        }
        return { url: pathToFileURL(target).href, metadata: {} }
      },
      async abort () {
        await file.close().catch(() => {})
        await unlink(temp).catch(() => {})
      }
    }
  }

  async function openReader (imageId: string, url: string): Promise<ImageReader> {
    const path = url.startsWith('file://') ? fileURLToPath(url) : finalPath(imageId)
    let file: FileHandle
    try {
      file = await open(path, 'r')
    } catch (err) {
      if ((err as { code?: string }).code === 'ENOENT') throw storeError('ENOENT', `no data for image ${imageId} in ${config.dir}`)
      throw describe(err, config.dir)
    }
    const { size } = await file.stat()
    return {
      size,
      async read (bytes, offset) {
        const { bytesRead } = await file.read(bytes, 0, bytes.byteLength, offset)
        return bytesRead
      },
      close: async () => { await file.close() }
    }
  }

  async function remove (imageId: string, url: string): Promise<void> {
    const path = url.startsWith('file://') ? fileURLToPath(url) : finalPath(imageId)
    await unlink(path).catch((err) => { if (err.code !== 'ENOENT') throw describe(err, config.dir) })
  }

  // Uploads write `.<id>.<random>.partial` and rename it to `<id>` once durable.
  const PARTIAL = /^\.([0-9a-f-]{36})\.[0-9a-f]+\.partial$/
  const FINAL = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

  async function list (): Promise<string[]> {
    const ids = new Set<string>()
    for (const name of await readdir(config.dir).catch((err) => { throw describe(err, config.dir) })) {
      const id = FINAL.test(name) ? name : PARTIAL.exec(name)?.[1]
      if (id !== undefined) ids.add(id)
    }
    return [...ids]
  }

  async function purge (imageId: string): Promise<void> {
    for (const name of await readdir(config.dir).catch((err) => { throw describe(err, config.dir) })) {
      if (name === imageId || PARTIAL.exec(name)?.[1] === imageId) {
        await unlink(join(config.dir, name)).catch((err) => { if (err.code !== 'ENOENT') throw describe(err, config.dir) })
      }
    }
  }

  return { createWriter, openReader, remove, purge, list, close: async () => {} }
}

async function exists (path: string): Promise<boolean> {
  try { await access(path); return true } catch { return false }
}

async function syncDirectory (dir: string): Promise<void> {
  const handle = await open(dir, 'r')
  try { await handle.sync() } finally { await handle.close() }
}

/** Turns an fs error into a store error with a message an operator can act on. */
function describe (err: unknown, dir: string): Error {
  const code = (err as { code?: string }).code
  switch (code) {
    case 'ENOENT': return storeError('GLINT_STORE_UNAVAILABLE', `store directory ${dir} does not exist`)
    case 'ENOSPC': case 'EDQUOT': case 'EFBIG': return storeError('ENOSPC', `no space left in store directory ${dir}`)
    case 'EACCES': case 'EPERM': case 'EROFS': return storeError('EACCES', `no permission to write in store directory ${dir}`)
    default: return err as Error
  }
}
