// The innermost upload dispatch: opens the store session and streams into it. It undoes what
// it started: an unfinished session is aborted (the worker removes the partial data), data
// already durable is deleted from the store.

import { Errors } from '../errors.js'
import type { UploadDispatch } from './lifecycle.js'
import { UploadSession } from '../stores/upload.js'
import { deserializeError } from '../workers/protocol.js'

export const storeUpload: UploadDispatch = async (u) => {
  const store = u.store!
  // An image keeps the algorithm it was first hashed with (glance.location: os_hash_algo or the option)
  const hashAlgo = u.image.os_hash_algo ?? u.ctx.config.hashingAlgorithm
  const session = new UploadSession(store, u.ctx.hashers, u.image.id, Math.max(u.declaredSize, 0), hashAlgo)
  /** the session's finish, once started: an abort meanwhile must wait for it (the data may become durable) */
  let finishing: Promise<void> | undefined
  return {
    write (chunk) {
      u.received += chunk.byteLength
      return session.write(chunk)
    },
    onDrain: (fn) => session.onDrain(fn),
    onFailure: (fn) => session.onFailure((e) => fn(deserializeError(e))),
    async finish () {
      if (u.declaredSize >= 0 && u.received !== u.declaredSize) throw Errors.sizeMismatch(u.received, u.declaredSize)
      finishing = session.finish().then((result) => { u.result = result })
      await finishing
    },
    async abort () {
      await finishing?.catch(() => {})
      if (u.result === undefined) { await session.abort(); return }
      await store.run({ op: 'delete', imageId: u.image.id, url: u.result.url }).catch((err) => {
        u.ctx.log.error({ err, imageId: u.image.id, store: store.id }, 'could not remove the data of a failed upload')
      })
    }
  }
}
