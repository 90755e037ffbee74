// Request bodies nested deeper than any Glance document needs are refused before they are
// parsed: every later step that walks a value (schema checks, error messages that echo it)
// recurses, and 5,000 levels overflow the stack.

import { Errors } from '../errors.js'

export const MAX_JSON_DEPTH = 64

const OPEN_BRACE = 0x7b
const OPEN_BRACKET = 0x5b
const CLOSE_BRACE = 0x7d
const CLOSE_BRACKET = 0x5d
const QUOTE = 0x22
const BACKSLASH = 0x5c

/** One pass over the raw bytes, counting brackets outside strings. */
export function assertJsonDepth (raw: Uint8Array, max = MAX_JSON_DEPTH): void {
  let depth = 0
  let inString = false
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]
    if (inString) {
      if (c === BACKSLASH) i++
      else if (c === QUOTE) inString = false
    } else if (c === QUOTE) {
      inString = true
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > max) throw Errors.jsonTooDeep(max)
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--
    }
  }
}
