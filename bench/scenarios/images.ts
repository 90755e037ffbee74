// Many images made and removed through the API by the load client (bench/clients/http-load.ts),
// in its own process: never timed, except where a scenario times the create rate itself.

import { join } from 'node:path'
import { readFileSync, writeFileSync } from 'node:fs'
import { benchScript } from '../util/paths.js'
import { describeFailure, runCommand } from '../util/process.js'
import type { BenchContext } from './context.js'

export const CREATE_CONCURRENCY = 8
const CREATE_DEADLINE_MS = 10 * 60_000

export interface CreateResult { created: number, errors: number, perSecond: number, firstError?: string, ids: string[] }

/** `count` images named bench-NNNNN; with `token`, as that Keystone token's user (else trusted headers). */
export async function createImages (ctx: BenchContext, url: string, count: number, token?: string): Promise<CreateResult> {
  const idsFile = join(ctx.workDir, `ids-${Date.now()}-${Math.random().toString(16).slice(2)}.txt`)
  const r = await runCommand(process.execPath, [benchScript('clients/http-load.js'), 'create', url, String(count),
    String(CREATE_CONCURRENCY), idsFile, String(CREATE_DEADLINE_MS)], { timeoutMs: CREATE_DEADLINE_MS + 30_000, env: tokenEnv(token) })
  if (r.code !== 0) throw new Error(describeFailure('create client', r))
  const result = JSON.parse(r.stdout)
  return { ...result, ids: readFileSync(idsFile, 'utf8').split('\n').filter(Boolean) }
}

export async function deleteImages (ctx: BenchContext, base: string, ids: string[], token?: string): Promise<void> {
  if (ids.length === 0) return
  const idsFile = join(ctx.workDir, `delete-${Date.now()}.txt`)
  writeFileSync(idsFile, ids.join('\n'))
  const r = await runCommand(process.execPath, [benchScript('clients/http-load.js'), 'delete', base, idsFile,
    String(CREATE_CONCURRENCY), String(CREATE_DEADLINE_MS)], { timeoutMs: CREATE_DEADLINE_MS + 30_000, cleanup: true, env: tokenEnv(token) })
  if (r.code !== 0) ctx.log(`cleanup: ${describeFailure('delete client', r)}`)
}

function tokenEnv (token: string | undefined): Record<string, string> | undefined {
  return token === undefined ? undefined : { BENCH_AUTH_TOKEN: token }
}
