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

/** `limit`: a page of the listing; undefined: GET /v2/images/{id} of one image */
interface ListCase { id: string, title: string, limit?: number, connections: number, keepAlive: boolean, recorders: Map<string, SubjectRecorder> }

export const listing: Scenario = {
  name: 'listing',
  title: (o) => `Listing ${o.listImages} images, showing one; image creates`,
  description: (o) => `wrk -d${o.wrkSeconds}s --timeout 30s --latency, 1 or 2 threads; "close" = a new connection per request (Connection: close). ` +
    `show: GET /v2/images/{id} of one of them. creates: POST /v2/images over ${CREATE_CONCURRENCY} keep-alive connections. p50/p99 in ms; non2xx = non-2xx/3xx answers.`,
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
      // the image each target shows: one of its own
      const shown = new Map<string, string>()
      for (const [role, slot] of subjects) {
        const ids = slot.target === undefined ? undefined : created.get(slot.target)
        if (ids !== undefined && ids.length > 0) shown.set(role, ids[0])
      }
      if (reference !== undefined) {
        for (const limit of LIMITS) {
          const body = await getText(reference.url, `/v2/images?limit=${limit}`)
          await fetch(`${ctx.trivial.url}/static/list${limit}`, { method: 'PUT', body })
        }
        const body = await getText(reference.url, `/v2/images/${shown.get(reference.role)!}`)
        await fetch(`${ctx.trivial.url}/static/show`, { method: 'PUT', body })
      }

      const cases: ListCase[] = []
      const wanted = (id: string): boolean => ctx.opts.cases === undefined || ctx.opts.cases.some((c) => id.includes(c))
      const recordersOf = (): Map<string, SubjectRecorder> => {
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
        return recorders
      }
      for (const connections of CONNECTIONS) {
        const id = `listing/show/c=${connections}/keep-alive`
        if (wanted(id)) cases.push({ id, title: `show one image, ${connections} conn, keep-alive`, connections, keepAlive: true, recorders: recordersOf() })
      }
      for (const limit of LIMITS) {
        for (const connections of CONNECTIONS) {
          for (const keepAlive of [true, false]) {
            const id = `listing/limit=${limit}/c=${connections}/${keepAlive ? 'keep-alive' : 'close'}`
            if (!wanted(id)) continue
            cases.push({
              id,
              title: `limit=${limit}, ${connections} conn, ${keepAlive ? 'keep-alive' : 'close'}`,
              limit, connections, keepAlive, recorders: recordersOf()
            })
          }
        }
      }

      const createRecorders = new Map<string, SubjectRecorder>()
      const creates = wanted('listing/create')
      if (creates) {
        for (const [role, slot] of subjects) createRecorders.set(role, targetRecorder(ctx, slot, role))
        createRecorders.set('baseline', baselineRecorder(ctx, 'trivial server, same client', { server: true }))
      }

      for (let run = 0; run < ctx.opts.runs; run++) {
        ctx.log(`listing: run ${run + 1} of ${ctx.opts.runs}`)
        for (const c of cases) {
          for (const [key, recorder] of rotate([...c.recorders.entries()], run)) {
            const base = key === 'baseline' ? undefined : subjects.find(([role]) => role === key)![1].target
            const path = c.limit !== undefined ? `/v2/images?limit=${c.limit}` : `/v2/images/${shown.get(key)}`
            const url = base !== undefined ? `${base.url}${path}` : `${ctx.trivial.url}/static/${c.limit !== undefined ? `list${c.limit}` : 'show'}`
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
        ...(creates ? [caseResult('listing/create', `create images (${CREATE_CONCURRENCY} conn)`, 'creates/s', [...createRecorders.values()])] : [])
      ]
    } finally {
      for (const [target, ids] of created) await deleteImages(ctx, target.url, ids)
    }
  }
}
