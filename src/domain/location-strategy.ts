// Which of an image's locations is read first, and shown as direct_url: Glance's
// location_strategy. `location_order` keeps the order the locations were added;
// `store_type` puts them in the order of [store_type_location_strategy]
// store_type_preference, by the scheme of each URL (glance/common/location_strategy/
// store_type.py), the others after them in their own order. The `locations` list an image
// shows keeps its own order either way.

export const LOCATION_STRATEGIES = ['location_order', 'store_type'] as const
export type LocationStrategy =
  | { kind: 'location_order' }
  | { kind: 'store_type', schemes: string[] }

// the URL schemes of each store type a preference may name (glance_store's drivers)
const SCHEMES_OF: Record<string, string[]> = {
  file: ['file', 'filesystem'],
  filesystem: ['file', 'filesystem'],
  http: ['http', 'https'],
  rbd: ['rbd'],
  swift: ['swift', 'swift+http', 'swift+https', 'swift+config'],
  cinder: ['cinder'],
  s3: ['s3', 's3+http', 's3+https'],
  vmware: ['vsphere']
}

/** The strategy from its two options; store type names Glance would not know are dropped. */
export function locationStrategy (kind: typeof LOCATION_STRATEGIES[number], preference: string[]): LocationStrategy {
  if (kind === 'location_order') return { kind }
  // written as a plain list or as Python's ['rbd', 'file']
  const names = preference.map((name) => name.replace(/^[\s[\]'"]+|[\s[\]'"]+$/g, '').toLowerCase())
  return { kind, schemes: names.flatMap((name) => SCHEMES_OF[name] ?? []) }
}

/** The locations in the order they are to be read; a new array, the input untouched. */
export function orderedLocations<T extends { url: string }> (locations: readonly T[], strategy: LocationStrategy): T[] {
  if (strategy.kind === 'location_order' || locations.length < 2) return [...locations]
  const rank = (l: T): number => {
    const at = strategy.schemes.indexOf(schemeOf(l.url))
    return at === -1 ? strategy.schemes.length : at
  }
  // Array.prototype.sort is stable: equal ranks keep the order they were added in
  return [...locations].sort((a, b) => rank(a) - rank(b))
}

function schemeOf (url: string): string {
  const colon = url.indexOf(':')
  return colon === -1 ? '' : url.slice(0, colon).toLowerCase()
}
