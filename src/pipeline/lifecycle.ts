// The upload lifecycle: a fixed, named sequence of hooks that every layer may implement,
// run in layer order and stopped by the first error (the fastify hooks model).
//
//   beforeUpload  once, before any byte is accepted  (policy, quota, location: pick store, queued -> saving)
//   onChunk       per chunk, synchronous, allocation-free (quota: size cap and storage quota)
//   afterUpload   once, all bytes durable in the store  (quota: re-check, location: record, saving -> active)
//   onFailure     once, on any error or client abort    (location: saving -> queued)

import type { AppContext } from '../context.js'
import type { Exchange } from '../http/exchange.js'
import type { ImageRecord } from '../registry/images.js'
import type { Store } from '../stores/stores.js'
import type { UploadResult } from '../workers/protocol.js'
import type { GlintError } from '../errors.js'

export interface Upload {
  readonly ctx: AppContext
  readonly ex: Exchange
  readonly image: ImageRecord
  /** Content-Length, or -1 for a chunked body of unknown size. */
  readonly declaredSize: number
  /** Set by the location layer from X-Image-Meta-Store or the default store. */
  store?: Store
  /** Bytes accepted so far. */
  received: number
  /** Set by the quota layer: the most bytes this upload may have, and the error past it. */
  limit: number
  limitError?: GlintError
  result?: UploadResult
}

export interface UploadLayer {
  readonly name: string
  beforeUpload?: (u: Upload) => void | Promise<void>
  onChunk?: (u: Upload, bytes: number) => void
  afterUpload?: (u: Upload) => void | Promise<void>
  onFailure?: (u: Upload, err: unknown) => void | Promise<void>
}

export interface UploadPipeline {
  beforeUpload: (u: Upload) => Promise<void>
  onChunk: (u: Upload, bytes: number) => void
  afterUpload: (u: Upload) => Promise<void>
  /** Runs every layer's onFailure; one failing does not stop the others. */
  onFailure: (u: Upload, err: unknown) => Promise<void>
}

export function uploadPipeline (layers: UploadLayer[]): UploadPipeline {
  const before = layers.flatMap((l) => l.beforeUpload ?? [])
  const chunk = layers.flatMap((l) => l.onChunk ?? [])
  const after = layers.flatMap((l) => l.afterUpload ?? [])
  const failure = layers.flatMap((l) => l.onFailure ?? [])
  return {
    async beforeUpload (u) { for (const hook of before) await hook(u) },
    onChunk (u, bytes) { for (let i = 0; i < chunk.length; i++) chunk[i](u, bytes) },
    async afterUpload (u) { for (const hook of after) await hook(u) },
    async onFailure (u, err) { for (const hook of failure) await Promise.resolve(hook(u, err)).catch(() => {}) }
  }
}
