// Boot storm: many hypervisors fetch the same image at once. N simultaneous downloads of one
// image from the file store and from RBD, each on its own connection: aggregate MB/s, errors,
// latency, and what it costs the server (peak RSS, CPU).

import { caseResult, type CaseResult, type RunOutcome, type SubjectRecorder } from '../measure.js'
import { createImage, deleteImage } from '../clients/api.js'
import { uploadImage } from '../clients/curl.js'
import { MiB } from '../data-files.js'
import { benchScript } from '../util/paths.js'
import { describeFailure, runCommand } from '../util/process.js'
import type { Target } from '../targets/target.js'
import {
  baselineRecorder, rotate, sizeLabel, storesUnderTest, targetRecorder,
  type Scenario, type StoreUnderTest
} from './context.js'

// Slower than any sane server; the bound only ends a hung storm (unfinished = errors).
const SLOWEST_AGGREGATE_BYTES_PER_SECOND = 100e6
const MAX_STORM_MS = 15 * 60_000

interface Source { target?: Target, imageId?: string, recorders: Map<number, SubjectRecorder> }

export const bootStorm: Scenario = {
  name: 'boot-storm',
  title: (o) => `Boot storm: ${o.stormClients.join(' and ')} concurrent downloads of one ${sizeLabel(o.stormMiB)} image`,
  description: () => 'Each client its own connection (node:http, bodies discarded); aggregate MB/s = all bytes received / wall time. ' +
    'errors = requests without a complete 200; p50/p99 = whole-request latency in seconds.',
  async run (ctx) {
    const file = await ctx.files.ensure(ctx.opts.stormMiB)
    const bytes = ctx.opts.stormMiB * MiB
    // One RBD store is enough to show the data path; the first cluster that is up.
    const all = storesUnderTest(ctx)
    const rbd = all.find((s) => s.cluster?.up === true) ?? all.find((s) => s.cluster !== undefined)
    const stores = [all[0], ...(rbd !== undefined ? [rbd] : [])]

    const baselines = new Map(ctx.opts.stormClients.map((n) => [n, baselineRecorder(ctx, 'trivial server, same file and clients', { server: true })]))
    const sources = new Map<string, Source[]>()
    for (const store of stores) {
      const list: Source[] = []
      for (const [role, slot] of [['glint', ctx.glint], ['glance', ctx.glance]] as const) {
        const recorders = new Map(ctx.opts.stormClients.map((n) => [n, targetRecorder(ctx, slot, role, store)]))
        const source: Source = { target: slot.target, recorders }
        await prepare(source, store, file, bytes)
        list.push(source)
      }
      sources.set(store.id, list)
    }

    try {
      for (const clients of ctx.opts.stormClients) {
        const deadlineMs = Math.min(MAX_STORM_MS, 60_000 + clients * bytes / SLOWEST_AGGREGATE_BYTES_PER_SECOND * 1000)
        for (let run = 0; run < ctx.opts.runs; run++) {
          ctx.log(`boot storm ${clients} clients: run ${run + 1} of ${ctx.opts.runs}`)
          await baselines.get(clients)!.run(async () =>
            await storm(`${ctx.trivial.url}/file?path=${encodeURIComponent(file)}`, clients, deadlineMs))
          for (const store of stores) {
            for (const s of rotate(sources.get(store.id)!, run)) {
              if (s.target === undefined || s.imageId === undefined) continue
              await s.recorders.get(clients)!.run(async () => await cephReads(store, async () =>
                await storm(`${s.target!.url}/v2/images/${s.imageId!}/file`, clients, deadlineMs)))
            }
          }
        }
      }
    } finally {
      for (const list of sources.values()) {
        for (const s of list) if (s.target !== undefined && s.imageId !== undefined) await deleteImage(s.target.url, s.imageId)
      }
    }

    const cases: CaseResult[] = []
    for (const clients of ctx.opts.stormClients) {
      for (const store of stores) {
        cases.push(caseResult(`boot-storm/${store.id}/${clients}`, `${clients} clients <- ${store.id}`, 'MB/s',
          [...sources.get(store.id)!.map((s) => s.recorders.get(clients)!), baselines.get(clients)!]))
      }
    }
    return cases
  }
}

/** Uploads the storm image (not timed); a failure skips this target's cases on this store. */
async function prepare (source: Source, store: StoreUnderTest, file: string, bytes: number): Promise<void> {
  const first = [...source.recorders.values()][0]
  if (source.target === undefined || first.skipped) return
  try {
    source.imageId = await createImage(source.target.url, `bench-storm-${store.id}`)
    await uploadImage(source.target.url, source.imageId, store.id, file, bytes)
  } catch (err) {
    for (const r of source.recorders.values()) r.skip(`could not upload the storm image: ${(err as Error).message}`)
    if (source.imageId !== undefined) await deleteImage(source.target.url, source.imageId)
    source.imageId = undefined
  }
}

/** The bytes the cluster's OSDs sent to clients (op_r_out_bytes) during `fn`, as ceph_read_MiB; nothing for the file store. */
async function cephReads (store: StoreUnderTest, fn: () => Promise<RunOutcome>): Promise<RunOutcome> {
  if (store.cluster === undefined) return await fn()
  const before = await osdReadBytes(store.cluster.conf)
  const outcome = await fn()
  const after = await osdReadBytes(store.cluster.conf)
  if (before === undefined || after === undefined) return outcome
  return { ...outcome, extra: { ...outcome.extra, ceph_read_MiB: (after - before) / MiB } }
}

async function osdReadBytes (conf: string): Promise<number | undefined> {
  const r = await runCommand('ceph', ['-c', conf, 'tell', 'osd.*', 'perf', 'dump', '--format', 'json'], { timeoutMs: 30_000 })
  if (r.code !== 0) return undefined
  // one JSON document per OSD, each prefixed by its name ("osd.0: {...}") when there are several
  let total = 0
  for (const m of r.stdout.matchAll(/"op_r_out_bytes":\s*(\d+)/g)) total += Number(m[1])
  return total
}

async function storm (url: string, clients: number, deadlineMs: number): Promise<RunOutcome> {
  const r = await runCommand(process.execPath, [benchScript('clients/http-load.js'), 'storm', url, String(clients), String(deadlineMs)],
    { timeoutMs: deadlineMs + 30_000 })
  if (r.code !== 0) throw new Error(describeFailure('storm client', r))
  const s = JSON.parse(r.stdout)
  const failures = Object.entries(s.statuses as Record<string, number>).filter(([k]) => k !== '200')
  return {
    value: s.bytes / s.wallSeconds / 1e6,
    extra: { errors: s.errors, p50_s: s.latencyP50Ms / 1000, p99_s: s.latencyP99Ms / 1000, ttfb_p50_s: s.ttfbP50Ms / 1000 },
    note: failures.length > 0 ? `answers: ${Object.entries(s.statuses).map(([k, v]) => `${String(v)} x ${k}`).join(', ')}` : undefined
  }
}
