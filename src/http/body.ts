// Reads a small request body (JSON documents) with a hard size limit. Image data never
// comes through here: it streams through src/http/upload.ts.

import { Errors } from '../errors.js'
import type { Exchange } from './exchange.js'
import { assertJsonDepth } from '../domain/json-depth.js'

/** Must be called synchronously from the route handler (uWS drops data with no listener). */
export function readSmallBody (ex: Exchange, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const refuse = (): void => reject(Errors.bodyTooLarge(limit))
    // A connection that closes after the answer must have read the whole body first, or the
    // client gets a reset instead of the answer: then a body over the limit is read and dropped.
    let over = Number(ex.headers['content-length'] ?? -1) > limit
    if (over && !ex.closeConnection) { refuse(); return }
    const parts: Buffer[] = []
    let total = 0
    ex.onAbort(() => reject(Object.assign(new Error('client aborted'), { code: 'GLINT_ABORTED' })))
    ex.onData((chunk, isLast) => {
      total += chunk.byteLength
      if (total > limit) over = true
      if (over) { if (isLast || !ex.closeConnection) refuse(); return }
      // The ArrayBuffer is detached when this callback returns: copy it now.
      if (chunk.byteLength > 0) parts.push(Buffer.from(new Uint8Array(chunk)))
      if (isLast) resolve(parts.length === 1 ? parts[0] : Buffer.concat(parts, total))
    })
  })
}

export function parseJson (raw: Buffer): unknown {
  if (raw.length === 0) throw Errors.bodyExpected()
  assertJsonDepth(raw)
  let value: unknown
  try {
    value = JSON.parse(raw.toString('utf8'))
  } catch {
    throw Errors.malformedJson()
  }
  if (typeof value !== 'object' || value === null) throw Errors.unexpectedBodyType()
  return value
}
