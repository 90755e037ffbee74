// Concurrent HTTP clients, run as their own process so the harness's bookkeeping never
// competes with them on the event loop. Prints one JSON line with the figures.
//
//   node dist/bench/clients/http-load.js storm  URL CLIENTS DEADLINE_MS [SHA256]
//       CLIENTS simultaneous GETs of URL, each on its own connection (a boot storm: every
//       hypervisor fetches the same image); bodies are counted and discarded. With SHA256,
//       every body is hashed (sha256: the cheapest digest here, SHA-NI) and one that differs
//       counts as an error; the client's own CPU seconds are reported either way.
//   node dist/bench/clients/http-load.js create BASE COUNT CONCURRENCY IDS_FILE DEADLINE_MS
//       COUNT image creates (POST BASE/v2/images, or BASE itself if it ends in /create)
//       over CONCURRENCY keep-alive connections; the new ids go to IDS_FILE.
//   node dist/bench/clients/http-load.js delete BASE IDS_FILE CONCURRENCY DEADLINE_MS
//   node dist/bench/clients/http-load.js latency PLAN_FILE
//       the requests of PLAN_FILE ({url, warmup: [headers], timed: [headers]}) one after the
//       other over one keep-alive connection; prints each timed request's status and ms.
//
// With BENCH_AUTH_TOKEN set, create and delete send X-Auth-Token instead of the identity headers.

import { Agent, request } from 'node:http'
import { createHash, type Hash } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { IDENTITY_HEADERS } from './api.js'
import { percentile } from '../util/percentile.js'

interface Reply { status: number, bytes: number, body: string, ttfbMs: number, totalMs: number, error?: string, sha256?: string }

const AUTH_HEADERS: Record<string, string> = process.env.BENCH_AUTH_TOKEN !== undefined ? { 'X-Auth-Token': process.env.BENCH_AUTH_TOKEN } : IDENTITY_HEADERS

function send (url: URL, method: string, agent: Agent | false, body: string | undefined, keepBody: boolean, deadline: number,
  requestHeaders: Record<string, string> = AUTH_HEADERS, hashBody = false): Promise<Reply> {
  return new Promise((resolve) => {
    const started = performance.now()
    let ttfbMs = 0
    let bytes = 0
    let text = ''
    const hash: Hash | undefined = hashBody ? createHash('sha256') : undefined
    const headers: Record<string, string> = { ...requestHeaders }
    if (body !== undefined) { headers['Content-Type'] = 'application/json'; headers['Content-Length'] = String(Buffer.byteLength(body)) }
    let finished = false
    const done = (status: number, error?: string): void => {
      // 'aborted', 'error' and 'end' may all come: the first one counts (a digest is final)
      if (finished) return
      finished = true
      clearTimeout(timer)
      resolve({ status, bytes, body: text, ttfbMs, totalMs: performance.now() - started, error, sha256: hash?.digest('hex') })
    }
    const req = request(url, { method, agent, headers }, (res) => {
      ttfbMs = performance.now() - started
      res.on('data', (chunk: Buffer) => { bytes += chunk.byteLength; hash?.update(chunk); if (keepBody) text += chunk })
      res.on('end', () => done(res.statusCode ?? 0))
      res.on('error', (err) => done(res.statusCode ?? 0, err.message))
      res.on('aborted', () => done(res.statusCode ?? 0, 'response aborted'))
    })
    const timer = setTimeout(() => { req.destroy(new Error('deadline reached')) }, Math.max(0, deadline - Date.now()))
    req.on('error', (err) => done(0, err.message))
    req.end(body)
  })
}

async function storm (url: string, clients: number, deadlineMs: number, sha256?: string): Promise<unknown> {
  const deadline = Date.now() + deadlineMs
  const cpuBefore = process.cpuUsage()
  const started = performance.now()
  // agent:false: one fresh connection per request, as separate hypervisors would have.
  const replies = await Promise.all(Array.from({ length: clients }, async () =>
    await send(new URL(url), 'GET', false, undefined, false, deadline, AUTH_HEADERS, sha256 !== undefined)))
  const wallSeconds = (performance.now() - started) / 1000
  const cpu = process.cpuUsage(cpuBefore)
  const bytes = replies.reduce((sum, r) => sum + r.bytes, 0)
  const expected = Math.max(...replies.filter((r) => r.status === 200 && r.error === undefined).map((r) => r.bytes), 0)
  const badDigest = (r: Reply): boolean => sha256 !== undefined && r.sha256 !== sha256
  const ok = replies.filter((r) => r.status === 200 && r.error === undefined && r.bytes === expected && !badDigest(r))
  const statuses: Record<string, number> = {}
  for (const r of replies) {
    const key = r.error !== undefined ? `error: ${r.error}` : r.status === 200 && badDigest(r) ? '200 with other bytes' : String(r.status)
    statuses[key] = (statuses[key] ?? 0) + 1
  }
  return {
    wallSeconds,
    bytes,
    /** bytes of complete answers with the right digest: what the clients could boot from */
    goodBytes: ok.reduce((sum, r) => sum + r.bytes, 0),
    hashChecked: sha256 !== undefined,
    clientCpuSeconds: (cpu.user + cpu.system) / 1e6,
    ok: ok.length,
    errors: clients - ok.length,
    statuses,
    latencyP50Ms: percentile(replies.map((r) => r.totalMs), 50),
    latencyP99Ms: percentile(replies.map((r) => r.totalMs), 99),
    ttfbP50Ms: percentile(replies.map((r) => r.ttfbMs), 50)
  }
}

/** Runs `count` jobs over `concurrency` lanes. */
async function lanes (count: number, concurrency: number, job: (i: number) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, async () => {
    while (next < count) await job(next++)
  }))
}

async function create (base: string, count: number, concurrency: number, idsFile: string, deadlineMs: number): Promise<unknown> {
  const deadline = Date.now() + deadlineMs
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency })
  const url = new URL(base.endsWith('/create') ? base : `${base}/v2/images`)
  const ids: string[] = []
  const errors: string[] = []
  const started = performance.now()
  await lanes(count, concurrency, async (i) => {
    if (Date.now() > deadline) { errors.push('deadline reached'); return }
    const body = JSON.stringify({ name: `bench-${String(i).padStart(5, '0')}`, disk_format: 'raw', container_format: 'bare' })
    const r = await send(url, 'POST', agent, body, true, deadline)
    if (r.status === 201) ids.push(JSON.parse(r.body).id)
    else errors.push(r.error ?? `HTTP ${r.status}`)
  })
  const seconds = (performance.now() - started) / 1000
  agent.destroy()
  writeFileSync(idsFile, ids.join('\n'))
  return { seconds, created: ids.length, errors: errors.length, firstError: errors[0], perSecond: ids.length / seconds }
}

async function remove (base: string, idsFile: string, concurrency: number, deadlineMs: number): Promise<unknown> {
  const deadline = Date.now() + deadlineMs
  const ids = readFileSync(idsFile, 'utf8').split('\n').filter(Boolean)
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency })
  let failed = 0
  await lanes(ids.length, concurrency, async (i) => {
    const r = await send(new URL(`${base}/v2/images/${ids[i]}`), 'DELETE', agent, undefined, false, deadline)
    if (r.status !== 204 && r.status !== 404) failed++
  })
  agent.destroy()
  return { deleted: ids.length - failed, failed }
}

interface LatencyPlan { url: string, warmup: Array<Record<string, string>>, timed: Array<Record<string, string>> }

/** Sequential requests on one kept-alive connection: the warm-ups, then the timed ones. */
async function latency (planFile: string): Promise<unknown> {
  const plan = JSON.parse(readFileSync(planFile, 'utf8')) as LatencyPlan
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  const url = new URL(plan.url)
  const deadline = Date.now() + 600_000
  const warmupStatuses: number[] = []
  for (const headers of plan.warmup) warmupStatuses.push((await send(url, 'GET', agent, undefined, false, deadline, headers)).status)
  const ms: number[] = []
  const statuses: number[] = []
  for (const headers of plan.timed) {
    const r = await send(url, 'GET', agent, undefined, false, deadline, headers)
    ms.push(r.totalMs)
    statuses.push(r.error !== undefined ? 0 : r.status)
  }
  agent.destroy()
  return { warmupStatuses, ms, statuses }
}

async function main (): Promise<void> {
  const [mode, ...args] = process.argv.slice(2)
  let result: unknown
  if (mode === 'storm') result = await storm(args[0], Number(args[1]), Number(args[2]), args[3])
  else if (mode === 'create') result = await create(args[0], Number(args[1]), Number(args[2]), args[3], Number(args[4]))
  else if (mode === 'latency') result = await latency(args[0])
  else if (mode === 'delete') result = await remove(args[0], args[1], Number(args[2]), Number(args[3]))
  else throw new Error(`unknown mode ${mode}`)
  process.stdout.write(JSON.stringify(result) + '\n')
}

main().catch((err) => { process.stderr.write(`http-load: ${err?.stack ?? err}\n`); process.exit(1) })
