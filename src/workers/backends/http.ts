// The http store (glance_store's, read-only): the data of http(s) locations, fetched through
// src/stores/http-store.ts (every URL and redirect checked against [import_filtering_opts]).
// Reads come in order from one GET; a read elsewhere opens a new GET from there (a Range).
// Nothing is ever written or removed: the data is not Glint's.

import type { ImportFiltering } from '../../config/load.js'
import { httpSize, openHttpStream } from '../../stores/http-store.js'
import { storeError, type Backend, type ImageReader } from './backend.js'

export function httpBackend (filtering: ImportFiltering): Backend {
  async function openReader (_imageId: string, url: string): Promise<ImageReader> {
    const size = await httpSize(url, filtering)
    let stream: Awaited<ReturnType<typeof openHttpStream>> | undefined
    let position = 0
    let queue: Promise<unknown> = Promise.resolve()
    const readAt = async (bytes: Uint8Array, offset: number): Promise<number> => {
      if (stream === undefined || offset !== position) {
        stream?.close()
        stream = await openHttpStream(url, filtering, offset)
        position = offset
      }
      const n = await stream.read(bytes)
      position += n
      return n
    }
    return {
      size,
      // reads arrive in order, several in flight: each waits for the one before on the one stream
      read (bytes, offset) {
        const next = queue.then(async () => await readAt(bytes, offset))
        queue = next.catch(() => {})
        return next
      },
      close: async () => { stream?.close() }
    }
  }
  const readOnly = (): never => { throw storeError('GLINT_READ_ONLY', 'the http store is read-only') }
  return {
    createWriter: async () => readOnly(),
    openReader,
    remove: async () => {},
    purge: async () => {},
    list: async () => [],
    close: async () => {}
  }
}
