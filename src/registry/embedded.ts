// The embedded registry: PGlite (PostgreSQL compiled to wasm) behind a unix socket, so the
// same porsager `postgres` client and the same SQL serve both modes. PGlite is a single
// session: queries are serialized and LISTEN/NOTIFY does not cross the socket, so nothing in
// the registry depends on either.

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { PGLiteSocketServer } from '@electric-sql/pglite-socket'

export interface EmbeddedDatabase {
  socketPath: string
  stop (): Promise<void>
}

/** `dataDir` undefined keeps everything in memory (tests). */
export async function startEmbedded (dataDir: string | undefined, maxConnections: number): Promise<EmbeddedDatabase> {
  if (dataDir !== undefined) mkdirSync(dataDir, { recursive: true })
  const db = await PGlite.create(dataDir ?? 'memory://')
  // A unix socket path must stay under 108 bytes, so it lives in a short temp dir.
  const socketDir = mkdtempSync(join(tmpdir(), 'glint-pg-'))
  const socketPath = join(socketDir, '.s.PGSQL.5432')
  // One more than the client pool: the server refuses (ECONNRESET) past its limit.
  const server = new PGLiteSocketServer({ db, path: socketPath, maxConnections: maxConnections + 1 })
  await server.start()
  return {
    socketPath,
    async stop () {
      await server.stop()
      await db.close()
      rmSync(socketDir, { recursive: true, force: true })
    }
  }
}
