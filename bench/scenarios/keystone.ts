// Keystone tokens, as a cloud uses the service: every request carries X-Auth-Token. A Glint with
// flavor = keystone (its own validation cache) beside Glance 25.1 behind keystonemiddleware
// (its in-process cache, one per worker), both validating against the same test Keystone as
// the same service user, with the same images, in the same run:
// - latency of GET /v2/images/{id} with a token neither server has seen (one validation call
//   to Keystone each), with a token already validated (the cache), and without Keystone in the
//   path at all (the trusted-header servers the other scenarios use);
// - GET /v2/images/{id} and ?limit=25 with a validated token at 1 and 64 connections (wrk).
// Keystone's CPU is read around every run beside the server's. Baselines: Keystone's own
// validation call (the floor of a first request), and the trivial server returning the same JSON.

import { join } from 'node:path'
import { writeFileSync } from 'node:fs'
import { caseResult, type CaseResult, type RunOutcome, SubjectRecorder } from '../measure.js'
import { IDENTITY_HEADERS, createImage, deleteImage } from '../clients/api.js'
import { bootKeystone, createAccount, deleteAccount, issueToken, type Keystone } from '../clients/keystone.js'
import { runWrk, wrkAvailable } from '../clients/wrk.js'
import { startGlint } from '../targets/glint.js'
import { startGlance } from '../targets/glance.js'
import type { Target, TargetSlot } from '../targets/target.js'
import { benchScript } from '../util/paths.js'
import { percentile } from '../util/percentile.js'
import { cpuSeconds, processTree } from '../util/proc-stats.js'
import { describeFailure, runCommand } from '../util/process.js'
import { baselineRecorder, rotate, targetRecorder, type BenchContext, type Scenario } from './context.js'
import { createImages } from './images.js'

const CONNECTIONS = [1, 64]
const LATENCY_DEADLINE_MS = 10 * 60_000
// Identity for the trusted-header servers: a member of the images' project, as the token's user is.
const MEMBER_HEADERS = { ...IDENTITY_HEADERS, 'X-Roles': 'member' }

type Role = 'glint' | 'glance'
type Headers = Record<string, string>

interface Side {
  role: Role
  /** the server validating Keystone tokens */
  keystone: TargetSlot
  /** an image of the token's project there */
  imageId?: string
  /** why this side cannot be measured (beyond the server missing) */
  failure?: string
}

export const keystone: Scenario = {
  name: 'keystone',
  title: (o) => `Keystone tokens: GET /v2/images/{id} and ?limit=25 of ${o.listImages} images`,
  description: (o) => `Glint: flavor = keystone; Glance: keystonemiddleware (its in-process cache, one per worker, token_cache_time 300 s). ` +
    `Latencies in ms (median of the run, p99 in the details) of GET /v2/images/{id} over one keep-alive connection: ` +
    `"new token" = ${o.newTokenRequests} requests per run, each with a token issued just before (untimed), so each is validated against Keystone; ` +
    `"cached token" = ${o.cachedRequests} requests with one validated token; "no Keystone" = the same request to the trusted-header servers. ` +
    'For latencies the ratios are speed ratios (Glance ms / Glint ms: above 1 = Glint faster). ' +
    `wrk -d${o.wrkSeconds}s --latency, keep-alive, with one token for all wrk runs (validated when a server first meets it: Glint once per ` +
    'token_cache_time; Glance in each worker, once per connection that brings it there before the first answer). ' +
    "keystone_cpu_s = the test Keystone's uwsgi during the run " +
    '(shared with other users of this machine).',
  async run (ctx) {
    let ks: Keystone
    try {
      ks = await bootKeystone()
    } catch (err) {
      const reason = `the test Keystone is not up: ${(err as Error).message}`
      return results(plan((role, kind) => new SubjectRecorder(role, kind === 'validation' || kind === 'trivial' ? BASELINE_LABELS[kind] : role === 'glint' ? 'Glint' : 'Glance', {}, { timeoutMs: 0 }).skip(reason)))
    }
    const account = await createAccount(ks.url)
    const stops: Array<() => Promise<void>> = []
    const trustedImages: Array<[string, string]> = []
    try {
      const owner = await issueToken(ks.url, account.username, account.password, account.projectName)
      const sides: Side[] = [
        { role: 'glint', keystone: await startSide(ctx, 'Glint', stops, async () => await startGlint({ workDir: ctx.workDir, fileDir: join(ctx.workDir, 'images'), clusters: ctx.clusters, keystoneUrl: ks.url, name: 'glint-keystone' })) },
        {
          role: 'glance',
          keystone: ctx.opts.againstGlance
            ? await startSide(ctx, 'Glance', stops, async () => await startGlance({ workDir: ctx.workDir, fileDir: join(ctx.workDir, 'images'), clusters: ctx.clusters, log: ctx.log, keystoneUrl: ks.url, name: 'glance-keystone' }))
            : { unavailable: 'not requested (run with --against-glance)' }
        }
      ]

      // The same images on both, created through the API as the token's user (untimed).
      for (const side of sides) {
        const target = side.keystone.target
        if (target === undefined) continue
        ctx.log(`keystone: creating ${ctx.opts.listImages} images in ${target.label}`)
        try {
          const r = await createImages(ctx, target.url, ctx.opts.listImages, owner)
          if (r.created !== ctx.opts.listImages) side.failure = `only ${r.created} of ${ctx.opts.listImages} images could be created: ${r.firstError}`
          side.imageId = r.ids[0]
        } catch (err) {
          side.failure = `could not create the images: ${(err as Error).message}`
        }
      }
      // One image on each trusted-header server, for the requests without Keystone.
      const trustedIds = new Map<Role, string>()
      for (const [role, slot] of [['glint', ctx.glint], ['glance', ctx.glance]] as const) {
        if (slot.target === undefined) continue
        const id = await createImage(slot.target.url, 'bench-keystone-no-auth')
        trustedIds.set(role, id)
        trustedImages.push([slot.target.url, id])
      }

      const reference = sides.find((s) => s.keystone.target !== undefined && s.failure === undefined)
      const statics = reference === undefined ? undefined : await copyResponses(ctx, reference, owner)
      const haveWrk = await wrkAvailable()
      const wrkToken = await issueToken(ks.url, account.username, account.password, account.projectName)
      const serviceToken = await issueToken(ks.url, 'glance', 'glance', 'service')

      const cases = plan((role, kind) => {
        if (kind === 'validation') return baselineRecorder(ctx, BASELINE_LABELS.validation)
        if (kind === 'trivial') {
          const r = baselineRecorder(ctx, BASELINE_LABELS.trivial, { server: true })
          return statics === undefined ? r.skip('no server returned the image to copy') : r
        }
        if (role === 'baseline') throw new Error('a baseline is validation or trivial')
        if (kind === 'trusted') {
          const r = targetRecorder(ctx, role === 'glint' ? ctx.glint : ctx.glance, role)
          return trustedIds.has(role) || r.skipped ? r : r.skip('no image')
        }
        const side = sides.find((s) => s.role === role)!
        const r = targetRecorder(ctx, side.keystone, role)
        return side.failure !== undefined && !r.skipped ? r.skip(side.failure) : r
      })
      const { newToken, cached, noKeystone } = cases
      const wrkCases = cases.wrk
      if (!haveWrk) for (const c of wrkCases) for (const r of c.recorders.values()) if (!r.skipped) r.skip('wrk is not installed (apt-get install -y wrk)')

      const url = (role: string, what: 'show' | 'list25', trusted = false): string => {
        if (role === 'baseline') return `${ctx.trivial.url}/static/keystone-${what}`
        if (trusted) return `${(role === 'glint' ? ctx.glint : ctx.glance).target!.url}/v2/images/${trustedIds.get(role as Role)}`
        const side = sides.find((s) => s.role === role)!
        return `${side.keystone.target!.url}${what === 'show' ? `/v2/images/${side.imageId}` : '/v2/images?limit=25'}`
      }
      const token = async (): Promise<string> => await issueToken(ks.url, account.username, account.password, account.projectName)

      for (let run = 0; run < ctx.opts.runs; run++) {
        ctx.log(`keystone: run ${run + 1} of ${ctx.opts.runs}`)
        for (const [role, recorder] of rotate([...newToken.entries()], run)) {
          if (recorder.skipped) continue
          // tokens issued before the timed part: Keystone's CPU then counts only validations
          const tokens: string[] = []
          for (let i = 0; i < ctx.opts.newTokenRequests; i++) tokens.push(await token())
          const warm = await token()
          await recorder.run(async () => await keystoneCpu(ks, async () => role === 'baseline'
            ? await latencies(ctx, `${ks.url}/auth/tokens`, [], tokens.map((t) => ({ 'X-Auth-Token': serviceToken, 'X-Subject-Token': t })))
            : await latencies(ctx, url(role, 'show'), [{ 'X-Auth-Token': warm }], tokens.map((t) => ({ 'X-Auth-Token': t })))))
        }
        for (const [role, recorder] of rotate([...cached.entries()], run)) {
          if (recorder.skipped) continue
          const t = await token()
          const headers: Headers = role === 'baseline' ? {} : { 'X-Auth-Token': t }
          await recorder.run(async () => await keystoneCpu(ks, async () =>
            await latencies(ctx, url(role, 'show'), [headers, headers], Array.from({ length: ctx.opts.cachedRequests }, () => headers))))
        }
        for (const [role, recorder] of rotate([...noKeystone.entries()], run)) {
          const headers = role === 'baseline' ? {} : MEMBER_HEADERS
          await recorder.run(async () => await keystoneCpu(ks, async () =>
            await latencies(ctx, url(role, 'show', true), [headers, headers], Array.from({ length: ctx.opts.cachedRequests }, () => headers))))
        }
        for (const c of wrkCases) {
          for (const [role, recorder] of rotate([...c.recorders.entries()], run)) {
            const headers: Headers = role === 'baseline' ? {} : { 'X-Auth-Token': wrkToken }
            await recorder.run(async () => await keystoneCpu(ks, async () =>
              await runWrk({ url: url(role, c.what), connections: c.connections, durationSec: ctx.opts.wrkSeconds, keepAlive: true, headers })))
          }
        }
      }

      return results(cases)
    } finally {
      // The Keystone servers' images hold no data and their databases are dropped when they stop.
      for (const [base, id] of trustedImages) {
        const failure = await deleteImage(base, id)
        if (failure !== undefined) ctx.log(`cleanup: ${failure}`)
      }
      for (const stop of stops.reverse()) await stop().catch((err) => ctx.log(`cleanup: ${(err as Error).message}`))
      await deleteAccount(ks.url, account).catch((err) => ctx.log(`cleanup: deleting the Keystone account: ${(err as Error).message}`))
    }
  }
}

/** What a subject of a case is: a server with Keystone or with trusted headers, or a baseline. */
type Kind = 'keystone' | 'trusted' | 'validation' | 'trivial'

const BASELINE_LABELS = { validation: "Keystone's validation call (GET /v3/auth/tokens)", trivial: 'trivial server, same JSON' }

interface WrkCase { what: 'show' | 'list25', connections: number, recorders: Map<string, SubjectRecorder> }
interface Plan { newToken: Map<string, SubjectRecorder>, cached: Map<string, SubjectRecorder>, noKeystone: Map<string, SubjectRecorder>, wrk: WrkCase[] }

/** The cases and their subjects, each subject's recorder made by `recorder`. */
function plan (recorder: (role: Role | 'baseline', kind: Kind) => SubjectRecorder): Plan {
  const trio = (kind: Kind, baseline: Kind): Map<string, SubjectRecorder> =>
    new Map([['glint', recorder('glint', kind)], ['glance', recorder('glance', kind)], ['baseline', recorder('baseline', baseline)]])
  return {
    newToken: trio('keystone', 'validation'),
    cached: trio('keystone', 'trivial'),
    noKeystone: trio('trusted', 'trivial'),
    wrk: (['show', 'list25'] as const).flatMap((what) => CONNECTIONS.map((connections) => ({ what, connections, recorders: trio('keystone', 'trivial') })))
  }
}

function results (p: Plan): CaseResult[] {
  const lower = { lowerIsBetter: true }
  return [
    caseResult('keystone/show/new-token', 'show, new token (validated)', 'ms', [...p.newToken.values()], lower),
    caseResult('keystone/show/cached-token', 'show, cached token', 'ms', [...p.cached.values()], lower),
    caseResult('keystone/show/no-keystone', 'show, no Keystone (trusted headers)', 'ms', [...p.noKeystone.values()], lower),
    ...p.wrk.map((c): CaseResult => caseResult(`keystone/${c.what}/c=${c.connections}`,
      `${c.what === 'show' ? 'GET /v2/images/{id}' : 'GET /v2/images?limit=25'}, token, ${c.connections} conn`, 'req/s', [...c.recorders.values()]))
  ]
}

async function startSide (ctx: BenchContext, name: string, stops: Array<() => Promise<void>>, start: () => Promise<Target>): Promise<TargetSlot> {
  try {
    const target = await start()
    stops.push(async () => { ctx.log(`stopping ${target.label} (pid ${target.pid})`); await target.stop() })
    ctx.log(`${target.label} is up at ${target.url} (pid ${target.pid})`)
    return { target }
  } catch (err) {
    const reason = `${name} with Keystone could not be started: ${(err as Error).message}`
    ctx.log(reason)
    return { unavailable: reason }
  }
}

/** The show and list bodies, served by the trivial server as the baselines' responses. */
async function copyResponses (ctx: BenchContext, side: Side, token: string): Promise<true | undefined> {
  const base = side.keystone.target!.url
  for (const [name, path] of [['show', `/v2/images/${side.imageId}`], ['list25', '/v2/images?limit=25']]) {
    const res = await fetch(base + path, { headers: { 'X-Auth-Token': token } })
    const body = await res.text()
    if (res.status !== 200) { ctx.log(`keystone: GET ${path} gave ${res.status}: ${body.slice(0, 200)}`); return undefined }
    await fetch(`${ctx.trivial.url}/static/keystone-${name}`, { method: 'PUT', body })
  }
  return true
}

/** Runs `fn` and adds the test Keystone's CPU seconds (its uwsgi tree) during it to the details. */
async function keystoneCpu (ks: Keystone, fn: () => Promise<RunOutcome>): Promise<RunOutcome> {
  const before = cpuSeconds(processTree(ks.pid))
  const outcome = await fn()
  return { ...outcome, extra: { ...outcome.extra, keystone_cpu_s: cpuSeconds(processTree(ks.pid)) - before } }
}

/** Sequential GETs by the load client: the median latency, p99 in the details; every answer must be 200. */
async function latencies (ctx: BenchContext, url: string, warmup: Headers[], timed: Headers[]): Promise<RunOutcome> {
  const plan = join(ctx.workDir, `latency-${Date.now()}-${Math.random().toString(16).slice(2)}.json`)
  writeFileSync(plan, JSON.stringify({ url, warmup, timed }))
  const r = await runCommand(process.execPath, [benchScript('clients/http-load.js'), 'latency', plan], { timeoutMs: LATENCY_DEADLINE_MS })
  if (r.code !== 0) throw new Error(describeFailure('latency client', r))
  const { ms, statuses, warmupStatuses } = JSON.parse(r.stdout) as { ms: number[], statuses: number[], warmupStatuses: number[] }
  const bad = [...warmupStatuses, ...statuses].filter((s) => s !== 200)
  if (bad.length > 0) throw new Error(`${bad.length} of ${warmupStatuses.length + statuses.length} answers were not 200 (first: ${bad[0]})`)
  return { value: percentile(ms, 50), extra: { p99_ms: percentile(ms, 99), max_ms: Math.max(...ms) } }
}
