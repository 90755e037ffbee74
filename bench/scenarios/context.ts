// What every scenario gets: the options, the targets (or why they are missing), the baseline
// server, the clusters and the test files; plus the recorders each scenario builds its cases from.

import type { Options, ScenarioName } from '../options.js'
import { SubjectRecorder, type CaseResult, type Watch } from '../measure.js'
import type { TargetSlot } from '../targets/target.js'
import { storeUnavailable } from '../targets/target.js'
import type { TrivialServer } from '../targets/trivial.js'
import { osdPids, type Cluster } from '../targets/clusters.js'
import type { DataFiles } from '../data-files.js'

export interface BenchContext {
  opts: Options
  glint: TargetSlot
  glance: TargetSlot
  trivial: TrivialServer
  clusters: Cluster[]
  files: DataFiles
  workDir: string
  log: (msg: string) => void
}

export interface Scenario {
  name: ScenarioName
  /** starts and stops its own servers: the run's shared Glint and Glance are not needed for it */
  ownTargets?: boolean
  title: (opts: Options) => string
  description: (opts: Options) => string
  run: (ctx: BenchContext) => Promise<CaseResult[]>
}

/** A store a scenario moves data through: the file store or one Ceph cluster's. */
export interface StoreUnderTest { id: string, cluster?: Cluster }

/** The file store and every Ceph store, or those --stores names. */
export function storesUnderTest (ctx: BenchContext): StoreUnderTest[] {
  const all: StoreUnderTest[] = [{ id: 'fast' }, ...ctx.clusters.map((cluster) => ({ id: cluster.storeId, cluster }))]
  const only = ctx.opts.stores
  return only === undefined ? all : all.filter((s) => only.includes(s.id))
}

/** Why nothing can be measured on this store, if so. */
export function storeDown (store: StoreUnderTest): string | undefined {
  return store.cluster !== undefined && !store.cluster.up ? store.cluster.reason : undefined
}

function quietFor (clusters: Cluster[]): Watch['quietPids'] {
  return clusters.length === 0 ? undefined : () => clusters.flatMap(osdPids)
}

/**
 * The recorder for Glint or Glance on a store; skipped with the reason when it cannot run there.
 * With `bytes` (what one run moves) the details carry CPU-s per GiB: the server's, and the OSDs'.
 */
export function targetRecorder (ctx: BenchContext, slot: TargetSlot, role: 'glint' | 'glance', store?: StoreUnderTest | StoreUnderTest[], bytes?: number): SubjectRecorder {
  const stores = store === undefined ? [] : Array.isArray(store) ? store : [store]
  const clusters = stores.flatMap((s) => (s.cluster !== undefined ? [s.cluster] : []))
  const label = slot.target?.label ?? (role === 'glint' ? 'Glint' : 'Glance')
  const osds = quietFor(clusters)
  const recorder = new SubjectRecorder(role, label, { pid: slot.target?.pid, quietPids: osds, osdPids: osds, bytes }, idlePolicy(ctx))
  const reason = stores.map(storeDown).find(Boolean) ??
    (stores.length > 0 ? stores.map((s) => storeUnavailable(slot, s.id)).find(Boolean) : slot.unavailable)
  return reason !== undefined ? recorder.skip(reason) : recorder
}

export function baselineRecorder (ctx: BenchContext, label: string, watch: { server?: boolean, clusters?: Cluster[], bytes?: number } = {}): SubjectRecorder {
  const down = (watch.clusters ?? []).find((c) => !c.up)
  const osds = quietFor(watch.clusters ?? [])
  const recorder = new SubjectRecorder('baseline', label,
    { pid: watch.server === true ? ctx.trivial.pid : undefined, quietPids: osds, osdPids: osds, bytes: watch.bytes }, idlePolicy(ctx))
  return down !== undefined ? recorder.skip(down.reason!) : recorder
}

function idlePolicy (ctx: BenchContext): { timeoutMs: number } {
  return { timeoutMs: ctx.opts.idleTimeoutSec * 1000 }
}

/** The list rotated by i: each run starts with a different subject, spreading the machine's noise. */
export function rotate<T> (list: T[], i: number): T[] {
  const k = i % Math.max(1, list.length)
  return [...list.slice(k), ...list.slice(0, k)]
}

export function sizeLabel (mib: number): string {
  return mib >= 1024 && mib % 1024 === 0 ? `${mib / 1024} GiB` : `${mib} MiB`
}
