// Several gateways behind HAProxy (issue 15): for N in --gateways (default 1, 2, 3), N Glint
// processes over one registry database and the same Ceph stores, and beside them Glance with
// `workers = N` (its own multi-process model), each behind its own HAProxy on loopback
// (round robin), so both pay the same hop. Measured through the proxies, interleaved run by
// run: the aggregate rate of parallel uploads into RBD, and a boot storm (many concurrent
// downloads of one RBD image). Every upload's stored sha512 and every downloaded body's sha256
// is checked against the file; anything else counts as an error, and only checked bytes count
// towards the rate.

import { createHash } from 'node:crypto'
import { createReadStream, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { caseResult, NotMeasured, SubjectRecorder, type CaseResult, type RunOutcome } from '../measure.js'
import { createImage, deleteImage, getText } from '../clients/api.js'
import { uploadImage } from '../clients/curl.js'
import { rbdImageName, rbdImport, rbdRemove } from '../baselines/rbd.js'
import { MiB } from '../data-files.js'
import { benchScript } from '../util/paths.js'
import { cpuSeconds } from '../util/proc-stats.js'
import { describeFailure, runCommand } from '../util/process.js'
import { createBenchDatabase, dropBenchDatabase, startGlint } from '../targets/glint.js'
import { startGlance } from '../targets/glance.js'
import { haproxyMissing, startHaproxy, type Haproxy } from '../targets/haproxy.js'
import type { Target } from '../targets/target.js'
import { osdPids } from '../targets/clusters.js'
import { rotate, sizeLabel, storesUnderTest, type BenchContext, type Scenario, type StoreUnderTest } from './context.js'

/** Uploads per batch: 6 spreads evenly over 1, 2 or 3 gateways by round robin. */
export const GATEWAY_UPLOADS = 6
// Slower than any sane server; the bound only ends a hung storm (unfinished = errors).
const SLOWEST_AGGREGATE_BYTES_PER_SECOND = 50e6
const MAX_STORM_MS = 15 * 60_000

/** N gateways of one kind behind their HAProxy. */
interface Side {
  role: 'glint' | 'glance'
  label: string
  proxy: Haproxy
  /** the gateways' main pids: their process trees are measured together */
  pids: number[]
  stores: string[]
  stop: () => Promise<void>
}

type SideSlot = { side: Side, unavailable?: undefined } | { side?: undefined, unavailable: string }

export const gateways: Scenario = {
  name: 'gateways',
  ownTargets: true,
  title: (o) => `Several gateways behind HAProxy: ${o.gateways.join(', ')} Glint gateways and Glance with workers = N`,
  description: (o) => `For each N: N Glint processes over one registry database, and Glance with workers = N, each behind its own HAProxy ` +
    `(roundrobin, loopback). Uploads: ${GATEWAY_UPLOADS} chunked curl -T at once alternating the RBD stores, ${sizeLabel(o.parallelMiB)} each, ` +
    'every stored os_hash_value checked; boot storm: one RBD image downloaded by many clients at once, every body\'s sha256 checked. ' +
    'MB/s = checked bytes / wall time; errors = uploads or downloads that failed or differ. CPU s = all gateway processes summed; ' +
    'HAProxy\'s CPU-s and the largest single process\'s peak RSS in the details. Baselines: rbd import of the same files; ' +
    'the trivial server behind its own HAProxy for the storm.',
  async run (ctx) {
    const missing = haproxyMissing()
    if (missing !== undefined) throw new NotMeasured(missing)
    const all = storesUnderTest(ctx)
    const rbdStores = all.filter((s) => s.cluster?.up === true)
    if (rbdStores.length === 0) throw new NotMeasured('no Ceph store is up (test/ceph/clusters.sh up)')
    const placement = Array.from({ length: GATEWAY_UPLOADS }, (_, i) => rbdStores[i % rbdStores.length])
    const stormStore = rbdStores[0]
    const uploadFile = await ctx.files.ensure(ctx.opts.parallelMiB)
    const stormFile = await ctx.files.ensure(ctx.opts.stormMiB)
    const uploadBytes = ctx.opts.parallelMiB * MiB
    const stormBytes = ctx.opts.stormMiB * MiB
    const uploadSha512 = await fileDigest(uploadFile, 'sha512')
    const stormSha256 = await fileDigest(stormFile, 'sha256')
    const clients = ctx.opts.gatewayClients
    const deadlineMs = Math.min(MAX_STORM_MS, 60_000 + clients * stormBytes / SLOWEST_AGGREGATE_BYTES_PER_SECOND * 1000)
    const dir = join(ctx.workDir, 'gateways')
    mkdirSync(dir, { recursive: true })
    const osds = (): number[] => rbdStores.flatMap((s) => osdPids(s.cluster!))

    // The storm's physical reference: the same file from the trivial server, through the same kind of hop.
    const trivialProxy = await startHaproxy(dir, [Number(new URL(ctx.trivial.url).port)], { name: 'haproxy-trivial', check: 'lenient' })
    const cases: CaseResult[] = []
    try {
      for (const n of ctx.opts.gateways) {
        ctx.log(`gateways: N = ${n}`)
        const sides: SideSlot[] = [await startSide(ctx, 'glint', n, dir)]
        sides.push(ctx.opts.againstGlance ? await startSide(ctx, 'glance', n, dir) : { unavailable: 'not requested (run with --against-glance)' })
        try {
          cases.push(...await measureN(ctx, n, sides, {
            placement, stormStore, uploadFile, stormFile, uploadBytes, stormBytes, uploadSha512, stormSha256, clients, deadlineMs, osds, trivialProxy
          }))
        } finally {
          for (const s of sides) if (s.side !== undefined) { ctx.log(`stopping ${s.side.label}`); await s.side.stop() }
        }
      }
    } finally {
      await trivialProxy.stop()
    }
    return cases
  }
}

interface Plan {
  placement: StoreUnderTest[]
  stormStore: StoreUnderTest
  uploadFile: string
  stormFile: string
  uploadBytes: number
  stormBytes: number
  uploadSha512: string
  stormSha256: string
  clients: number
  deadlineMs: number
  osds: () => number[]
  trivialProxy: Haproxy
}

interface Subject { side?: Side, upload: SubjectRecorder, storm: SubjectRecorder, stormImage?: string }

async function measureN (ctx: BenchContext, n: number, slots: SideSlot[], plan: Plan): Promise<CaseResult[]> {
  const idle = { timeoutMs: ctx.opts.idleTimeoutSec * 1000 }
  const storeIds = [...new Set(plan.placement.map((s) => s.id))]
  const subjects: Subject[] = slots.map((slot, i) => {
    const role = i === 0 ? 'glint' : 'glance'
    const label = slot.side?.label ?? (role === 'glint' ? `Glint x ${n}` : `Glance workers = ${n}`)
    const watch = { pids: slot.side?.pids ?? [], quietPids: plan.osds, osdPids: plan.osds }
    const upload = new SubjectRecorder(role, label, { ...watch, bytes: plan.uploadBytes * GATEWAY_UPLOADS }, idle)
    const storm = new SubjectRecorder(role, label, { ...watch, bytes: plan.stormBytes * plan.clients }, idle)
    const reason = slot.unavailable ?? storeIds.map((id) => (slot.side!.stores.includes(id) ? undefined : `${slot.side!.label} has no store ${id}`)).find(Boolean)
    if (reason !== undefined) { upload.skip(reason); storm.skip(reason) }
    return { side: slot.side, upload, storm }
  })
  const uploadBaseline = new SubjectRecorder('baseline', `${GATEWAY_UPLOADS} x rbd import at once`, { quietPids: plan.osds, osdPids: plan.osds }, idle)
  const stormBaseline = new SubjectRecorder('baseline', 'trivial server behind HAProxy, same file and clients', { pid: ctx.trivial.pid }, idle)

  // the storm image, uploaded untimed through each proxy
  for (const s of subjects) {
    if (s.side === undefined || s.storm.skipped) continue
    try {
      s.stormImage = await createImage(s.side.proxy.url, `bench-gateways-storm-${n}`)
      await uploadImage(s.side.proxy.url, s.stormImage, plan.stormStore.id, plan.stormFile, plan.stormBytes)
    } catch (err) {
      s.storm.skip(`could not upload the storm image: ${(err as Error).message}`)
    }
  }

  try {
    for (let run = 0; run < ctx.opts.runs; run++) {
      ctx.log(`gateways N = ${n}: uploads, run ${run + 1} of ${ctx.opts.runs}`)
      const uploaders = [...subjects.map((s) => async () => { if (s.side !== undefined) await s.upload.run(async () => await uploadBatch(s.side!, plan)) }),
        async () => { await uploadBaseline.run(async () => await rbdBatch(plan)) }]
      for (const go of rotate(uploaders, run)) await go()
      ctx.log(`gateways N = ${n}: boot storm of ${plan.clients} clients, run ${run + 1} of ${ctx.opts.runs}`)
      const storms = [...subjects.map((s) => async () => {
        if (s.side !== undefined && s.stormImage !== undefined) {
          await s.storm.run(async () => await storm(`${s.side!.proxy.url}/v2/images/${s.stormImage!}/file`, s.side!.proxy, plan))
        }
      }), async () => { await stormBaseline.run(async () => await storm(`${plan.trivialProxy.url}/file?path=${encodeURIComponent(plan.stormFile)}`, plan.trivialProxy, plan)) }]
      for (const go of rotate(storms, run)) await go()
    }
  } finally {
    for (const s of subjects) if (s.side !== undefined && s.stormImage !== undefined) await deleteImage(s.side.proxy.url, s.stormImage)
  }

  const gw = n === 1 ? '1 gateway' : `${n} gateways`
  return [
    caseResult(`gateways/${n}/uploads`, `${gw}: ${GATEWAY_UPLOADS} x ${sizeLabel(plan.uploadBytes / MiB)} -> ${storeIds.join(', ')}`, 'MB/s',
      [...subjects.map((s) => s.upload), uploadBaseline]),
    caseResult(`gateways/${n}/storm`, `${gw}: ${plan.clients} clients <- ${plan.stormStore.id} (${sizeLabel(plan.stormBytes / MiB)})`, 'MB/s',
      [...subjects.map((s) => s.storm), stormBaseline])
  ]
}

/** N gateways and their proxy, or why they could not be started. */
async function startSide (ctx: BenchContext, role: 'glint' | 'glance', n: number, dir: string): Promise<SideSlot> {
  const gateways: Target[] = []
  let proxy: Haproxy | undefined
  let database: string | undefined
  const stop = async (): Promise<void> => {
    await proxy?.stop()
    for (const g of gateways.reverse()) await g.stop()
    if (database !== undefined) await dropBenchDatabase(database)
  }
  const fileDir = join(ctx.workDir, 'images')
  try {
    if (role === 'glint') {
      database = await createBenchDatabase()
      // one after the other: the first one migrates the shared registry
      for (let i = 0; i < n; i++) {
        gateways.push(await startGlint({ workDir: ctx.workDir, fileDir, clusters: ctx.clusters, name: `glint-n${n}-${i + 1}`, database }))
      }
    } else {
      gateways.push(await startGlance({ workDir: ctx.workDir, fileDir, clusters: ctx.clusters, log: ctx.log, name: `glance-n${n}`, workers: n }))
    }
    proxy = await startHaproxy(dir, gateways.map((g) => Number(new URL(g.url).port)), { name: `haproxy-${role}-${n}`, check: 'lenient' })
    const label = role === 'glint' ? `${gateways[0].label} x ${n}` : `${gateways[0].label} workers = ${n}`
    ctx.log(`${label} behind HAProxy at ${proxy.url} (gateway pids ${gateways.map((g) => g.pid).join(', ')}, HAProxy pid ${proxy.pid})`)
    return { side: { role, label, proxy, pids: gateways.map((g) => g.pid), stores: gateways[0].stores, stop } }
  } catch (err) {
    await stop()
    const reason = `${role === 'glint' ? 'Glint' : 'Glance'} x ${n} behind HAProxy could not be started: ${(err as Error).message}`
    ctx.log(reason)
    return { unavailable: reason }
  }
}

/** HAProxy's own CPU seconds during `fn`, beside what `fn` reports. */
async function withProxyCpu (proxy: Haproxy, fn: () => Promise<RunOutcome>): Promise<RunOutcome> {
  const before = cpuSeconds([proxy.pid])
  const outcome = await fn()
  return { ...outcome, extra: { ...outcome.extra, haproxy_cpu_s: cpuSeconds([proxy.pid]) - before } }
}

/** The uploads at once through the proxy; then each stored image's sha512 compared with the file's. */
async function uploadBatch (side: Side, plan: Plan): Promise<RunOutcome> {
  const base = side.proxy.url
  const ids: string[] = []
  try {
    for (const _ of plan.placement) ids.push(await createImage(base, 'bench-gateways'))
    const proxyCpu = cpuSeconds([side.proxy.pid])
    const started = performance.now()
    const settled = await Promise.allSettled(plan.placement.map(async (s, i) => await uploadImage(base, ids[i], s.id, plan.uploadFile, plan.uploadBytes, 'chunked')))
    const seconds = (performance.now() - started) / 1000
    const haproxyCpu = cpuSeconds([side.proxy.pid]) - proxyCpu
    const failed = firstFailure(settled)
    // untimed: what the registry says each stored image is
    let good = 0
    const problems: string[] = []
    for (const id of ids) {
      try {
        const image = JSON.parse(await getText(base, `/v2/images/${id}`))
        if (image.status === 'active' && image.os_hash_value === plan.uploadSha512 && image.size === plan.uploadBytes) good++
        else problems.push(`${id}: ${image.status}, size ${image.size}${image.os_hash_value !== plan.uploadSha512 ? ', other sha512' : ''}`)
      } catch (err) { problems.push((err as Error).message) }
    }
    if (good === 0) throw new Error(`no upload stored the file: ${failed ?? problems[0]}`)
    return {
      value: good * plan.uploadBytes / seconds / 1e6,
      extra: { errors: ids.length - good, haproxy_cpu_s: haproxyCpu },
      note: failed ?? (problems.length > 0 ? `stored wrong: ${problems[0]}` : undefined)
    }
  } finally {
    for (const id of ids) await deleteImage(base, id)
  }
}

async function rbdBatch (plan: Plan): Promise<RunOutcome> {
  const names = plan.placement.map(() => rbdImageName())
  try {
    const started = performance.now()
    const settled = await Promise.allSettled(plan.placement.map(async (s, i) => await rbdImport(s.cluster!, plan.uploadFile, plan.uploadBytes, names[i])))
    const seconds = (performance.now() - started) / 1000
    const ok = settled.filter((s) => s.status === 'fulfilled') as Array<PromiseFulfilledResult<RunOutcome>>
    if (ok.length === 0) throw new Error(firstFailure(settled))
    const usage = ok.every((o) => o.value.usage !== undefined)
      ? { cpuSeconds: ok.reduce((a, o) => a + o.value.usage!.cpuSeconds, 0), peakRssMiB: ok.reduce((a, o) => a + o.value.usage!.peakRssMiB, 0) }
      : undefined
    return { value: ok.length * plan.uploadBytes / seconds / 1e6, usage, extra: { errors: settled.length - ok.length }, note: firstFailure(settled) }
  } finally {
    for (const [i, name] of names.entries()) await rbdRemove(plan.placement[i].cluster!, name)
  }
}

function firstFailure (settled: Array<PromiseSettledResult<unknown>>): string | undefined {
  const failed = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected')
  return failed.length === 0 ? undefined : `${failed.length} of ${settled.length} failed: ${(failed[0].reason as Error)?.message ?? String(failed[0].reason)}`
}

async function storm (url: string, proxy: Haproxy, plan: Plan): Promise<RunOutcome> {
  return await withProxyCpu(proxy, async () => {
    const r = await runCommand(process.execPath, [benchScript('clients/http-load.js'), 'storm', url, String(plan.clients), String(plan.deadlineMs), plan.stormSha256],
      { timeoutMs: plan.deadlineMs + 30_000 })
    if (r.code !== 0) throw new Error(describeFailure('storm client', r))
    const s = JSON.parse(r.stdout)
    if (s.ok === 0) throw new Error(`no client got the image: ${JSON.stringify(s.statuses)}`)
    const failures = Object.entries(s.statuses as Record<string, number>).filter(([k]) => k !== '200')
    return {
      value: s.goodBytes / s.wallSeconds / 1e6,
      extra: { errors: s.errors, p50_s: s.latencyP50Ms / 1000, p99_s: s.latencyP99Ms / 1000, client_cpu_s: s.clientCpuSeconds },
      note: failures.length > 0 ? `answers: ${Object.entries(s.statuses).map(([k, v]) => `${String(v)} x ${k}`).join(', ')}` : undefined
    }
  })
}

async function fileDigest (file: string, algorithm: 'sha256' | 'sha512'): Promise<string> {
  const hash = createHash(algorithm)
  for await (const chunk of createReadStream(file, { highWaterMark: 4 * MiB })) hash.update(chunk as Buffer)
  return hash.digest('hex')
}
