// An image as the API shows it, in JSON text. A record from the registry read cache is frozen
// and handed to every request that reads it (src/registry/read-cache.ts): its text is made once
// per way of showing it (formatImage differs for admins only) and kept with the record.

import type { Config } from '../config/load.js'
import type { Identity } from '../identity.js'
import type { ImageRecord } from '../registry/images.js'
import { formatImage } from '../domain/image.js'

const texts = new WeakMap<ImageRecord, { admin?: string, member?: string }>()

export function imageJson (image: ImageRecord, config: Config, who: Identity): string {
  if (!Object.isFrozen(image)) return JSON.stringify(formatImage(image, config, who))
  let known = texts.get(image)
  if (known === undefined) { known = {}; texts.set(image, known) }
  const key = who.isAdmin ? 'admin' : 'member'
  return (known[key] ??= JSON.stringify(formatImage(image, config, who)))
}

/** The list page's body, with the images' texts as they are. */
export function imageListJson (images: ImageRecord[], config: Config, who: Identity, first: string, next: string | undefined): string {
  const parts = images.map((image) => imageJson(image, config, who))
  const tail = next === undefined ? '' : `,"next":${JSON.stringify(next)}`
  return `{"images":[${parts.join(',')}],"first":${JSON.stringify(first)},"schema":"/v2/schemas/images"${tail}}`
}
