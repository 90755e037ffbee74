// The upload lifecycle in the interceptor shape (undici's `dispatch => (opts, handler) => ...`).
// A layer is a function of the next dispatch; the dispatch it returns does the layer's own
// before-step, calls `next`, and wraps the sink `next` returned with its own per-chunk,
// finish and undo steps:
//
//   const layer: UploadLayer = (next) => async (u) => {
//     await before(u)                 // throws: nothing of ours to undo, next never ran
//     let inner
//     try { inner = await next(u) } catch (err) { await undoBefore(u); throw err }
//     return { ...inner, finish: ..., abort: async (err) => { await inner.abort(err); await undoBefore(u) } }
//   }
//
// So each layer undoes only what it itself started: the loser of the location layer's
// queued -> saving compare-and-set throws before it owns anything, and never touches the
// winner's image. The innermost dispatch (stores/upload-sink.ts) opens the store session.

import type { AppContext } from '../context.js'
import type { Identity } from '../identity.js'
import type { ImageRecord } from '../registry/images.js'
import type { Store } from '../stores/stores.js'
import type { UploadResult } from '../workers/protocol.js'
import type { GlintError } from '../errors.js'

export interface Upload {
  readonly ctx: AppContext
  readonly identity: Identity
  readonly image: ImageRecord
  /** X-Image-Meta-Store, when the client named a store. */
  readonly storeId: string | undefined
  /** PUT .../stage: the data goes into the staging store for a later glance-direct import. */
  readonly staging?: boolean
  /** Content-Length, or -1 for a chunked body of unknown size. */
  readonly declaredSize: number
  /** Set by the location layer from storeId or the default store. */
  store?: Store
  /** Bytes accepted so far (counted by the innermost sink). */
  received: number
  /** Set by the quota layer: the most bytes this upload may have, and the error past it. */
  limit: number
  limitError?: GlintError
  /** Set by the format layer when the content's headers gave the disk's virtual size. */
  virtualSize?: number
  /** Set once the data is durable in the store. */
  result?: UploadResult
}

/** What a dispatched upload gives back: where its bytes go, and how it ends. */
export interface UploadSink {
  /** Per chunk, synchronous, allocation-free; throws to refuse; false when the window is full (pause). */
  write: (chunk: Uint8Array) => boolean
  /** Calls fn once the window has room again. */
  onDrain: (fn: () => void) => void
  /** A store failure that happened between chunks: the caller stops and aborts. */
  onFailure: (fn: (err: Error) => void) => void
  /** Every byte has arrived: make it durable and commit it. Throws: call abort(err). */
  finish: () => Promise<void>
  /** Any error or client abort (a failed finish included): each layer undoes what it did. Never throws. */
  abort: (err: unknown) => Promise<void>
}

export type UploadDispatch = (u: Upload) => Promise<UploadSink>
export type UploadLayer = (next: UploadDispatch) => UploadDispatch

/** layers[0] is outermost: it runs its before-step first and its undo last. */
export function composeUpload (layers: UploadLayer[], innermost: UploadDispatch): UploadDispatch {
  return layers.reduceRight<UploadDispatch>((next, layer) => layer(next), innermost)
}
