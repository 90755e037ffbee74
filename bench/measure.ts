// The result model: every figure is a median over the runs with min and max beside it, and
// every measured subject (Glint, Glance, a baseline) carries the server's CPU seconds and peak
// RSS per run. A subject that could not be measured carries the reason instead.

import { TreeMonitor, waitForIdle, processTree, cpuSeconds } from './util/proc-stats.js'
import { stopping } from './util/process.js'

export type Role = 'glint' | 'glance' | 'baseline'

export interface Figure { median: number, min: number, max: number, runs: number[] }

export interface Subject {
  role: Role
  /** e.g. "Glint", "Glance 25.1", "rbd import" */
  label: string
  /** the main figure (throughput: higher is better) */
  value?: Figure
  /** secondary figures, e.g. p50_ms, p99_ms, non2xx, errors */
  extra: Record<string, Figure>
  cpuSeconds?: Figure
  peakRssMiB?: Figure
  /** why there is no figure */
  notMeasured?: string
  /** things worth knowing about the runs: partial failures, a server that never went idle */
  notes: string[]
}

export interface CaseResult {
  id: string
  title: string
  unit: string
  /** a latency: the ratios are then speed ratios, Glance's (or the baseline's) median / Glint's */
  lowerIsBetter?: boolean
  subjects: Subject[]
  /** Glint median / Glance median (for lowerIsBetter: Glance / Glint, so above 1 = Glint ahead) */
  glintOverGlance?: number
  /** Glint median / the tightest baseline's median (the limit the machine sets) */
  glintOverBaseline?: number
  baselineUsed?: string
}

export interface ScenarioResult {
  name: string
  title: string
  description: string
  cases: CaseResult[]
  /** the whole scenario could not run */
  notMeasured?: string
}

export function figure (runs: number[]): Figure {
  const sorted = [...runs].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  const median = sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
  return { median, min: sorted[0], max: sorted[sorted.length - 1], runs }
}

/** One run's outcome; throw NotMeasured (or anything) from a run to record a failure. */
export interface RunOutcome {
  value: number
  extra?: Record<string, number>
  note?: string
  /** the CPU and memory of a baseline command, when no server tree is watched */
  usage?: { cpuSeconds: number, peakRssMiB: number }
  /**
   * A peak RSS the run saw itself: a run that watches its phases with monitors of its own resets
   * the high-water mark at each phase, which the whole run's monitor may then have missed.
   */
  peakRssMiB?: number
}

export class NotMeasured extends Error {}

/** What to watch around a run. */
export interface Watch {
  /** the server whose process tree is measured (and must be idle before a run) */
  pid?: number
  /** several servers measured together (gateways behind one proxy): CPU and RSS summed over their trees */
  pids?: number[]
  /** other processes that must be quiet before a run (e.g. the Ceph OSD the run talks to) */
  quietPids?: () => number[]
  /** the OSDs a run writes to or reads from: their CPU seconds per GiB moved go in the details */
  osdPids?: () => number[]
  /** bytes one run moves: turns CPU seconds into CPU seconds per GiB */
  bytes?: number
}

const GiB = 1024 ** 3

export interface IdlePolicy { timeoutMs: number }

const QUIET_TIMEOUT_MS = 20_000

interface Sample { outcome?: RunOutcome, error?: string, cpuSeconds?: number, peakRssMiB?: number, note?: string }

/** Collects the runs of one subject of one case. */
export class SubjectRecorder {
  private readonly samples: Sample[] = []
  private skipReason?: string

  constructor (readonly role: Role, readonly label: string, private readonly watch: Watch,
    private readonly idle: IdlePolicy) {}

  /** Marks the subject as not measurable before any run (store absent, Glance not requested...). */
  skip (reason: string): this { this.skipReason = reason; return this }

  get skipped (): boolean { return this.skipReason !== undefined }

  /**
   * Waits for the server (and its quiet set) to go idle, then runs `fn` while watching the
   * server's process tree. After a first-run failure later runs are skipped: same cause.
   */
  async run (fn: () => Promise<RunOutcome>): Promise<RunOutcome | undefined> {
    if (this.skipReason !== undefined || stopping.signal.aborted) return undefined
    if (this.samples.length > 0 && this.samples.every((s) => s.error !== undefined)) return undefined
    let note: string | undefined
    const { pid, quietPids } = this.watch
    const roots = this.watch.pids ?? (pid !== undefined ? [pid] : [])
    if (roots.length > 0) {
      const idle = await waitForIdle(() => roots.flatMap(processTree), { threshold: 0.05 * roots.length, quietMs: 1000, timeoutMs: this.idle.timeoutMs })
      if (!idle) note = `server not idle after ${Math.round(this.idle.timeoutMs / 1000)} s before a run`
    }
    if (quietPids !== undefined) {
      // Shared with other users of the clusters: a looser threshold and a shorter wait.
      const quiet = await waitForIdle(quietPids, { threshold: 0.15, quietMs: 1000, timeoutMs: QUIET_TIMEOUT_MS })
      if (!quiet) note = [note, `Ceph OSD busy before a run (waited ${QUIET_TIMEOUT_MS / 1000} s)`].filter(Boolean).join('; ')
    }
    const monitor = roots.length > 0 ? new TreeMonitor(roots) : undefined
    const osds = this.watch.osdPids?.() ?? []
    const osdCpuBefore = cpuSeconds(osds)
    let sample: Sample
    try {
      const outcome = await fn()
      sample = { outcome, note: outcome.note }
    } catch (err) {
      sample = { error: err instanceof Error ? err.message : String(err) }
    }
    const watched = monitor?.stop()
    let usage = watched ?? sample.outcome?.usage
    const seen = sample.outcome?.peakRssMiB
    if (usage !== undefined && seen !== undefined && seen > usage.peakRssMiB) usage = { ...usage, peakRssMiB: seen }
    if (sample.outcome !== undefined && this.watch.pids !== undefined && watched !== undefined) {
      // with several servers the sum hides what one of them needs
      sample.outcome = { ...sample.outcome, extra: { ...sample.outcome.extra, rss_max_process_MiB: watched.maxProcessRssMiB } }
    }
    const gib = (this.watch.bytes ?? 0) / GiB
    if (sample.outcome !== undefined && gib > 0) {
      const extra: Record<string, number> = { ...sample.outcome.extra }
      if (usage !== undefined) extra.cpu_s_per_gib = usage.cpuSeconds / gib
      if (osds.length > 0) extra.osd_cpu_s_per_gib = (cpuSeconds(osds) - osdCpuBefore) / gib
      sample.outcome = { ...sample.outcome, extra }
    }
    if (stopping.signal.aborted) return undefined // killed by the interruption: not a result
    this.samples.push({ ...sample, ...usage, note: [note, sample.note].filter(Boolean).join('; ') || undefined })
    return sample.outcome
  }

  /**
   * Turns the last run into a failure: a check made after it (outside the measured window, so
   * its own I/O does not count) found the result wrong, and a fast wrong answer must not count.
   */
  failLast (error: string): void {
    const last = this.samples[this.samples.length - 1]
    if (last !== undefined) this.samples[this.samples.length - 1] = { error }
  }

  /** Adds a run measured elsewhere (a baseline shared by several cases). */
  add (outcome: RunOutcome | undefined, error?: string): void {
    this.samples.push(outcome !== undefined ? { outcome, ...outcome.usage } : { error: error ?? 'failed' })
  }

  result (): Subject {
    const subject: Subject = { role: this.role, label: this.label, extra: {}, notes: [] }
    if (this.skipReason !== undefined) return { ...subject, notMeasured: this.skipReason }
    const ok = this.samples.filter((s) => s.outcome !== undefined)
    const failed = this.samples.filter((s) => s.error !== undefined)
    if (this.samples.length === 0) return { ...subject, notMeasured: stopping.signal.aborted ? 'interrupted' : 'no run happened' }
    if (ok.length === 0) return { ...subject, notMeasured: failed[0].error }
    subject.value = figure(ok.map((s) => s.outcome!.value))
    for (const key of new Set(ok.flatMap((s) => Object.keys(s.outcome!.extra ?? {})))) {
      const values = ok.map((s) => s.outcome!.extra?.[key]).filter((v): v is number => v !== undefined && Number.isFinite(v))
      if (values.length > 0) subject.extra[key] = figure(values)
    }
    const cpu = ok.map((s) => s.cpuSeconds).filter((v): v is number => v !== undefined)
    const rss = ok.map((s) => s.peakRssMiB).filter((v): v is number => v !== undefined)
    if (cpu.length > 0) subject.cpuSeconds = figure(cpu)
    if (rss.length > 0) subject.peakRssMiB = figure(rss)
    if (failed.length > 0) subject.notes.push(`${failed.length} of ${this.samples.length} runs failed: ${failed[0].error}`)
    for (const note of new Set(ok.map((s) => s.note).filter(Boolean))) subject.notes.push(note!)
    return subject
  }
}

/** Builds a case from its recorders and works out the ratios (speed ratios: above 1 = Glint ahead). */
export function caseResult (id: string, title: string, unit: string, recorders: SubjectRecorder[], opts: { lowerIsBetter?: boolean } = {}): CaseResult {
  const subjects = recorders.map((r) => r.result())
  const lower = opts.lowerIsBetter === true
  const result: CaseResult = { id, title, unit, ...(lower ? { lowerIsBetter: true } : {}), subjects }
  const speed = (glint: number, other: number): number => (lower ? other / glint : glint / other)
  // a latency of 0 has no speed ratio
  const glint = subjects.find((s) => s.role === 'glint' && !(lower && s.value?.median === 0))?.value?.median
  const glance = subjects.find((s) => s.role === 'glance')?.value?.median
  if (glint !== undefined && glance !== undefined && glance > 0) result.glintOverGlance = speed(glint, glance)
  const baselines = subjects.filter((s) => s.role === 'baseline' && s.value !== undefined && s.value.median > 0)
  if (glint !== undefined && baselines.length > 0) {
    // the tightest baseline: the slowest (lowest rate, or highest latency)
    const tightest = baselines.reduce((a, b) => ((lower ? b.value!.median > a.value!.median : b.value!.median < a.value!.median) ? b : a))
    result.glintOverBaseline = speed(glint, tightest.value!.median)
    result.baselineUsed = tightest.label
  }
  return result
}
