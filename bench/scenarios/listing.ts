// Listing and creating images: what a cloud's control plane (Horizon, Nova, OSC, tempest)
// asks of the service all day. The baseline serves the very JSON Glint returned from a
// trivial node:http server, so it shows this machine's limit for that response size.

import { caseResult, type CaseResult, type RunOutcome, type SubjectRecorder } from '../measure.js'
import { getText } from '../clients/api.js'
import { runWrk, wrkAvailable } from '../clients/wrk.js'
import type { Target } from '../targets/target.js'
import { baselineRecorder, rotate, targetRecorder, type Scenario } from './context.js'
import { CREATE_CONCURRENCY, createImages, deleteImages } from './images.js'

const LIMITS = [25, 1000]
const CONNECTIONS = [1, 64]

interface ListCase { id: string, title: string, limit: number, connections: number, keepAlive: boolean, recorders: Map<string, SubjectRecorder> }

export const listing: Scenario = {
  name: 'listing',
  title: (o) => `Listing ${o.listImages} images; image creates`,
  description: (o) => `wrk -d${o.wrkSeconds}s --timeout 30s --latency, 1 or 2 threads; "close" = a new connection per request (Connection: close). ` +
    `creates: POST /v2/images over ${CREATE_CONCURRENCY} keep-alive connections. p50/p99 in ms; non2xx = non-2xx/3xx answers.`,
  async run (ctx) {
    const haveWrk = await wrkAvailable()
    const subjects = [['glint', ctx.glint], ['glance', ctx.glance]] as const
    const created = new Map<Target, string[]>()
    const populated = new Map<string, string | undefined>() // role -> failure

    try {
      // Fill each target with the images to list (not timed: the create rate is its own case).
      for (const [role, slot] of subjects) {
        if (slot.target === undefined) continue
        ctx.log(`listing: creating ${ctx.opts.listImages} images in ${slot.target.label}`)
        try {
          const r = await createImages(ctx, slot.target.url, ctx.opts.listImages)
          created.set(slot.target, [...(created.get(slot.target) ?? []), ...r.ids])
          populated.set(role, r.created === ctx.opts.listImages ? undefined : `only ${r.created} of ${ctx.opts.listImages} images could be created: ${r.firstError}`)
        } catch (err) {
          populated.set(role, `could not create the images: ${(err as Error).message}`)
        }
      }
      const reference = subjects.map(([, slot]) => slot.target).find((t) => t !== undefined && populated.get(t.role) === undefined)
      if (reference !== undefined) {
        for (const limit of LIMITS) {
          const body = await getText(reference.url, `/v2/images?limit=${limit}`)
          await fetch(`${ctx.trivial.url}/static/list${limit}`, { method: 'PUT', body })
        }
      }

      const cases: ListCase[] = []
      for (const limit of LIMITS) {
        for (const connections of CONNECTIONS) {
          for (const keepAlive of [true, false]) {
            const recorders = new Map<string, SubjectRecorder>()
            for (const [role, slot] of subjects) {
              const r = targetRecorder(ctx, slot, role)
              const failure = populated.get(role) ?? (haveWrk ? undefined : 'wrk is not installed (apt-get install -y wrk)')
              recorders.set(role, failure !== undefined && !r.skipped ? r.skip(failure) : r)
            }
            const baseline = baselineRecorder(ctx, 'trivial server, same JSON', { server: true })
            if (!haveWrk) baseline.skip('wrk is not installed (apt-get install -y wrk)')
            else if (reference === undefined) baseline.skip('no server returned a listing to copy')
            recorders.set('baseline', baseline)
            cases.push({
              id: `listing/limit=${limit}/c=${connections}/${keepAlive ? 'keep-alive' : 'close'}`,
              title: `limit=${limit}, ${connections} conn, ${keepAlive ? 'keep-alive' : 'close'}`,
              limit, connections, keepAlive, recorders
            })
          }
        }
      }

      const createRecorders = new Map<string, SubjectRecorder>()
      for (const [role, slot] of subjects) createRecorders.set(role, targetRecorder(ctx, slot, role))
      createRecorders.set('baseline', baselineRecorder(ctx, 'trivial server, same client', { server: true }))

      for (let run = 0; run < ctx.opts.runs; run++) {
        ctx.log(`listing: run ${run + 1} of ${ctx.opts.runs}`)
        for (const c of cases) {
          for (const [key, recorder] of rotate([...c.recorders.entries()], run)) {
            const base = key === 'baseline' ? undefined : subjects.find(([role]) => role === key)![1].target
            const url = base !== undefined ? `${base.url}/v2/images?limit=${c.limit}` : `${ctx.trivial.url}/static/list${c.limit}`
            await recorder.run(async () => await runWrk({ url, connections: c.connections, durationSec: ctx.opts.wrkSeconds, keepAlive: c.keepAlive }))
          }
        }
        for (const [key, recorder] of rotate([...createRecorders.entries()], run)) {
          const target = key === 'baseline' ? undefined : subjects.find(([role]) => role === key)![1].target
          await recorder.run(async () => {
            const r = await createImages(ctx, target?.url ?? `${ctx.trivial.url}/create`, ctx.opts.createImages)
            if (target !== undefined) created.set(target, [...(created.get(target) ?? []), ...r.ids])
            if (r.created === 0) throw new Error(`no image created: ${r.firstError}`)
            const outcome: RunOutcome = { value: r.perSecond, extra: { errors: r.errors } }
            return outcome
          })
        }
      }

      return [
        ...cases.map((c): CaseResult => caseResult(c.id, c.title, 'req/s', [...c.recorders.values()])),
        caseResult('listing/create', `create images (${CREATE_CONCURRENCY} conn)`, 'creates/s', [...createRecorders.values()])
      ]
    } finally {
      for (const [target, ids] of created) await deleteImages(ctx, target.url, ids)
    }
  }
}
