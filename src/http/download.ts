// GET /v2/images/{id}/file: streamed from the first store that can serve it, with a single
// byte range supported on every store (Glance refuses ranges on RBD with 400).

import type { AppContext } from '../context.js'
import { Errors } from '../errors.js'
import type { Exchange } from './exchange.js'
import { run, targetImage } from '../pipeline/index.js'
import { storeFailure } from '../stores/image-data.js'
import { orderedLocations } from '../domain/location-strategy.js'

export interface ByteRange { start: number, end: number }

/** RFC 7233 single range (`bytes=a-b`, `bytes=a-`, `bytes=-n`) or Glance's legacy Content-Range. */
export function parseRange (ex: Exchange, size: number): ByteRange | undefined {
  const range = ex.headers.range
  const legacy = ex.headers['content-range']
  if (range === undefined && legacy === undefined) return undefined
  if (range !== undefined) {
    const spec = /^\s*bytes\s*=\s*(.*)$/i.exec(range)
    if (spec === null) throw Errors.rangeNotSatisfiable(range)
    if (spec[1].includes(',')) throw Errors.multipleRanges()
    const m = /^(\d*)-(\d*)$/.exec(spec[1].trim())
    if (m === null || (m[1] === '' && m[2] === '')) throw Errors.rangeNotSatisfiable(range)
    if (m[1] === '') {
      const suffix = Number(m[2])
      if (suffix === 0 || size === 0) throw Errors.rangeNotSatisfiable(range)
      return { start: Math.max(0, size - suffix), end: size - 1 }
    }
    const start = Number(m[1])
    const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1)
    if (start >= size || start > end) throw Errors.rangeNotSatisfiable(range)
    return { start, end }
  }
  const m = /^\s*bytes\s+(\d+)-(\d+)\/(\d+|\*)\s*$/i.exec(legacy!)
  if (m === null) throw Errors.rangeNotSatisfiable(legacy!)
  const start = Number(m[1])
  const end = Math.min(Number(m[2]), size - 1)
  if (start >= size || start > end) throw Errors.rangeNotSatisfiable(legacy!)
  return { start, end }
}

export async function sendImageData (ex: Exchange, ctx: AppContext): Promise<void> {
  const { image, sent } = await run({
    kind: 'image.download', ctx, identity: ex.identity, requestId: ex.requestId,
    image: await targetImage(ctx, ex.identity, ex.params[0])
  })
  if (image.locations.length === 0 || image.status !== 'active' && image.status !== 'deactivated') {
    ex.empty(204)
    return
  }
  const size = image.size ?? 0
  const range = parseRange(ex, size)
  const headers: Record<string, string> = { 'Content-Type': 'application/octet-stream' }
  if (image.checksum !== null) headers['Content-MD5'] = image.checksum
  if (size === 0) {
    ex.send(200, '', headers)
    return
  }
  const status = range === undefined ? 200 : 206
  const offset = range?.start ?? 0
  const length = range === undefined ? size : range.end - range.start + 1
  if (range !== undefined) headers['Content-Range'] = `bytes ${range.start}-${range.end}/${size}`

  const sink = {
    res: ex.res,
    writeHead: () => ex.writeHead(status, headers),
    stalls: ctx.stalledWrites,
    onAbort: (fn: () => void) => ex.onAbort(fn)
  }
  // this node's cached copy first; a copy that fails before a byte went out falls back to the stores
  const cached = await ctx.imageCache?.lookup(image)
  const sources = orderedLocations(image.locations, ctx.config.locationStrategy).map((location) => ({ store: ctx.stores.get(location.store), url: location.url }))
  if (cached !== undefined) sources.unshift(cached)

  let lastError: unknown
  for (const { store, url } of sources) {
    if (store === undefined) continue
    try {
      const bytes = await ctx.downloads.stream(store, image.id, url, size, offset, length, sink)
      ex.bytesSent = bytes
      sent(bytes, ex.aborted ? new Error('client disconnected') : undefined)
      if (!ex.aborted) ex.complete()
      if (range === undefined && store !== cached?.store && !ex.aborted) ctx.imageCache?.served(image)
      return
    } catch (err) {
      // Once bytes went out the response cannot change: cut the connection, the client sees a short body.
      if ((err as { headSent?: boolean }).headSent === true) {
        ex.error = err
        if (!ex.aborted) ex.res.close()
        return
      }
      // no data in this store (ENOENT): try the next; nothing anywhere answers 204 below
      lastError = (err as { code?: string }).code === 'ENOENT' ? undefined : storeFailure(store, err)
    }
  }
  if (lastError !== undefined) throw lastError
  ex.empty(204)
}
