// Copies an image's data from one store to another (the copy-image import): the source
// store's worker reads ahead, the main thread copies each buffer once into the target's
// upload session (which hashes it again on the way), and the copy is only kept when its
// checksums equal the image's.

import { MessageChannel } from 'node:worker_threads'
import type { Store } from './stores.js'
import type { Hashers } from './hashers.js'
import { UploadSession } from './upload.js'
import { downloadBuffers } from './buffer-pool.js'
import { deserializeError, type DownloadMessage, type UploadResult } from '../workers/protocol.js'

const READ_BUFFER_BYTES = 4 * 1024 * 1024
const READ_AHEAD = 4

/** `image.hashAlgo`: the image's os_hash_algo, so the copy's digest compares with the image's. */
export async function copyImageData (from: Store, url: string, to: Store, hashers: Hashers,
  image: { id: string, size: number, hashAlgo: string }): Promise<UploadResult> {
  const session = new UploadSession(to, hashers, image.id, image.size, image.hashAlgo)
  if (image.size === 0) return await session.finish()
  const { port1: port, port2 } = new MessageChannel()
  let failed: Error | undefined
  try {
    await new Promise<void>((resolve, reject) => {
      let received = 0
      const fail = (err: Error): void => { failed ??= err; port.close(); reject(err) }
      session.onFailure((e) => fail(deserializeError(e)))
      port.on('message', (message: DownloadMessage) => {
        if (failed !== undefined) return
        if (message.type === 'error') { fail(deserializeError(message.error)); return }
        from.traffic.bytesOut += message.length
        session.write(new Uint8Array(message.buffer, 0, message.length))
        received += message.length
        const lendBack = (): void => { if (failed === undefined && received < image.size) port.postMessage({ type: 'ack', buffer: message.buffer }, [message.buffer]) }
        // The target's window is full: read no further until it drains.
        session.onDrain(lendBack)
        if (received >= image.size) { port.close(); resolve() }
      })
      const buffers = Array.from({ length: READ_AHEAD }, () => downloadBuffers.take(READ_BUFFER_BYTES))
      port.postMessage({ type: 'start', buffers }, buffers)
      from.run({ op: 'download', port: port2, imageId: image.id, url, offset: 0, length: image.size }, [port2])
        .catch((err) => fail(err))
    })
    return await session.finish()
  } catch (err) {
    await session.abort()
    throw err
  }
}
