// Request-rate runs with wrk (Debian's wrk 4.1): req/s, p50, p99 and the non-2xx/3xx count,
// over keep-alive connections (wrk's default) or a new connection per request.

import { IDENTITY_HEADERS } from './api.js'
import { describeFailure, runCommand } from '../util/process.js'
import type { RunOutcome } from '../measure.js'

export interface WrkRun {
  url: string
  connections: number
  durationSec: number
  keepAlive: boolean
  /** request headers (default: the trusted identity headers) */
  headers?: Record<string, string>
}

const REQUEST_TIMEOUT_SEC = 30

export async function wrkAvailable (): Promise<boolean> {
  const r = await runCommand('wrk', ['--version'], { timeoutMs: 5000 })
  return r.code !== null && /^wrk /.test(r.stdout + r.stderr)
}

function toMs (text: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text)
  if (m === null) return NaN
  return Number(m[1]) * { us: 0.001, ms: 1, s: 1000, m: 60_000 }[m[2] as 'us']
}

export function parseWrk (out: string): { rps: number, p50Ms: number, p99Ms: number, requests: number, non2xx: number, socketErrors: number } {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN)
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN)
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0)
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out)
  const socketErrors = socket === null ? 0 : socket.slice(1).map(Number).reduce((a, b) => a + b, 0)
  return {
    rps,
    requests,
    non2xx,
    socketErrors,
    p50Ms: toMs(/^\s+50%\s+(\S+)/m.exec(out)?.[1] ?? ''),
    p99Ms: toMs(/^\s+99%\s+(\S+)/m.exec(out)?.[1] ?? '')
  }
}

export async function runWrk (run: WrkRun): Promise<RunOutcome> {
  const headers = Object.entries(run.headers ?? IDENTITY_HEADERS).flatMap(([k, v]) => ['-H', `${k}: ${v}`])
  if (!run.keepAlive) headers.push('-H', 'Connection: close')
  const threads = Math.min(run.connections, 2)
  const r = await runCommand('wrk', ['-t', String(threads), '-c', String(run.connections), '-d', `${run.durationSec}s`,
    '--timeout', `${REQUEST_TIMEOUT_SEC}s`, '--latency', ...headers, run.url],
  { timeoutMs: (run.durationSec + REQUEST_TIMEOUT_SEC + 15) * 1000 })
  if (r.code !== 0) throw new Error(describeFailure('wrk', r))
  const w = parseWrk(r.stdout)
  if (!Number.isFinite(w.rps)) throw new Error(`cannot read wrk's output: ${r.stdout.slice(0, 200)}`)
  const completed = w.requests - w.non2xx
  // With no 2xx completion at all, the figure is an error count, not a rate.
  if (completed <= 0) throw new Error(`no successful response in ${run.durationSec} s (${w.non2xx} non-2xx, ${w.socketErrors} socket errors)`)
  return {
    value: w.rps,
    extra: { p50_ms: w.p50Ms, p99_ms: w.p99Ms, non2xx: w.non2xx, socket_errors: w.socketErrors }
  }
}
