// Glint's Prometheus metrics (prom-client). Below everything but errors/identity: any layer may
// count. What moves per chunk (bytes) or per lookup (cache hits) is kept in plain mutable
// tallies, one object per store or cache made once, so the hot path is a number addition with
// no allocation; prom-client reads the tallies only when /metrics is scraped.

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

export const metricsRegistry = new Registry()
collectDefaultMetrics({ register: metricsRegistry, prefix: 'glint_' })

/** One store's traffic. Add to the fields directly (e.g. `traffic.bytesIn += n`). */
export interface StoreTraffic {
  /** bytes written into the store */
  bytesIn: number
  /** bytes read out of the store (a read shared by many downloads counts once) */
  bytesOut: number
  /** bytes of the store's images sent to download clients */
  bytesSent: number
  uploadsInFlight: number
  downloadsInFlight: number
}

/** A cache's lookups: `stats.hits++` or `stats.misses++`. */
export interface CacheStats { hits: number, misses: number }

/** A worker pool as seen from the main thread. */
export interface PoolStats { queued: number, running: number, threads: number }

const traffic = new Map<string, StoreTraffic>()
const caches = new Map<string, CacheStats>()
const pools = new Map<string, () => PoolStats>()
let registryUse: (() => Promise<Array<{ state: string, count: number }>>) | undefined
let registryPoolSize = 0

/** The tally of one store (made on first use; keep the object, it is the hot path's). */
export function storeTraffic (store: string): StoreTraffic {
  let t = traffic.get(store)
  if (t === undefined) {
    t = { bytesIn: 0, bytesOut: 0, bytesSent: 0, uploadsInFlight: 0, downloadsInFlight: 0 }
    traffic.set(store, t)
  }
  return t
}

/**
 * The tally of one cache, by name: the image cache counts under 'image', the Keystone
 * token validation cache under 'keystone_token'. Keep the object and count on it.
 */
export function cacheStats (cache: string): CacheStats {
  let c = caches.get(cache)
  if (c === undefined) {
    c = { hits: 0, misses: 0 }
    caches.set(cache, c)
  }
  return c
}

/** Registers a worker pool whose queue depth and running tasks are read at each scrape. */
export function watchPool (name: string, stats: () => PoolStats): void {
  pools.set(name, stats)
}

/** How the registry's connections are used, read at each scrape. */
export function watchRegistry (poolSize: number, use: () => Promise<Array<{ state: string, count: number }>>): void {
  registryPoolSize = poolSize
  registryUse = use
}

const requests = new Counter({
  name: 'glint_http_requests_total',
  help: 'API requests answered, by route pattern, method and status (499: the client left first)',
  labelNames: ['route', 'method', 'status'] as const,
  registers: [metricsRegistry]
})

const latency = new Histogram({
  name: 'glint_http_request_duration_seconds',
  help: 'API request latency, from the request line to the last byte of the answer, by route pattern and method',
  labelNames: ['route', 'method'] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800],
  registers: [metricsRegistry]
})

/** One answered request (called once per request, not per chunk). */
export function countRequest (route: string, method: string, status: number, seconds: number): void {
  requests.inc({ route, method, status: String(status) })
  latency.observe({ route, method }, seconds)
}

/** A counter whose value is a running total kept elsewhere, copied in at scrape time. */
function tallyCounter (name: string, help: string, labelNames: string[], read: (set: (labels: Record<string, string>, value: number) => void) => void): void {
  // eslint-disable-next-line no-new
  new Counter({
    name,
    help,
    labelNames,
    registers: [metricsRegistry],
    collect () {
      this.reset()
      read((labels, value) => { if (value > 0) this.inc(labels, value) })
    }
  })
}

function tallyGauge (name: string, help: string, labelNames: string[], read: (set: (labels: Record<string, string>, value: number) => void) => void | Promise<void>): void {
  // eslint-disable-next-line no-new
  new Gauge({
    name,
    help,
    labelNames,
    registers: [metricsRegistry],
    async collect () {
      this.reset()
      await read((labels, value) => this.set(labels, value))
    }
  })
}

tallyCounter('glint_store_bytes_total', 'Image data bytes written into (in) and read out of (out) each store',
  ['store', 'direction'], (set) => {
    for (const [store, t] of traffic) {
      set({ store, direction: 'in' }, t.bytesIn)
      set({ store, direction: 'out' }, t.bytesOut)
    }
  })

tallyCounter('glint_download_bytes_sent_total', 'Image data bytes sent to download clients, by the store they came from',
  ['store'], (set) => { for (const [store, t] of traffic) set({ store }, t.bytesSent) })

tallyGauge('glint_uploads_in_flight', 'Uploads (and copy-image copies) being written into each store',
  ['store'], (set) => { for (const [store, t] of traffic) set({ store }, t.uploadsInFlight) })

tallyGauge('glint_downloads_in_flight', 'Downloads being read out of each store',
  ['store'], (set) => { for (const [store, t] of traffic) set({ store }, t.downloadsInFlight) })

tallyCounter('glint_cache_requests_total', 'Cache lookups by cache (image, keystone_token, ...) and result',
  ['cache', 'result'], (set) => {
    for (const [cache, c] of caches) {
      set({ cache, result: 'hit' }, c.hits)
      set({ cache, result: 'miss' }, c.misses)
    }
  })

tallyGauge('glint_worker_pool_queue_depth', 'Tasks waiting for a thread in each worker pool', ['pool'],
  (set) => { for (const [pool, stats] of pools) set({ pool }, stats().queued) })

tallyGauge('glint_worker_pool_tasks_running', 'Tasks (streamed uploads, downloads, digests) running in each worker pool', ['pool'],
  (set) => { for (const [pool, stats] of pools) set({ pool }, stats().running) })

tallyGauge('glint_worker_pool_threads', 'Threads of each worker pool', ['pool'],
  (set) => { for (const [pool, stats] of pools) set({ pool }, stats().threads) })

tallyGauge('glint_registry_pool_size', 'Connections the registry pool may open', [],
  (set) => { set({}, registryPoolSize) })

tallyGauge('glint_registry_connections', 'Registry connections open, by state (active: running a query; idle; ...)', ['state'],
  async (set) => {
    if (registryUse === undefined) return
    const byState: Record<string, number> = { active: 0, idle: 0 }
    for (const { state, count } of await registryUse()) byState[state] = count
    for (const state in byState) set({ state }, byState[state])
  })
