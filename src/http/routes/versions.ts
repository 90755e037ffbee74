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

export const versionRoutes: Routes<AppContext> = {
  '/versions': { GET: { anonymous: true, handle: (ex, ctx) => ex.json(200, versionsDocument(ctx, ex)) } },
  '/healthcheck': { GET: { anonymous: true, handle: (ex) => ex.send(200, 'OK', { 'Content-Type': 'text/plain; charset=UTF-8' }) } }
}
