// Validated tokens, so a request with a known token costs a Map lookup instead of a round
// trip to Keystone. Bounded (the oldest entry goes first), an entry is trusted for at most
// `ttlMs` (keystonemiddleware's token_cache_time) and never past the token's own expiry: an
// expired token is refused from here without asking Keystone. Tokens Keystone refused are
// remembered too (a refused token never becomes valid).

import type { Identity } from '../identity.js'

interface Entry { identity: Identity | null, freshUntil: number, expiresAt: number }

export type Lookup = { state: 'valid', identity: Identity } | { state: 'invalid' } | { state: 'unknown' }

export interface TokenCache {
  lookup: (token: string, now: number) => Lookup
  remember: (token: string, identity: Identity | null, now: number) => void
  readonly size: number
}

export function tokenCache (ttlMs: number, maxEntries: number): TokenCache {
  const entries = new Map<string, Entry>()
  const UNKNOWN: Lookup = { state: 'unknown' }
  const INVALID: Lookup = { state: 'invalid' }

  return {
    lookup (token, now) {
      const entry = entries.get(token)
      if (entry === undefined) return UNKNOWN
      if (now >= entry.expiresAt) {
        // expired for good: keep refusing it without Keystone
        entry.identity = null
        entry.expiresAt = Infinity
        entry.freshUntil = Infinity
        return INVALID
      }
      if (now >= entry.freshUntil) { entries.delete(token); return UNKNOWN }
      return entry.identity === null ? INVALID : { state: 'valid', identity: entry.identity }
    },
    remember (token, identity, now) {
      entries.delete(token)
      if (entries.size >= maxEntries) entries.delete(entries.keys().next().value as string)
      const expiresAt = identity?.expiresAt ?? Infinity
      entries.set(token, { identity, expiresAt, freshUntil: Math.min(now + ttlMs, expiresAt) })
    },
    get size () { return entries.size }
  }
}
