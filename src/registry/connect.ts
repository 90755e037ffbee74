// Opens the registry: the configured PostgreSQL when there is a URL, else embedded PGlite,
// then brings the schema up to date.

import postgres, { type Sql } from 'postgres'
import { join } from 'node:path'
import { startEmbedded, type EmbeddedDatabase } from './embedded.js'
import { migrate } from './migrate.js'
import { Errors, type GlintError } from '../errors.js'

// The database cannot be reached or is going away: postgres.js's connection errors, the
// socket's, and SQLSTATE class 08 (connection exception) and 57P01-57P03 (shutdown, restart).
const UNREACHABLE = new Set(['CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED', 'CONNECT_TIMEOUT',
  'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN', '57P01', '57P02', '57P03'])

/**
 * The answer for a registry failure that is not a bug: a statement cancelled by its time
 * limit, or a database that cannot be reached (503: the client may retry; nothing changed).
 */
export function registryFailure (err: unknown): GlintError | undefined {
  const code = (err as { code?: string } | null)?.code
  if (code === undefined) return undefined
  if (code === '57014') return Errors.registryTimeout()
  if (UNREACHABLE.has(code) || code.startsWith('08')) return Errors.registryUnavailable()
  return undefined
}

/**
 * libpq's unix-socket form, which Glance configs use: `postgresql://user@/glance?host=/run/postgresql`
 * (no host in the authority, the socket directory as a parameter). The client wants a host
 * there, and the directory as its own option.
 */
function libpqUrl (raw: string): { url: string, socketDir?: string } {
  const filled = raw.replace(/^([\w+.-]+:\/\/(?:[^@/?]*@)?)(?=[/?]|$)/, '$1localhost')
  const url = new URL(filled)
  const host = url.searchParams.get('host')
  if (host === null || !host.startsWith('/')) return { url: filled }
  url.searchParams.delete('host')
  return { url: url.toString(), socketDir: host }
}

export interface RegistryConnection {
  sql: Sql
  mode: 'postgres' | 'embedded'
  applied: number[]
  /**
   * One more connection of its own, outside the pool, that hears NOTIFY (src/registry/read-cache.ts);
   * undefined for the embedded registry, whose socket does not deliver notifications.
   */
  listener?: (hooks: { onnotify: (channel: string, payload: string) => void, onclose: () => void }) => Sql
  close (): Promise<void>
}

// bigint columns (size) come back as strings by default; image sizes fit in 2^53.
const types = { bigint: { to: 20, from: [20], serialize: String, parse: Number } }

// One connection: PGlite is a single session, and pglite-socket interleaves the protocol
// messages of several client connections (unnamed portals clobbered, transactions mixed), which
// under concurrency gave spurious 404s and 500s ("portal \"\" does not exist"). postgres.js
// pipelines queries on the one connection; PGlite runs one at a time anyway.
const EMBEDDED_POOL = 1
const CONNECT_TIMEOUT_SEC = 5

export interface RegistryOptions {
  url?: string
  poolSize: number
  dataDir: string
  inMemory?: boolean
  /** PostgreSQL cancels any statement that runs longer (0: no limit) */
  queryTimeoutSec?: number
}

export async function openRegistry (opts: RegistryOptions): Promise<RegistryConnection> {
  let embedded: EmbeddedDatabase | undefined
  let sql: Sql
  let listener: RegistryConnection['listener']
  if (opts.url !== undefined) {
    // statement_timeout is enforced by the server, so a query is cancelled even when the
    // client that asked for it has gone. The embedded registry cannot interrupt a query (it
    // runs in this thread): there, what a request may ask for is bounded instead.
    const connection = { application_name: 'glint', statement_timeout: Math.round((opts.queryTimeoutSec ?? 0) * 1000) }
    const { url, socketDir } = libpqUrl(opts.url)
    // A database that does not answer fails a request in seconds, not after postgres.js's 30.
    const common = { types, onnotice: () => {}, connection, connect_timeout: CONNECT_TIMEOUT_SEC, ...(socketDir !== undefined ? { host: socketDir } : {}) }
    sql = postgres(url, { max: opts.poolSize, ...common })
    // never closed for being idle or old: a closed listener misses notifications
    listener = (hooks) => postgres(url, { ...common, max: 1, idle_timeout: 0, max_lifetime: null, ...hooks } as any)
  } else {
    embedded = await startEmbedded(opts.inMemory === true ? undefined : join(opts.dataDir, 'registry'), EMBEDDED_POOL)
    sql = postgres({ path: embedded.socketPath, database: 'postgres', username: 'postgres', max: EMBEDDED_POOL, types, onnotice: () => {} })
  }
  try {
    const applied = await migrate(sql)
    return {
      sql,
      mode: embedded === undefined ? 'postgres' : 'embedded',
      applied,
      listener,
      async close () {
        await sql.end({ timeout: 5 })
        await embedded?.stop()
      }
    }
  } catch (err) {
    await sql.end({ timeout: 1 }).catch(() => {})
    await embedded?.stop().catch(() => {})
    throw err
  }
}

/**
 * Connections Glint processes hold on this registry database, by state (pg_stat_activity,
 * which sees the pool's idle connections too; the asking connection is not counted).
 */
export async function connectionUse (sql: Sql): Promise<Array<{ state: string, count: number }>> {
  return await sql<Array<{ state: string, count: number }>>`select coalesce(state, 'unknown') as state, count(*)::int as count
    from pg_stat_activity where application_name = 'glint' and datname = current_database() and pid <> pg_backend_pid()
    group by 1`
}
