// Image reads (show, list) answered from memory while the registry has not changed, for every
// gateway on one database: each write to the image tables announces itself (NOTIFY glint_images,
// a trigger, migration 6), and every cache listens on a connection of its own and forgets
// everything when it hears one.
//
// A notification arrives a moment after its commit, so a hit alone could serve what another
// gateway changed just before this request came. Before answering, a read therefore makes one
// round trip on the listening connection: PostgreSQL sends a session the notifications of
// every transaction committed before its query ends ahead of that query's answer, so once the
// round trip is back, every change committed before the request arrived has been heard. The
// round trip is shared: requests that arrive while one is under way wait for the next one only.
// Without the listener (connecting, reconnecting, down) nothing is served from memory.

import type { Sql } from 'postgres'
import type { Logger } from 'pino'
import type { RegistryConnection } from './connect.js'

const CHANNEL = 'glint_images'
/** entries kept; the oldest goes first (a page of 25 images is about 25 KB) */
const MAX_ENTRIES = 2048

export interface ReadCache {
  /** `key`'s value, from memory when the registry has not changed since it was read, else `load()`'s. */
  get: <T extends object>(key: string, load: () => Promise<T>) => Promise<T>
  close: () => Promise<void>
}

/** Values are handed to many requests: frozen, so a caller that would change one fails loudly. */
function deepFreeze<T> (value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value
  for (const v of Object.values(value)) deepFreeze(v)
  return Object.freeze(value)
}

export function openReadCache (listenerOf: NonNullable<RegistryConnection['listener']>, log: Logger): ReadCache {
  const entries = new Map<string, object>()
  /** changes heard (and connections lost): a load that saw it move may hold stale rows */
  let generation = 0
  /** the last round trip failed (warned once per outage) */
  let down = false
  let listening: Promise<unknown> | undefined
  const forget = (): void => { generation++; entries.clear() }
  const listener: Sql = listenerOf({
    onnotify: (channel) => { if (channel === CHANNEL) forget() },
    // notifications sent while it was away are lost: forget, and listen again on the next read
    onclose: () => { forget(); listening = undefined }
  })

  const listen = async (): Promise<unknown> => {
    listening ??= listener.unsafe(`listen ${CHANNEL}`).catch((err) => { listening = undefined; throw err })
    return await listening
  }
  const roundTrip = async (): Promise<void> => {
    await listen()
    await listener`select 1`
  }
  let inFlight: Promise<void> | undefined
  let following: Promise<void> | undefined
  /** Resolves once every change committed before this call has been heard. */
  const heardAll = async (): Promise<void> => {
    if (inFlight === undefined) {
      inFlight = roundTrip().finally(() => { inFlight = undefined })
      return await inFlight
    }
    // the one under way may have been sent before this request's changes committed
    following ??= inFlight.catch(() => {}).then(async () => { following = undefined; await heardAll() })
    return await following
  }

  return {
    async get (key, load) {
      try {
        await heardAll()
        down = false
      } catch (err) {
        if (!down) log.warn({ err }, 'registry read cache: cannot listen, reading the registry until it can')
        down = true
        return await load()
      }
      const hit = entries.get(key)
      if (hit !== undefined) return hit as any
      const before = generation
      const value = await load()
      if (generation !== before || listening === undefined) return value
      if (entries.size >= MAX_ENTRIES) entries.delete(entries.keys().next().value!)
      entries.set(key, deepFreeze(value))
      return value
    },
    close: async () => { await listener.end({ timeout: 1 }) }
  }
}
