// The format layer for uploads: inspects the data's headers as they stream past
// (src/domain/format-inspector.ts) and refuses content that is unsafe, or not the declared
// disk_format, as soon as the headers say so, before the rest is stored. An image whose
// format matched gets its virtual size. Inspection applies to `bare` containers, as in
// Glance (an ova or docker container holds other data); it starts nothing, so it undoes
// nothing: a refusal is an error thrown into the layers around it, which undo their own.

import { Errors } from '../errors.js'
import { FormatInspector, formatVerdict, INSPECTABLE_FORMATS } from '../domain/format-inspector.js'
import type { UploadLayer } from './lifecycle.js'

export const formatLayer: UploadLayer = (next) => async (u) => {
  const inner = await next(u)
  const containerFormat = u.image.container_format
  if (containerFormat !== null && containerFormat !== 'bare') return inner
  const { requireMatch, vmdkAllowedTypes } = u.ctx.config.imageFormat
  const inspector = new FormatInspector({ vmdkAllowedTypes })
  const check = (): void => {
    const why = formatVerdict(u.image.disk_format, inspector.inspect(), requireMatch)
    if (why !== undefined) throw Errors.invalidImageData(why)
  }
  return {
    ...inner,
    write (chunk) {
      if (!inspector.done) {
        inspector.feed(chunk)
        if (inspector.done) check()
      }
      return inner.write(chunk)
    },
    async finish () {
      check()
      const found = inspector.inspect()
      const diskFormat = u.image.disk_format
      if (diskFormat !== null && INSPECTABLE_FORMATS.has(diskFormat)) {
        // A raw disk's virtual size is its data's size, whatever filesystem it holds.
        if (diskFormat === 'raw') u.virtualSize = u.received
        else if (found.format === diskFormat && found.virtualSize > 0) u.virtualSize = found.virtualSize
      }
      await inner.finish()
    }
  }
}
