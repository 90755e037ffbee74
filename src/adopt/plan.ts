// What `glint adopt` does with each of a Glance's images: take it (its locations mapped onto
// Glint's stores, the data left where it is), leave it (deleted or killed in Glance; already
// in Glint), or report why it cannot (a store Glint does not have, a location Glint would not
// read, an upload or import still in progress).

import { fileURLToPath } from 'node:url'
import type { StoreConfig } from '../config/load.js'
import type { GlanceImage } from './glance-db.js'

export type Action = 'take' | 'present' | 'ignore' | 'cannot'

export interface AdoptedLocation { store: string, url: string, metadata: Record<string, unknown> }

export interface Decision {
  image: GlanceImage
  action: Action
  reason?: string
  /** the image's active locations, on Glint's stores, in Glance's order */
  locations: AdoptedLocation[]
}

const TRANSIENT = new Set(['saving', 'uploading', 'importing'])
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export interface PlanInput {
  images: GlanceImage[]
  stores: StoreConfig[]
  /** Glance store id -> Glint store id, for ids that differ (and for single-store Glance locations without one) */
  storeMap: Record<string, string>
  /** ids already in Glint's registry */
  present: Set<string>
}

export function planAdoption (input: PlanInput): Decision[] {
  const byId = new Map(input.stores.map((s) => [s.id, s]))
  return input.images.map((image) => {
    const decide = (action: Action, reason?: string, locations: AdoptedLocation[] = []): Decision => ({ image, action, reason, locations })
    if (image.deleted || image.status === 'deleted' || image.status === 'pending_delete') return decide('ignore', `deleted in Glance (${image.status})`)
    if (image.status === 'killed') return decide('ignore', 'killed in Glance (its upload failed; no data)')
    if (TRANSIENT.has(image.status)) return decide('cannot', `${image.status} in Glance: an upload or import is in progress; run again when it has ended`)
    const importing = (image.properties.os_glance_importing_to_stores ?? '').trim()
    if (importing !== '' || image.properties.os_glance_import_task !== undefined) {
      return decide('cannot', `an import is in progress in Glance (to ${importing || 'a store'}); run again when it has ended`)
    }
    if (!UUID.test(image.id)) return decide('cannot', `id ${image.id} is not a UUID`)
    if (input.present.has(image.id)) return decide('present', 'already in Glint')

    const locations: AdoptedLocation[] = []
    for (const location of image.locations) {
      if (location.status !== 'active') continue
      const mapped = mapLocation(image.id, location.url, location.metadata, input.storeMap, input.stores, byId)
      if (typeof mapped === 'string') return decide('cannot', mapped)
      if (locations.some((l) => l.store === mapped.store)) return decide('cannot', `two locations in store '${mapped.store}'; Glint keeps one copy per store`)
      locations.push(mapped)
    }
    if ((image.status === 'active' || image.status === 'deactivated') && locations.length === 0) {
      return decide('cannot', `${image.status} in Glance but has no active location`)
    }
    return decide('take', undefined, locations)
  })
}

/** A Glance location as a Glint location, or why it cannot be one. */
function mapLocation (imageId: string, url: string, metadata: Record<string, unknown>, storeMap: Record<string, string>,
  stores: StoreConfig[], byId: Map<string, StoreConfig>): AdoptedLocation | string {
  const scheme = url.split('://')[0]
  const glanceStore = typeof metadata.store === 'string' ? metadata.store : undefined
  let storeId = glanceStore === undefined ? undefined : storeMap[glanceStore] ?? glanceStore
  if (storeId === undefined) {
    // single-store Glance: no store id in the location; the one Glint store of that kind, or --store-map SCHEME=ID
    const type = scheme === 'rbd' ? 'rbd' : scheme === 'file' ? 'file' : undefined
    const candidates = stores.filter((s) => s.type === type)
    storeId = storeMap[scheme] ?? (candidates.length === 1 ? candidates[0].id : undefined)
    if (storeId === undefined) return `location ${url} names no store and Glint has ${candidates.length} ${scheme} stores: map it with --store-map ${scheme}=STORE`
  }
  const store = byId.get(storeId)
  if (store === undefined) return `a location is in store '${glanceStore ?? storeId}', which Glint does not have (enabled_backends: ${stores.map((s) => s.id).join(', ')}); add it or --store-map ${glanceStore ?? storeId}=STORE`
  if (scheme === 'rbd') {
    if (store.type !== 'rbd') return `rbd location ${url} maps to ${store.type} store '${store.id}'`
    const parts = url.slice('rbd://'.length).split('/').map(decodeURIComponent)
    // rbd://<fsid>/<pool>/<image>/<snapshot>, as glance_store writes it
    if (parts.length !== 4) return `rbd location ${url} is not rbd://fsid/pool/image/snapshot`
    const [, pool, rbdImage, snapshot] = parts
    if (pool !== store.rbd!.pool) return `rbd location ${url} is in pool '${pool}', store '${store.id}' uses pool '${store.rbd!.pool}'`
    if (rbdImage !== imageId || snapshot !== 'snap') return `rbd location ${url} is ${pool}/${rbdImage}@${snapshot}; Glint reads ${pool}/${imageId}@snap`
  } else if (scheme === 'file') {
    if (store.type !== 'file') return `file location ${url} maps to ${store.type} store '${store.id}'`
    try { fileURLToPath(url) } catch { return `file location ${url} is not a file:// path` }
  } else {
    return `location ${url}: Glint has no ${scheme} stores (only file and rbd)`
  }
  return { store: store.id, url, metadata }
}
