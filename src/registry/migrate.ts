// Applies pending migrations in one transaction under an advisory lock, so two servers
// starting together against one database cannot both apply (or half-apply) a version.

import type { Sql } from 'postgres'
import { MIGRATIONS, type Migration } from './migrations.js'

// Any constant works; it only has to be the same for every Glint.
const MIGRATION_LOCK_ID = 0x6c696e74

export async function migrate (sql: Sql, migrations: Migration[] = MIGRATIONS): Promise<number[]> {
  return await sql.begin(async (tx) => {
    // Building an index on a large table may take longer than any request is allowed.
    await tx`set local statement_timeout = 0`
    await tx`select pg_advisory_xact_lock(${MIGRATION_LOCK_ID})`
    await tx`create table if not exists schema_migrations (
      version integer primary key, name text not null, applied_at timestamptz not null default now())`
    const done = new Set((await tx<Array<{ version: number }>>`select version from schema_migrations`).map((r) => r.version))
    const applied: number[] = []
    for (const m of migrations) {
      if (done.has(m.version)) continue
      await tx.unsafe(m.sql)
      await tx`insert into schema_migrations ${tx({ version: m.version, name: m.name })}`
      applied.push(m.version)
    }
    return applied
  })
}
