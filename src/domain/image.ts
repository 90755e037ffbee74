// An image as Glance shows it (section 1.2) and the rules for what a client may set on it.

import { Errors } from '../errors.js'
import type { Config } from '../config/load.js'
import type { Identity } from '../identity.js'
import type { ImageRecord } from '../registry/images.js'
import { IMAGE_PROPERTIES, violation } from './schemas.js'
import { orderedLocations } from './location-strategy.js'

/** Set only by the server: present in a request body they answer 403. */
export const READ_ONLY = new Set(['status', 'checksum', 'size', 'virtual_size', 'created_at', 'updated_at', 'os_hash_algo', 'os_hash_value'])
export const DISALLOWED = new Set(['direct_url', 'self', 'file', 'schema', 'stores'])
export const RESERVED = new Set(['location', 'deleted', 'deleted_at', 'locations'])
export const BASE_COLUMNS = new Set(['name', 'visibility', 'protected', 'os_hidden', 'disk_format', 'container_format', 'min_disk', 'min_ram', 'owner'])
/** Extra properties the server keeps hidden from clients. */
const HIDDEN_PROPERTIES = new Set(['os_glance_stage_host'])

export function isoTime (d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z')
}

export function formatImage (image: ImageRecord, config: Config, who: Identity): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const key in image.properties) if (!HIDDEN_PROPERTIES.has(key)) out[key] = image.properties[key]
  Object.assign(out, {
    id: image.id,
    name: image.name,
    status: image.status,
    visibility: image.visibility,
    size: image.size,
    virtual_size: image.virtual_size,
    checksum: image.checksum,
    protected: image.protected,
    min_ram: image.min_ram,
    min_disk: image.min_disk,
    owner: image.owner,
    os_hidden: image.os_hidden,
    os_hash_algo: image.os_hash_algo,
    os_hash_value: image.os_hash_value,
    disk_format: image.disk_format,
    container_format: image.container_format,
    created_at: isoTime(image.created_at),
    updated_at: isoTime(image.updated_at),
    tags: image.tags,
    self: `/v2/images/${image.id}`,
    file: `/v2/images/${image.id}/file`,
    schema: '/v2/schemas/image'
  })
  const hideLocations = image.status === 'deactivated' && !who.isAdmin
  const locations = hideLocations ? [] : image.locations
  if (config.showMultipleLocations) out.locations = locations.map((l) => ({ url: l.url, metadata: l.metadata }))
  // the location read first (location_strategy); `locations` and `stores` keep the order the copies were made in
  if (config.showImageDirectUrl && locations.length > 0) out.direct_url = orderedLocations(locations, config.locationStrategy)[0].url
  if (image.locations.length > 0) out.stores = image.locations.map((l) => l.store).join(',')
  return out
}

/** Why a value cannot be set on `key`, as Glance's schema would say; undefined if it can. */
export function schemaViolation (key: string, value: unknown): string | undefined {
  const known = Object.hasOwn(IMAGE_PROPERTIES, key)
  const schema = known ? IMAGE_PROPERTIES[key] : { type: 'string' }
  // jsonschema names the failing instance last; for extra properties that is the only place the key appears
  const where = `${known ? `schema['properties']['${key}']` : "schema['additionalProperties']"}\n\nOn instance['${key}']:\n    ${JSON.stringify(value)}`
  const why = violation(value, schema)
  if (why !== undefined) return `${why}\n\nFailed validating '${failedKeyword(value, schema)}' in ${where}`
  if ((key === 'min_ram' || key === 'min_disk') && (value as number) < 0) {
    return `${value} is less than the minimum of 0\n\nFailed validating 'minimum' in ${where}`
  }
  return undefined
}

/** Extra property names are stored in a 255-character column. */
export function assertPropertyName (key: string): void {
  if (key.length > 255) throw Errors.schemaInvalid(`Property name '${key.slice(0, 40)}...' is longer than 255 characters`)
}

function failedKeyword (value: unknown, schema: any): string {
  if (violation(value, { type: schema.type }) !== undefined) return 'type'
  if (schema.enum !== undefined && !schema.enum.includes(value)) return 'enum'
  if (typeof value === 'string' && schema.maxLength !== undefined && value.length > schema.maxLength) return 'maxLength'
  return schema.pattern !== undefined ? 'pattern' : 'items'
}

/** Throws the 403 Glance gives for an attribute no client may write. */
export function assertWritable (key: string): void {
  if (READ_ONLY.has(key) || DISALLOWED.has(key)) throw Errors.readOnly(key)
  if (RESERVED.has(key) || key.startsWith('os_glance')) throw Errors.reserved(key)
}

export function assertTagsValid (tags: unknown, max: number): string[] {
  const why = schemaViolation('tags', tags)
  if (why !== undefined) throw Errors.schemaInvalid(why)
  const unique = [...new Set(tags as string[])]
  if (max >= 0 && unique.length > max) throw Errors.tooManyTags(unique.length, max)
  return unique
}

/** Extra properties that count against image_property_quota (the os_glance namespace is the server's). */
export function countedProperties (names: Iterable<string>): number {
  let n = 0
  for (const name of names) if (!name.startsWith('os_glance')) n++
  return n
}
