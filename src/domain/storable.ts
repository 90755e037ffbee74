// What the registry can hold, checked before anything reaches it: PostgreSQL text cannot
// contain NUL, min_ram/min_disk are 4-byte integers (as in Glance's schema), and an extra
// property's value is at most 65,535 characters (Glance's TEXT column).

import { Errors } from '../errors.js'

export const MAX_INT32 = 2 ** 31 - 1
export const MAX_PROPERTY_VALUE_LENGTH = 65535
const INT32_COLUMNS = new Set(['min_ram', 'min_disk'])
/** Attributes that are not free-form extra properties (their length is the schema's concern). */
const NOT_EXTRA = new Set(['name', 'visibility', 'protected', 'os_hidden', 'disk_format', 'container_format', 'min_disk', 'min_ram', 'owner', 'tags', 'id'])

export function hasNul (text: string): boolean {
  return text.includes('\u0000')
}

/** Python's str.title(), which Glance's messages name a key with. */
function title (key: string): string {
  return key.toLowerCase().replace(/(^|[^a-z])([a-z])/g, (_, before: string, c: string) => before + c.toUpperCase())
}

export function assertStorableName (key: string): void {
  if (hasNul(key)) throw Errors.nulCharacter('Property names')
}

/** A value that passed the image schema: can the registry store it as given? */
export function assertStorable (key: string, value: unknown): void {
  assertStorableName(key)
  if (typeof value === 'string') {
    if (hasNul(value)) throw Errors.nulCharacter(title(key))
    // characters as Glance counts them: code points, not UTF-16 units
    if (!NOT_EXTRA.has(key) && value.length > MAX_PROPERTY_VALUE_LENGTH && [...value].length > MAX_PROPERTY_VALUE_LENGTH) {
      throw Errors.schemaInvalid(`The value of '${key}' is longer than ${MAX_PROPERTY_VALUE_LENGTH} characters`)
    }
  } else if (Array.isArray(value)) {
    if (value.some((item) => typeof item === 'string' && hasNul(item))) throw Errors.nulCharacter(title(key))
  } else if (typeof value === 'number' && INT32_COLUMNS.has(key) && value > MAX_INT32) {
    throw Errors.intOutOfRange(key)
  }
}
