// What a JSON patch may do to an image's locations (glance/api/v2/images.py
// _do_add_locations/_do_replace_locations/_do_remove_locations, _validate_validation_data,
// and glance/location.py's StoreLocations): the checks that need no store, in Glance's order,
// applied to a copy of the locations. Which URLs exist and how big they are is asked of the
// stores afterwards (src/pipeline/location.ts), for the locations this plan marks `fresh`.

import { createHash, getHashes } from 'node:crypto'
import { Errors } from '../errors.js'
import type { ImageRecord } from '../registry/images.js'
import type { PatchOp } from './json-patch.js'

export interface PlannedLocation {
  url: string
  metadata: Record<string, unknown>
  /** new on this image (or its URL set changed): its store must confirm it, with a size > 0 */
  fresh: boolean
  /** the store id, once known (kept from the registry for existing locations) */
  store?: string
}

export type ValidationData = Partial<Record<'checksum' | 'os_hash_algo' | 'os_hash_value', string>>

export interface LocationPlan {
  locations: PlannedLocation[]
  /** locations taken off the image: their data is removed from the store */
  removed: Array<{ store: string, url: string, metadata: Record<string, unknown> }>
  /** checksum / os_hash_* to set (only on a queued image) */
  validation: ValidationData
  /** a queued image given a location becomes active */
  activate: boolean
}

export interface LocationRules { showMultipleLocations: boolean, hashingAlgorithm: string, maxLocations: number }

export function isLocationChange (change: PatchOp): boolean {
  return change.path[0] === 'locations'
}

/** Glance compares url and metadata (Python dict equality: key order does not matter). */
export function sameLocation (a: { url: string, metadata: Record<string, unknown> }, b: { url: string, metadata: Record<string, unknown> }): boolean {
  return a.url === b.url && deepEqual(a.metadata, b.metadata)
}

function deepEqual (a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  if (Array.isArray(a) !== Array.isArray(b)) return false
  const ka = Object.keys(a)
  const kb = Object.keys(b)
  if (ka.length !== kb.length) return false
  return ka.every((k) => Object.hasOwn(b, k) && deepEqual((a as any)[k], (b as any)[k]))
}

/** _get_locations_op_pos: "-" or a decimal index; undefined when invalid. */
function position (token: string, length: number, forAdd: boolean): number | undefined {
  let pos = forAdd ? length : length - 1
  if (/^[0-9]+$/.test(token)) pos = Number(token)
  else if (token !== '-') return undefined
  if (!forAdd && !(pos >= 0 && pos < length)) return undefined
  // Python's list.insert clamps a position past the end
  return Math.min(pos, length)
}

const hexBytes = (value: string): number | undefined => /^(?:[0-9a-fA-F]{2})*$/.test(value) ? value.length / 2 : undefined

function digestSize (algo: string): number {
  const name = algo.replace(/^sha3_/, 'sha3-')
  return getHashes().includes(name) ? createHash(name).digest().length : -1
}

/** _validate_validation_data: what a queued image takes from validation_data; 409 on any conflict. */
function validationOf (image: ImageRecord, status: string, items: unknown[], hashingAlgorithm: string): ValidationData {
  const given: Record<string, string> = {}
  for (const item of items) {
    const data = (item as { validation_data?: Record<string, string> }).validation_data
    if (data === undefined) continue
    for (const [k, v] of Object.entries(data)) {
      if (Object.hasOwn(given, k) && given[k] !== v) throw Errors.validationConflict(`Conflicting values for ${k}`)
      given[k] = v
    }
  }
  const fresh: ValidationData = {}
  for (const [k, v] of Object.entries(given) as Array<[keyof ValidationData, string]>) {
    const current = image[k]
    if (v === current) continue
    if (current !== null && current !== '') throw Errors.validationConflict(`${k} is already set with a different value`)
    fresh[k] = v
  }
  const keys = Object.keys(fresh)
  if (keys.length === 0) return {}
  if (status !== 'queued') throw Errors.validationConflict(`New value(s) for ${keys.join(', ')} may only be provided when image status is 'queued'`)
  if (fresh.checksum !== undefined) {
    const n = hexBytes(fresh.checksum)
    if (n === undefined) throw Errors.validationConflict(`checksum (${fresh.checksum}) is not a valid hexadecimal value`)
    if (n !== 16) throw Errors.validationConflict(`checksum (${fresh.checksum}) is not the correct size for md5 (should be 16 bytes)`)
  }
  const algo = fresh.os_hash_algo
  if (algo !== hashingAlgorithm) throw Errors.validationConflict(`os_hash_algo must be ${hashingAlgorithm}, not ${String(algo)}`)
  const value = fresh.os_hash_value ?? ''
  const n = hexBytes(value)
  if (n === undefined) throw Errors.validationConflict(`os_hash_value (${value}) is not a valid hexadecimal value`)
  const want = digestSize(algo)
  if (n !== want) throw Errors.validationConflict(`os_hash_value (${value}) is not the correct size for ${algo} (should be ${want} bytes)`)
  return fresh
}

/** The metadata a location is kept with: the client's, without validation_data (write-only). */
function asPlanned (value: unknown): PlannedLocation {
  const { url, metadata } = value as { url: string, metadata: Record<string, unknown> }
  return { url, metadata: { ...metadata }, fresh: true }
}

/**
 * Applies the patch's location changes, in order, to the image's locations. The image's other
 * changes are the registry's (image-patch.ts); a failing change here changes nothing.
 */
export function planLocations (image: ImageRecord, changes: PatchOp[], rules: LocationRules): LocationPlan {
  let status = image.status
  let locations: PlannedLocation[] = image.locations.map((l) => ({ url: l.url, metadata: l.metadata, fresh: false, store: l.store }))
  const removed: LocationPlan['removed'] = []
  let validation: ValidationData = {}
  let activate = false
  const becomeActive = (data: ValidationData): void => {
    if (status !== 'queued') return
    validation = { ...validation, ...data }
    status = 'active'
    activate = true
  }

  for (const change of changes) {
    if (!isLocationChange(change)) continue
    switch (change.op) {
      case 'replace': {
        const value = change.value as unknown[]
        if (value.length === 0) throw Errors.locationsEmpty()
        if (!rules.showMultipleLocations) throw Errors.locationsHidden('update')
        if (status !== 'active' && status !== 'queued') throw Errors.locationsStatus('replace', status)
        const data = validationOf({ ...image, ...validation, status }, status, value, rules.hashingAlgorithm)
        const next = value.map(asPlanned)
        const urls = (ls: Array<{ url: string }>): string => JSON.stringify(ls.map((l) => l.url).sort())
        const sameUrls = urls(next) === urls(locations)
        if (locations.length > 0 && !sameUrls) {
          throw Errors.locationsChanged(JSON.stringify(locations.map((l) => ({ url: l.url, metadata: l.metadata }))))
        }
        if (sameUrls) {
          // only metadata changes: the same data, checked before; each URL keeps its store
          const stores = new Map(locations.map((l) => [l.url, l.store]))
          for (const l of next) { l.fresh = false; l.store = stores.get(l.url) }
        } else {
          for (const l of next) {
            if (next.filter((o) => sameLocation(o, l)).length > 1) throw Errors.duplicateLocation(l.url)
          }
        }
        if (rules.maxLocations >= 0 && next.length > rules.maxLocations) throw Errors.tooManyLocations(next.length, rules.maxLocations)
        locations = next
        becomeActive(data)
        break
      }
      case 'add': {
        if (!rules.showMultipleLocations) throw Errors.locationsHidden('add')
        if (status !== 'active' && status !== 'queued') throw Errors.locationsStatus('add', status)
        const data = validationOf({ ...image, ...validation, status }, status, [change.value], rules.hashingAlgorithm)
        const pos = position(change.path[1], locations.length, true)
        if (pos === undefined) throw Errors.locationPosition('adding')
        const added = asPlanned(change.value)
        if (locations.some((l) => sameLocation(l, added))) throw Errors.duplicateLocation(added.url)
        if (rules.maxLocations >= 0 && locations.length + 1 > rules.maxLocations) throw Errors.tooManyLocations(locations.length + 1, rules.maxLocations)
        locations = [...locations.slice(0, pos), added, ...locations.slice(pos)]
        becomeActive(data)
        break
      }
      case 'remove': {
        if (!rules.showMultipleLocations) throw Errors.locationsHidden('remove')
        if (status !== 'active') throw Errors.locationsStatus('remove', status)
        if (locations.length === 1) throw Errors.lastImageLocation()
        const pos = position(change.path[1], locations.length, false)
        if (pos === undefined) throw Errors.locationPosition('removing')
        const [gone] = locations.splice(pos, 1)
        if (gone.store !== undefined && !gone.fresh) removed.push({ store: gone.store, url: gone.url, metadata: gone.metadata })
        break
      }
    }
  }
  return { locations, removed, validation, activate }
}
