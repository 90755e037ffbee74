// The interoperable import (issue 12) into RBD, Glint beside Glance in the same run. Per run and
// size, for each server in turn (the order rotating per run): glance-direct (create, PUT /stage,
// POST /import into the first cluster's store, wait for active), copy-image of that image into
// the second cluster's store (wait until it is in both), then web-download of the same file from
// the harness's loopback server into the first; then the baselines, the same bytes moved by the
// rbd CLI. Around every step: each cluster's client bytes (OSD perf counters, util/ceph-io.ts),
// the staging directory's peak size and the server's disk writes (/proc/PID/io), and the
// server's CPU-s and peak RSS (its whole process tree: Glance's API workers too). A result only
// counts when its os_hash_value is the file's sha512 and the bytes in the cluster, read back
// with rbd export after the step (outside its measured window), hash to it too.

import { createHash } from 'node:crypto'
import { createReadStream, readdirSync, lstatSync } from 'node:fs'
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { caseResult, type CaseResult, type RunOutcome, type SubjectRecorder } from '../measure.js'
import { createImage, deleteImage, getImage, getText, startImport } from '../clients/api.js'
import { stageImage, uploadToSink } from '../clients/curl.js'
import { rbdImageName, rbdImport, rbdRemove } from '../baselines/rbd.js'
import { TIME, timedArgs } from '../baselines/timed.js'
import { MiB } from '../data-files.js'
import { cephArgs, type Cluster } from '../targets/clusters.js'
import type { Target } from '../targets/target.js'
import { ioExtras, readAll } from '../util/ceph-io.js'
import { TreeMonitor, treeDiskBytes } from '../util/proc-stats.js'
import { describeFailure, runCommand, sleep, stopping } from '../util/process.js'
import { baselineRecorder, rotate, sizeLabel, targetRecorder, type BenchContext, type Scenario } from './context.js'

const POLL_MS = 200
// Tasks are looked at every this many polls: a failed task ends the wait at once.
const TASK_POLL_EVERY = 10
const SLOWEST_BYTES_PER_SECOND = 5e6

interface TargetCases {
  target?: Target
  direct: SubjectRecorder
  stage: SubjectRecorder
  importPhase: SubjectRecorder
  copy: SubjectRecorder
  web: SubjectRecorder
}

interface Baselines { sink: SubjectRecorder, rbdIn: SubjectRecorder, web: SubjectRecorder, copy: SubjectRecorder }

export const importScenario: Scenario = {
  name: 'import',
  title: (o) => `Interoperable import into RBD: glance-direct, web-download, copy-image (${o.importMiB.map(sizeLabel).join(', ')})`,
  description: () => 'Seconds, lower is better. glance-direct: POST /v2/images, curl -T into PUT .../stage (Content-Length), ' +
    'POST .../import {"method": {"name": "glance-direct"}, "stores": [first cluster]}, then GET every 0.2 s until active ' +
    '(stage and import also as cases of their own). copy-image: that active image copied into the second cluster\'s store, ' +
    'until it lists both stores. web-download: the same file from the harness\'s loopback HTTP server (allowed in both servers\' ' +
    '[import_filtering_opts]) into the first cluster, from POST /v2/images to active. slowest GET s: the longest one of those polls took. <store>_written/read MiB: the client bytes ' +
    'the cluster\'s OSDs took in and sent out during the step (perf counters osd.op_in_bytes, osd.op_out_bytes, before and after). ' +
    'staging dir peak MiB: the largest the server\'s os_glance_staging_store directory got (allocated blocks, sampled every 0.2 s); ' +
    'disk written MiB: the server tree\'s write_bytes (/proc/PID/io). Each result checked: os_hash_value = the file\'s sha512, ' +
    'and rbd export of the stored copy hashes to it (done after the step, not measured). ' +
    'Baselines: curl into the trivial sink (stage), rbd import of the file (import, end to end), curl from the loopback server | rbd import ' +
    '(web-download), rbd export | rbd import between the clusters (copy-image).',
  async run (ctx) {
    const cases: CaseResult[] = []
    for (const mib of ctx.opts.importMiB) cases.push(...await runSize(ctx, mib))
    return cases
  }
}

async function runSize (ctx: BenchContext, mib: number): Promise<CaseResult[]> {
  const bytes = mib * MiB
  const [src, dst] = ctx.clusters
  if (src === undefined) throw new Error('no Ceph cluster configured')
  const file = await ctx.files.ensure(mib)
  const sha512 = await fileSha512(file)
  const uri = `${ctx.trivial.url}/file?path=${encodeURIComponent(file)}`
  const size = sizeLabel(mib)
  const methods = new Set(ctx.opts.importMethods)

  const into = { id: src.storeId, cluster: src }
  const both = dst !== undefined ? [into, { id: dst.storeId, cluster: dst }] : [into]
  const targets: TargetCases[] = ([['glint', ctx.glint], ['glance', ctx.glance]] as const).map(([role, slot]) => {
    const copy = targetRecorder(ctx, slot, role, both, bytes)
    return {
      target: slot.target,
      direct: targetRecorder(ctx, slot, role, into, bytes),
      stage: targetRecorder(ctx, slot, role, into),
      importPhase: targetRecorder(ctx, slot, role, into),
      copy: dst === undefined ? copy.skip('copy-image needs a second Ceph cluster') : copy,
      web: targetRecorder(ctx, slot, role, into, bytes)
    }
  })
  const copyBase = baselineRecorder(ctx, `rbd export ${src.storeId} | rbd import ${dst?.storeId ?? '-'}`, { clusters: dst !== undefined ? [src, dst] : [src], bytes })
  const base: Baselines = {
    sink: baselineRecorder(ctx, 'curl -> trivial sink (loopback)', { server: true }),
    rbdIn: baselineRecorder(ctx, `rbd import -> ${src.storeId}`, { clusters: [src], bytes }),
    web: baselineRecorder(ctx, `curl <- loopback server | rbd import -> ${src.storeId}`, { clusters: [src], bytes }),
    copy: dst === undefined ? copyBase.skip('needs a second Ceph cluster') : copyBase
  }

  for (let run = 0; run < ctx.opts.runs; run++) {
    ctx.log(`import ${size}: run ${run + 1} of ${ctx.opts.runs}`)
    for (const t of rotate(targets, run)) {
      if (t.target === undefined || stopping.signal.aborted) continue
      if (methods.has('glance-direct')) await directThenCopy(ctx, t, t.target, { src, dst: methods.has('copy-image') ? dst : undefined, file, bytes, sha512 })
      if (methods.has('web-download')) await webDownload(ctx, t, t.target, { src, uri, bytes, sha512 })
    }
    await baselines(ctx, base, { src, dst: methods.has('copy-image') ? dst : undefined, file, uri, bytes, sha512 }, methods)
  }
  // Only this scenario uses this size's file in the common case: give the disk back now.
  if (mib !== ctx.opts.parallelMiB && mib !== ctx.opts.stormMiB) ctx.files.remove(mib)

  const lower = { lowerIsBetter: true }
  const [glint, glance] = targets
  const wanted = (id: string): boolean => [...methods].some((m) => id.includes(`/${m}`))
  return [
    caseResult(`import/${mib}/glance-direct/stage`, `glance-direct ${size}: PUT /stage`, 's', [glint.stage, glance.stage, base.sink], lower),
    caseResult(`import/${mib}/glance-direct/import`, `glance-direct ${size}: POST /import -> active in ${src.storeId}`, 's',
      [glint.importPhase, glance.importPhase, base.rbdIn], lower),
    caseResult(`import/${mib}/glance-direct`, `glance-direct ${size} -> ${src.storeId}, end to end`, 's', [glint.direct, glance.direct, base.rbdIn], lower),
    caseResult(`import/${mib}/copy-image`, `copy-image ${size} ${src.storeId} -> ${dst?.storeId ?? '(none)'}`, 's', [glint.copy, glance.copy, base.copy], lower),
    caseResult(`import/${mib}/web-download`, `web-download ${size} -> ${src.storeId}`, 's', [glint.web, glance.web, base.web], lower)
  ].filter((c) => wanted(c.id))
}

interface DirectPlan { src: Cluster, dst?: Cluster, file: string, bytes: number, sha512: string }

/** glance-direct into src, then (if that worked) copy-image of the same image into dst; the image deleted after. */
async function directThenCopy (ctx: BenchContext, t: TargetCases, target: Target, p: DirectPlan): Promise<void> {
  if (t.direct.skipped) return
  let id: string | undefined
  let phases: Record<'stage' | 'import', RunOutcome> | undefined
  try {
    const done = await t.direct.run(async () => await step(target, [p.src, ...(p.dst !== undefined ? [p.dst] : [])], async () => {
      const started = Date.now()
      const slowest = { s: 0 }
      id = await createImage(target.url, 'bench-import-direct')
      const stage = await phase(target, async () => { await stageImage(target.url, id!, p.file, p.bytes) })
      const imported = await phase(target, async () => {
        await startImport(target.url, id!, { method: { name: 'glance-direct' }, stores: [p.src.storeId] })
        checkImage(await waitFor(target.url, id!, [p.src.storeId], p.bytes, slowest), p.sha512, p.bytes, [p.src.storeId])
      })
      phases = { stage, import: imported }
      return {
        value: (Date.now() - started) / 1000,
        extra: {
          stage_s: stage.value,
          import_s: imported.value,
          stage_cpu_s: stage.usage!.cpuSeconds,
          import_cpu_s: imported.usage!.cpuSeconds,
          slowest_poll_s: slowest.s
        },
        peakRssMiB: Math.max(stage.usage!.peakRssMiB, imported.usage!.peakRssMiB)
      }
    }))
    const wrong = done !== undefined ? await storedMismatch(p.src, id!, p.sha512) : undefined
    if (wrong !== undefined) t.direct.failLast(wrong)
    for (const [name, recorder] of [['stage', t.stage], ['import', t.importPhase]] as const) {
      if (done !== undefined && wrong === undefined) recorder.add(phases![name])
      else if (!stopping.signal.aborted) recorder.add(undefined, wrong ?? 'the glance-direct run failed (see its end-to-end row)')
    }
    if (t.copy.skipped || p.dst === undefined) return
    if (done === undefined || wrong !== undefined) {
      if (!stopping.signal.aborted) t.copy.add(undefined, 'no image to copy: glance-direct failed')
      return
    }
    const dst = p.dst
    const copied = await t.copy.run(async () => await step(target, [p.src, dst], async () => {
      const started = Date.now()
      const slowest = { s: 0 }
      await startImport(target.url, id!, { method: { name: 'copy-image' }, stores: [dst.storeId] })
      checkImage(await waitFor(target.url, id!, [p.src.storeId, dst.storeId], p.bytes, slowest), p.sha512, p.bytes, [p.src.storeId, dst.storeId])
      return { value: (Date.now() - started) / 1000, extra: { slowest_poll_s: slowest.s } }
    }))
    const wrongCopy = copied !== undefined ? await storedMismatch(dst, id!, p.sha512) : undefined
    if (wrongCopy !== undefined) t.copy.failLast(wrongCopy)
  } finally {
    if (id !== undefined) await cleanup(ctx, target, id)
  }
}

async function webDownload (ctx: BenchContext, t: TargetCases, target: Target, p: { src: Cluster, uri: string, bytes: number, sha512: string }): Promise<void> {
  if (t.web.skipped) return
  let id: string | undefined
  try {
    const done = await t.web.run(async () => await step(target, [p.src], async () => {
      const started = Date.now()
      const slowest = { s: 0 }
      id = await createImage(target.url, 'bench-import-web')
      await startImport(target.url, id, { method: { name: 'web-download', uri: p.uri }, stores: [p.src.storeId] })
      checkImage(await waitFor(target.url, id, [p.src.storeId], p.bytes, slowest), p.sha512, p.bytes, [p.src.storeId])
      return { value: (Date.now() - started) / 1000, extra: { slowest_poll_s: slowest.s } }
    }))
    const wrong = done !== undefined ? await storedMismatch(p.src, id!, p.sha512) : undefined
    if (wrong !== undefined) t.web.failLast(wrong)
  } finally {
    if (id !== undefined) await cleanup(ctx, target, id)
  }
}

async function cleanup (ctx: BenchContext, target: Target, id: string): Promise<void> {
  const failure = await deleteImage(target.url, id)
  if (failure !== undefined) ctx.log(`cleanup: ${target.label}: ${failure}`)
}

/**
 * Runs one measured step and adds what it moved: each cluster's client bytes, the staging
 * directory's peak size, the server's disk writes.
 */
async function step (target: Target, clusters: Cluster[], body: () => Promise<RunOutcome>): Promise<RunOutcome> {
  const ioBefore = await readAll(clusters)
  const diskBefore = treeDiskBytes(target.pid)
  const staging = target.stagingDir !== undefined ? new PeakSize(target.stagingDir) : undefined
  try {
    const outcome = await body()
    const stagingPeak = staging?.stop()
    const extra: Record<string, number> = {
      ...outcome.extra,
      ...ioExtras(ioBefore, await readAll(clusters)),
      disk_written_mib: (treeDiskBytes(target.pid).write - diskBefore.write) / MiB
    }
    if (stagingPeak !== undefined) extra.staging_peak_mib = stagingPeak / MiB
    return { ...outcome, extra }
  } finally {
    staging?.stop()
  }
}

/** One phase of a step, timed, with the server tree's CPU-s and peak RSS over it. */
async function phase (target: Target, body: () => Promise<void>): Promise<RunOutcome> {
  const started = Date.now()
  const monitor = new TreeMonitor(target.pid)
  try {
    await body()
  } catch (err) {
    monitor.stop()
    throw err
  }
  return { value: (Date.now() - started) / 1000, usage: monitor.stop() }
}

/**
 * Polls the image until it is active in every one of `stores` (nothing importing), or fails.
 * A poll may wait as long as the step may last: Glance's worker answers no request while
 * librbd blocks its eventlet hub during a copy (its GETs took over 60 s at 4 GiB). The slowest
 * poll's seconds land in `slowest`.
 */
async function waitFor (base: string, id: string, stores: string[], bytes: number, slowest: { s: number }): Promise<Record<string, any>> {
  const deadline = Date.now() + (120 + bytes / SLOWEST_BYTES_PER_SECOND) * 1000
  for (let poll = 1; ; poll++) {
    if (stopping.signal.aborted) throw new Error('interrupted')
    const asked = Date.now()
    const image = await getImage(base, id, Math.max(1000, deadline - asked))
    slowest.s = Math.max(slowest.s, (Date.now() - asked) / 1000)
    const have = String(image.stores ?? '').split(',').filter(Boolean)
    const importing = String(image.os_glance_importing_to_stores ?? '').split(',').filter(Boolean)
    const failed = String(image.os_glance_failed_import ?? '').split(',').filter(Boolean)
    if (failed.some((s) => stores.includes(s))) throw new Error(`import into ${failed.join(', ')} failed (os_glance_failed_import)`)
    if (image.status === 'active' && stores.every((s) => have.includes(s)) && importing.length === 0) return image
    if (['killed', 'deleted', 'pending_delete'].includes(image.status)) throw new Error(`image became ${String(image.status)}`)
    if (poll % TASK_POLL_EVERY === 0) {
      const tasks = JSON.parse(await getText(base, `/v2/images/${id}/tasks`)) as { tasks?: Array<{ status: string, message?: string }> }
      const failure = tasks.tasks?.find((task) => task.status === 'failure')
      if (failure !== undefined) throw new Error(`import task failed: ${(failure.message ?? '').slice(0, 200)}`)
    }
    if (Date.now() > deadline) throw new Error(`not active in ${stores.join(', ')} in time (status ${String(image.status)}, stores "${have.join(',')}")`)
    await sleep(POLL_MS)
  }
}

/** A fast wrong answer must not count: the size and sha512 the server reports must be the file's. */
function checkImage (image: Record<string, any>, sha512: string, bytes: number, stores: string[]): void {
  if (image.size !== bytes) throw new Error(`wrong size: ${String(image.size)}, expected ${bytes}`)
  if (image.os_hash_algo !== 'sha512' || image.os_hash_value !== sha512) {
    throw new Error(`wrong hash: ${String(image.os_hash_algo)} ${String(image.os_hash_value).slice(0, 16)}..., expected sha512 ${sha512.slice(0, 16)}...`)
  }
  const have = String(image.stores ?? '').split(',')
  if (!stores.every((s) => have.includes(s))) throw new Error(`stores "${String(image.stores)}", expected ${stores.join(', ')}`)
}

/** Reads the stored copy back from the cluster (RBD image named by the image id) and hashes it. */
async function storedMismatch (cluster: Cluster, id: string, sha512: string): Promise<string | undefined> {
  try {
    const got = await rbdSha512(cluster, `${cluster.pool}/${id}`)
    return got === sha512 ? undefined : `the copy in ${cluster.storeId} hashes to ${got.slice(0, 16)}..., not the file's ${sha512.slice(0, 16)}...`
  } catch (err) {
    return `could not read the copy in ${cluster.storeId} back: ${(err as Error).message}`
  }
}

async function rbdSha512 (cluster: Cluster, spec: string): Promise<string> {
  const child = spawn('rbd', [...cephArgs(cluster), '--no-progress', 'export', spec, '-'], { stdio: ['ignore', 'pipe', 'pipe'] })
  const hash = createHash('sha512')
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => hash.update(d))
  child.stderr.on('data', (d) => { stderr += d })
  const timer = setTimeout(() => child.kill('SIGKILL'), 20 * 60_000)
  const code = await new Promise<number | null>((resolve) => { child.on('error', () => resolve(null)); child.on('close', resolve) })
  clearTimeout(timer)
  if (code !== 0) throw new Error(`rbd export ${spec} exited with ${String(code)}: ${stderr.trim().split('\n').pop() ?? ''}`)
  return hash.digest('hex')
}

async function fileSha512 (file: string): Promise<string> {
  const hash = createHash('sha512')
  for await (const chunk of createReadStream(file, { highWaterMark: 4 * MiB })) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

/** The largest a directory tree got (allocated bytes of its files), sampled while a step runs. */
class PeakSize {
  private peak = 0
  private readonly timer: NodeJS.Timeout
  private stopped = false

  constructor (private readonly dir: string) {
    this.sample()
    this.timer = setInterval(() => this.sample(), POLL_MS)
  }

  private sample (): void { this.peak = Math.max(this.peak, allocatedBytes(this.dir)) }

  stop (): number {
    if (!this.stopped) { this.stopped = true; clearInterval(this.timer); this.sample() }
    return this.peak
  }
}

function allocatedBytes (dir: string): number {
  let total = 0
  let names: string[]
  try { names = readdirSync(dir) } catch { return 0 }
  for (const name of names) {
    const path = join(dir, name)
    try {
      const st = lstatSync(path)
      if (st.isDirectory()) total += allocatedBytes(path)
      else if (st.isFile()) total += st.blocks * 512
    } catch { /* removed meanwhile */ }
  }
  return total
}

// ---------------------------------------------------------------- baselines

function q (s: string): string { return `'${s.replaceAll("'", "'\\''")}'` }

/** A bash pipeline under /usr/bin/time: seconds, with its CPU and peak RSS; each cluster's client bytes. */
async function timedPipeline (script: string, clusters: Cluster[], bytes: number, what: string): Promise<RunOutcome> {
  const before = await readAll(clusters)
  const r = await runCommand(TIME, timedArgs('bash', '-c', `set -o pipefail; ${script}`), { timeoutMs: (120 + bytes / SLOWEST_BYTES_PER_SECOND) * 1000 })
  const m = /@@time ([\d.]+) ([\d.]+) (\d+)/.exec(r.stderr)
  if (r.code !== 0 || m === null) throw new Error(describeFailure(what, r))
  return {
    value: r.wallSeconds,
    extra: ioExtras(before, await readAll(clusters)),
    usage: { cpuSeconds: Number(m[1]) + Number(m[2]), peakRssMiB: Number(m[3]) / 1024 }
  }
}

function rbdCli (cluster: Cluster, ...args: string[]): string {
  return ['rbd', ...cephArgs(cluster), '--no-progress', ...args].map(q).join(' ')
}

async function baselines (ctx: BenchContext, b: Baselines, p: { src: Cluster, dst?: Cluster, file: string, uri: string, bytes: number, sha512: string },
  methods: Set<string>): Promise<void> {
  if (methods.has('glance-direct')) await directBaselines(ctx, b, p)
  if (!methods.has('web-download')) return
  const webName = rbdImageName()
  try {
    await b.web.run(async () => await timedPipeline(
      `curl -sS --fail ${q(p.uri)} | ${rbdCli(p.src, 'import', '--image-format', '2', '--object-size', `${p.src.chunkMiB}M`, '-', `${p.src.pool}/${webName}`)}`,
      [p.src], p.bytes, 'curl | rbd import'))
  } finally {
    const failure = await rbdRemove(p.src, webName)
    if (failure !== undefined) ctx.log(`cleanup: ${failure}`)
  }
}

/** The curl-into-sink and rbd import baselines, then (with dst) the copy of that rbd image between the clusters. */
async function directBaselines (ctx: BenchContext, b: Baselines, p: { src: Cluster, dst?: Cluster, file: string, bytes: number, sha512: string }): Promise<void> {
  await b.sink.run(async () => {
    const r = await uploadToSink(ctx.trivial.url, p.file, p.bytes)
    return { value: p.bytes / 1e6 / r.value }
  })
  const name = rbdImageName()
  let imported: RunOutcome | undefined
  try {
    imported = await b.rbdIn.run(async () => {
      const before = await readAll([p.src])
      const r = await rbdImport(p.src, p.file, p.bytes, name)
      return { value: p.bytes / 1e6 / r.value, usage: r.usage, extra: ioExtras(before, await readAll([p.src])) }
    })
    if (imported !== undefined) {
      const wrong = await storedMismatch(p.src, name, p.sha512)
      if (wrong !== undefined) b.rbdIn.failLast(wrong)
    }
    const dst = p.dst
    if (dst !== undefined && !b.copy.skipped) {
      if (imported === undefined) b.copy.add(undefined, 'nothing to copy: rbd import failed')
      else {
        try {
          await b.copy.run(async () => await timedPipeline(
            `${rbdCli(p.src, 'export', `${p.src.pool}/${name}`, '-')} | ${rbdCli(dst, 'import', '--image-format', '2', '--object-size', `${dst.chunkMiB}M`, '-', `${dst.pool}/${name}`)}`,
            [p.src, dst], p.bytes, 'rbd export | rbd import'))
        } finally {
          const failure = await rbdRemove(dst, name)
          if (failure !== undefined) ctx.log(`cleanup: ${failure}`)
        }
      }
    }
  } finally {
    const failure = await rbdRemove(p.src, name)
    if (failure !== undefined) ctx.log(`cleanup: ${failure}`)
  }
}
