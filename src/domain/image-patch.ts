// What a JSON patch may do to an image (Glance's ImagesController._do_add/_do_replace/
// _do_remove, section 1.6). Every change is checked and applied to a copy in memory; the
// result is one set of changes for a single save, so a failing patch changes nothing.

import { Errors } from '../errors.js'
import type { Config } from '../config/load.js'
import type { ImageChanges, ImageRecord } from '../registry/images.js'
import type { PatchOp } from './json-patch.js'
import { assertStorable } from './storable.js'
import {
  BASE_COLUMNS, assertPropertyName, assertTagsValid, assertWritable,
  countedProperties, schemaViolation
} from './image.js'

/** Attributes of the image itself: they always exist, so replace sets them and remove is refused. */
const ATTRIBUTES = new Set([...BASE_COLUMNS, 'tags'])
/** The formats describe the data: fixed once data arrives (domain Image setters). */
export const FORMAT_ATTRIBUTES = new Set(['disk_format', 'container_format'])
export const FORMAT_MUTABLE_STATUSES = ['queued', 'importing']

/**
 * The checks Glance's deserializer makes before it loads the image: 403 for attributes no
 * client may write, 400 for values the image schema refuses.
 */
export function assertChangeAllowed (change: PatchOp): void {
  const root = change.path[0]
  if (root === 'id') throw Errors.readOnly(root)
  if (root !== 'locations') assertWritable(root)
  if (change.op === 'remove') return
  if (root === 'locations') {
    const why = locationsViolation(change.path.length === 1 ? change.value : [change.value])
    if (why !== undefined) throw Errors.schemaInvalid(why)
    return
  }
  assertPropertyName(root)
  const why = schemaViolation(root, change.value)
  if (why !== undefined) throw Errors.schemaInvalid(why)
  assertStorable(root, change.value)
}

/** The `locations` schema: a list of {url (string, at most 255), metadata (object)}. */
function locationsViolation (value: unknown): string | undefined {
  if (!Array.isArray(value)) return `${JSON.stringify(value)} is not of type 'array'`
  for (const item of value) {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) return `${JSON.stringify(item)} is not of type 'object'`
    for (const key of ['url', 'metadata']) if (!Object.hasOwn(item, key)) return `'${key}' is a required property`
    const { url, metadata } = item as { url: unknown, metadata: unknown }
    if (typeof url !== 'string') return `${JSON.stringify(url)} is not of type 'string'`
    if ([...url].length > 255) return `${JSON.stringify(url)} is too long`
    if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) return `${JSON.stringify(metadata)} is not of type 'object'`
    if (Object.hasOwn(item, 'validation_data')) {
      const why = validationDataViolation((item as { validation_data: unknown }).validation_data)
      if (why !== undefined) return why
    }
  }
  return undefined
}

/** validation_data: {checksum (32), os_hash_algo (at most 64), os_hash_value (at most 128)}, algo and value required, nothing else. */
const VALIDATION_DATA: Record<string, { min?: number, max: number }> = { checksum: { min: 32, max: 32 }, os_hash_algo: { max: 64 }, os_hash_value: { max: 128 } }
function validationDataViolation (data: unknown): string | undefined {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return `${JSON.stringify(data)} is not of type 'object'`
  for (const [key, value] of Object.entries(data)) {
    const rule = VALIDATION_DATA[key]
    if (rule === undefined) return `Additional properties are not allowed ('${key}' was unexpected)`
    if (typeof value !== 'string') return `${JSON.stringify(value)} is not of type 'string'`
    if (rule.min !== undefined && [...value].length < rule.min) return `${JSON.stringify(value)} is too short`
    if ([...value].length > rule.max) return `${JSON.stringify(value)} is too long`
  }
  for (const key of ['os_hash_algo', 'os_hash_value']) if (!Object.hasOwn(data, key)) return `'${key}' is a required property`
  return undefined
}

/** Applies `changes` in order to a copy of `image` and returns what one save must write. */
export function applyPatch (image: ImageRecord, changes: PatchOp[], config: Config): ImageChanges {
  const columns: Record<string, unknown> = {}
  // A Map: property names come from clients ("__proto__" is a valid one)
  const properties = new Map(Object.entries(image.properties))
  let tags: string[] | undefined

  const exists = (name: string): boolean => ATTRIBUTES.has(name) || properties.has(name)
  const set = (name: string, value: unknown): void => {
    if (name === 'tags') tags = assertTagsValid(value, config.quotas.tags)
    else if (FORMAT_ATTRIBUTES.has(name) && !FORMAT_MUTABLE_STATUSES.includes(image.status)) throw Errors.formatLocked(name)
    else if (ATTRIBUTES.has(name)) columns[name] = value
    // null is valid only for the nullable schema properties (kernel_id, ramdisk_id): stored as not set
    else if (value === null) properties.delete(name)
    else properties.set(name, value as string)
  }

  for (const change of changes) {
    const name = change.path[0]
    // the location layer applies those (location-patch.ts) and saves them with the rest
    if (name === 'locations') continue
    switch (change.op) {
      case 'replace':
        if (!exists(name)) throw Errors.propertyMissing(name)
        set(name, change.value)
        break
      case 'add':
        // v2.0 (draft 4) add means "create"; v2.1 (RFC 6902) add overwrites
        if (change.draft === 4 && exists(name)) throw Errors.propertyExists(name)
        set(name, change.value)
        break
      case 'remove':
        if (ATTRIBUTES.has(name)) throw Errors.cannotRemove(name)
        if (!properties.delete(name)) throw Errors.propertyMissing(name)
        break
    }
  }

  const before = image.properties
  const setProperties: Record<string, string> = Object.create(null)
  let added = false
  for (const [name, value] of properties) {
    if (!Object.hasOwn(before, name)) added = true
    if (before[name] !== value || !Object.hasOwn(before, name)) setProperties[name] = value
  }
  // Glance checks the quota only when a patch adds properties, so one may still remove some
  const max = config.quotas.properties
  const count = countedProperties(properties.keys())
  if (added && max >= 0 && count > max) throw Errors.tooManyProperties(count, max)
  const removeProperties = Object.keys(before).filter((name) => !properties.has(name))
  return { columns, setProperties, removeProperties, tags }
}
