// The versions document (GET / answers 300 with it, GET /versions 200) and the health check.

import type { AppContext } from '../../context.js'
import type { Exchange } from '../exchange.js'
import type { Routes } from '../router.js'

// Glint implements everything through 2.16 that clients gate on (multi-store, stores info,
// store delete), so every version from 2.0 is advertised, 2.16 current.
const VERSIONS = Array.from({ length: 17 }, (_, i) => `v2.${16 - i}`)

export function baseUrl (ctx: AppContext, ex: Exchange): string {
  if (ctx.config.publicEndpoint !== undefined) return ctx.config.publicEndpoint.replace(/\/$/, '')
  return `http://${ex.headers.host ?? `${ctx.config.bindHost}:${ctx.config.bindPort}`}`
}

export function versionsDocument (ctx: AppContext, ex: Exchange): unknown {
  const href = `${baseUrl(ctx, ex)}/v2/`
  return {
    versions: VERSIONS.map((id, i) => ({ id, status: i === 0 ? 'CURRENT' : 'SUPPORTED', links: [{ rel: 'self', href }] }))
  }
}

/** How long /healthcheck waits for the registry before it says the service is unhealthy. */
const HEALTH_QUERY_MS = 2000

/** 200 only while the registry answers: a load balancer must not send requests that would hang. */
async function healthcheck (ex: Exchange, ctx: AppContext): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<'late'>((resolve) => { timer = setTimeout(() => resolve('late'), HEALTH_QUERY_MS) })
  const answer = await Promise.race([ctx.sql`select 1`.then(() => 'ok' as const, () => 'failed' as const), late])
  clearTimeout(timer)
  const text = answer === 'ok' ? 'OK' : 'Registry unavailable'
  ex.send(answer === 'ok' ? 200 : 503, text, { 'Content-Type': 'text/plain; charset=UTF-8' })
}

export const versionRoutes: Routes<AppContext> = {
  '/versions': { GET: { anonymous: true, handle: (ex, ctx) => ex.json(200, versionsDocument(ctx, ex)) } },
  '/healthcheck': { GET: { anonymous: true, handle: healthcheck } }
}
