// The stores of this deployment: one piscina pool of worker threads per store (for RBD, per
// Ceph cluster), each thread holding the store's backend for its whole life.

import { Piscina } from 'piscina'
import { mkdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import type { StoreConfig } from '../config/load.js'
import { unwrapOutcome, type StoreTask, type WorkerInit } from '../workers/protocol.js'
import { storeTraffic, watchPool, type StoreTraffic } from '../metrics/registry.js'

export interface Store {
  readonly id: string
  readonly type: 'file' | 'rbd' | 'http'
  /** the http store: it serves http locations' data and takes none */
  readonly readOnly: boolean
  readonly config: StoreConfig
  readonly isDefault: boolean
  /** Upload buffer size: the RBD object size (writes land on whole objects), 4 MiB for files. */
  readonly chunkSize: number
  /** this store's byte and in-flight tallies for /metrics (add to them on the hot path) */
  readonly traffic: StoreTraffic
  run<T> (task: StoreTask, transfer?: any[]): Promise<T>
  /** What /v2/info/stores/detail shows for this store. */
  properties (): Record<string, unknown>
}

export interface StoreSet {
  /** the stores that take data (not the http store) */
  ids (): string[]
  /** any store, the http store included */
  get (id: string): Store | undefined
  /** the read-only http store, when configured */
  readonly http?: Store
  /** os_glance_staging_store: where glance-direct stages and web-download fetches; never an upload or import target */
  readonly staging?: Store
  readonly default: Store
  all (): Store[]
  close (): Promise<void>
}

const WORKER_FILE = new URL('../workers/store-worker.js', import.meta.url).href

export function createStores (configs: StoreConfig[], defaultId: string, httpConfig?: StoreConfig, stagingConfig?: StoreConfig): StoreSet {
  requireRbdAddon(configs)
  const stores = configs.map((config) => createStore(config, config.id === defaultId))
  const http = httpConfig === undefined ? undefined : createStore(httpConfig, false)
  const staging = stagingConfig === undefined ? undefined : createStore(stagingConfig, false)
  const byId = new Map([...stores, ...(http === undefined ? [] : [http])].map((s) => [s.id, s]))
  return {
    ids: () => stores.map((s) => s.id),
    get: (id) => byId.get(id),
    http,
    staging,
    default: byId.get(defaultId)!,
    all: () => stores,
    async close () {
      await Promise.allSettled([...byId.values(), ...(staging === undefined ? [] : [staging])].map(async (s) => await (s as StoreImpl).pool.destroy()))
    }
  }
}

interface StoreImpl extends Store { pool: Piscina }

/**
 * An rbd store needs the librbd addon. Checked here, before any worker starts: a worker that
 * fails to build its backend takes its whole pool (and the process) down at the first request.
 */
function requireRbdAddon (configs: StoreConfig[]): void {
  const rbdStore = configs.find((c) => c.type === 'rbd')
  if (rbdStore === undefined) return
  const addon = createRequire(import.meta.url)('../../../native/index.cjs') as { available: boolean, reason?: string }
  if (!addon.available) {
    throw Object.assign(new Error(`[${rbdStore.id}] is an rbd store, but the librbd addon is unavailable: ${addon.reason ?? 'not built'} (install librbd-dev and librados-dev, then run node native/build.cjs)`), { code: 'GLINT_RBD_UNAVAILABLE' })
  }
}

function createStore (config: StoreConfig, isDefault: boolean): StoreImpl {
  if (config.type === 'file') mkdirSync(config.file!.dir, { recursive: true })
  const threads = config.type === 'rbd' ? config.rbd!.writers : 1
  const pool = new Piscina({
    filename: WORKER_FILE,
    workerData: { store: config } satisfies WorkerInit,
    minThreads: threads,
    maxThreads: threads,
    idleTimeout: Infinity,
    // Workers hold live native handles (librbd completions): they must never block in Atomics.wait.
    atomics: 'disabled',
    // A task is a whole streamed upload or download, mostly waiting on I/O: many share a thread.
    concurrentTasksPerWorker: 1024
  })
  const chunkSize = config.type === 'rbd' ? config.rbd!.chunkSizeMiB * 1024 * 1024 : 4 * 1024 * 1024
  let running = 0
  watchPool(`store:${config.id}`, () => ({ queued: pool.queueSize, running, threads: pool.threads.length }))
  return {
    id: config.id,
    type: config.type,
    readOnly: config.type === 'http',
    config,
    isDefault,
    chunkSize,
    traffic: storeTraffic(config.id),
    pool,
    async run (task, transfer) {
      running++
      try {
        return unwrapOutcome(await pool.run(task, { transferList: transfer }))
      } finally {
        running--
      }
    },
    properties () {
      if (config.type === 'http') return {}
      if (config.type === 'file') {
        return { data_dir: config.file!.dir, chunk_size: config.file!.chunkSize, thin_provisioning: config.file!.thin }
      }
      return { chunk_size: chunkSize, pool: config.rbd!.pool, thin_provisioning: config.rbd!.thin }
    }
  }
}
