// The route table: which handler serves a path and method, with Glance's answers for the
// misses (404 unknown path, 405 + Allow for a known path with another method).

import type { Exchange } from './exchange.js'

export type BodyMode = 'none' | 'json' | 'stream'

export interface Handler<C> {
  /** 'json': the body is read (bounded) and parsed before `handle`; 'stream': `handle` reads it. */
  body?: BodyMode
  /** Served before authentication, as Glance's healthcheck and version negotiation are. */
  anonymous?: boolean
  handle: (ex: Exchange, ctx: C) => void | Promise<void>
}

export type Routes<C> = Record<string, Partial<Record<string, Handler<C>>>>

interface CompiledRoute<C> { pattern: string, segments: string[], methods: Partial<Record<string, Handler<C>>> }

export interface Match<C> { pattern: string, methods: Partial<Record<string, Handler<C>>>, params: string[] }

export function createRouter<C> (routes: Routes<C>): (path: string) => Match<C> | undefined {
  const compiled: Array<CompiledRoute<C>> = Object.entries(routes).map(([pattern, methods]) => ({
    pattern,
    segments: pattern.split('/').slice(1),
    methods
  }))
  return function match (path) {
    const parts = path.split('/').slice(1)
    for (const route of compiled) {
      if (route.segments.length !== parts.length) continue
      const params: string[] = []
      let ok = true
      for (let i = 0; i < parts.length && ok; i++) {
        const want = route.segments[i]
        if (want.startsWith(':')) {
          if (parts[i] === '') ok = false
          else params.push(safeDecode(parts[i]))
        } else if (want !== parts[i]) ok = false
      }
      if (ok) return { pattern: route.pattern, methods: route.methods, params }
    }
    return undefined
  }
}

function safeDecode (part: string): string {
  try { return decodeURIComponent(part) } catch { return part }
}

/** Maps /v2.N/... (N = 0..16) onto /v2/...; returns undefined for an unknown version prefix. */
export function normalizeVersion (path: string): string | undefined {
  const m = /^\/v(\d+)(?:\.(\d+))?(\/.*)?$/.exec(path)
  if (m === null) return path
  if (m[1] !== '2' || (m[2] !== undefined && Number(m[2]) > 16)) return undefined
  return `/v2${m[3] ?? ''}`
}
