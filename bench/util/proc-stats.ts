// What a server costs, read from /proc for its whole process tree (Glance forks worker
// processes; Glint's store workers are threads, so its tree is one process):
// CPU seconds = utime+stime (+ cutime+cstime for children already reaped), peak RSS = the
// sum of each process's VmHWM, reset before every run through /proc/<pid>/clear_refs.

import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { sleep } from './process.js'

const CLOCK_TICKS_PER_SECOND = 100 // sysconf(_SC_CLK_TCK) on Linux x86-64/arm64

interface ProcStat { pid: number, ppid: number, ticks: number, reapedTicks: number }

function readStat (pid: number): ProcStat | undefined {
  let text: string
  try { text = readFileSync(`/proc/${pid}/stat`, 'utf8') } catch { return undefined }
  // "pid (comm) state ppid ...": comm may contain spaces and parentheses; cut after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ')
  if (fields[0] === 'Z') return undefined
  const at = (n: number): number => Number(fields[n - 3]) // fields are numbered from 1 in proc(5)
  return { pid, ppid: at(4), ticks: at(14) + at(15), reapedTicks: at(16) + at(17) }
}

/** The pid and all its live descendants. */
export function processTree (root: number): number[] {
  const children = new Map<number, number[]>()
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    const stat = readStat(Number(name))
    if (stat === undefined) continue
    const list = children.get(stat.ppid) ?? []
    list.push(stat.pid)
    children.set(stat.ppid, list)
  }
  const tree: number[] = []
  const queue = [root]
  while (queue.length > 0) {
    const pid = queue.shift()!
    if (readStat(pid) === undefined) continue
    tree.push(pid)
    queue.push(...(children.get(pid) ?? []))
  }
  return tree
}

export function cpuSeconds (pids: number[]): number {
  let ticks = 0
  for (const pid of pids) {
    const stat = readStat(pid)
    if (stat !== undefined) ticks += stat.ticks + stat.reapedTicks
  }
  return ticks / CLOCK_TICKS_PER_SECOND
}

function statusKiB (pid: number, field: 'VmHWM' | 'VmRSS'): number | undefined {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m === null ? undefined : Number(m[1])
  } catch { return undefined }
}

/** "5" resets VmHWM to the current RSS (Linux >= 4.0); false when we may not (not our process). */
function resetPeakRss (pid: number): boolean {
  try { writeFileSync(`/proc/${pid}/clear_refs`, '5'); return true } catch { return false }
}

/**
 * Watches a server's tree while one run lasts. Polling picks up workers forked mid-run and
 * keeps the high-water mark of processes that exit before the end.
 */
export class TreeMonitor {
  private readonly peakKiB = new Map<number, number>()
  private readonly cpuAtStart: number
  private readonly timer: NodeJS.Timeout
  private readonly lastCpu = new Map<number, number>()

  private readonly roots: number[]

  /** One server's tree, or several (the gateways behind one proxy), summed. */
  constructor (root: number | number[]) {
    this.roots = Array.isArray(root) ? root : [root]
    for (const pid of this.trees()) {
      resetPeakRss(pid)
      this.lastCpu.set(pid, cpuSeconds([pid]))
    }
    this.cpuAtStart = [...this.lastCpu.values()].reduce((a, b) => a + b, 0)
    this.poll()
    this.timer = setInterval(() => this.poll(), 200)
  }

  private trees (): number[] { return this.roots.flatMap(processTree) }

  private poll (): void {
    const live = new Set(this.trees())
    for (const pid of live) {
      const hwm = statusKiB(pid, 'VmHWM')
      if (hwm !== undefined) this.peakKiB.set(pid, Math.max(this.peakKiB.get(pid) ?? 0, hwm))
      this.lastCpu.set(pid, cpuSeconds([pid]))
    }
    // A worker that exited mid-run: its parent's cutime+cstime now carries its CPU time.
    for (const pid of this.lastCpu.keys()) if (!live.has(pid)) this.lastCpu.delete(pid)
  }

  /** CPU-s of all the trees, the sum of their processes' peak RSS, and the largest single one's. */
  stop (): { cpuSeconds: number, peakRssMiB: number, maxProcessRssMiB: number } {
    this.poll()
    clearInterval(this.timer)
    const now = [...this.lastCpu.values()].reduce((a, b) => a + b, 0)
    const peaks = [...this.peakKiB.values()]
    const peak = peaks.reduce((a, b) => a + b, 0)
    return { cpuSeconds: Math.max(0, now - this.cpuAtStart), peakRssMiB: peak / 1024, maxProcessRssMiB: Math.max(0, ...peaks) / 1024 }
  }
}

export interface IdleOptions {
  /** CPU seconds per second (cores) below which the tree counts as idle */
  threshold: number
  /** how long it must stay below */
  quietMs: number
  timeoutMs: number
}

/**
 * Waits until the processes stop using CPU: a server still working off abandoned requests
 * from the previous run (Glance does) would otherwise steal from the next one.
 * Resolves true when idle, false when the deadline passed first.
 */
export async function waitForIdle (pids: () => number[], opts: IdleOptions): Promise<boolean> {
  const deadline = Date.now() + opts.timeoutMs
  const step = 250
  let quietSince = Date.now()
  let last = cpuSeconds(pids())
  while (Date.now() < deadline) {
    await sleep(step)
    const now = cpuSeconds(pids())
    const rate = (now - last) / (step / 1000)
    last = now
    if (rate > opts.threshold) quietSince = Date.now()
    else if (Date.now() - quietSince >= opts.quietMs) return true
  }
  return false
}

/**
 * Bytes the tree's live processes made the kernel read from and write to block devices
 * (/proc/PID/io read_bytes, write_bytes: page-cache writes count when dirtied, so a staged file
 * deleted before writeback still counts). Network I/O (librbd to the OSDs) is not in it.
 */
export function treeDiskBytes (root: number): { read: number, write: number } {
  let read = 0
  let write = 0
  for (const pid of processTree(root)) {
    let text: string
    try { text = readFileSync(`/proc/${pid}/io`, 'utf8') } catch { continue }
    read += Number(/^read_bytes:\s+(\d+)/m.exec(text)?.[1] ?? 0)
    write += Number(/^write_bytes:\s+(\d+)/m.exec(text)?.[1] ?? 0)
  }
  return { read, write }
}
