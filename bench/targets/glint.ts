// Glint for benchmarks: the compiled server with a glance-api.conf naming the same stores
// Glance gets (the file directory and every Ceph cluster that is up), trusted-header identity
// (or, with `keystoneUrl`, Keystone tokens validated as the service user glance, as
// bench/glance/glance.sh --keystone configures Glance), and a throwaway database on the local
// PostgreSQL.

import { spawn } from 'node:child_process'
import { mkdirSync, openSync, closeSync, readFileSync, writeFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import postgres from 'postgres'
import { healthy, listStoreIds } from '../clients/api.js'
import { freePort, REPO_ROOT } from '../util/paths.js'
import { isAlive, killPid, sleep } from '../util/process.js'
import type { Cluster } from './clusters.js'
import type { Target } from './target.js'

const PG_SERVER = process.env.GLINT_BENCH_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432'
const START_TIMEOUT_MS = 60_000
const STOP_GRACE_MS = 30_000

export interface GlintSetup {
  workDir: string
  fileDir: string
  clusters: Cluster[]
  /** Keystone's URL (with or without /v3): flavor = keystone instead of trusted-auth */
  keystoneUrl?: string
  /** the directory under workDir (default glint): one per Glint of a run */
  name?: string
  /** a loopback server web-download may fetch from: [import_filtering_opts] allows its host and port */
  importFrom?: ImportSource
  /** an existing database on the local PostgreSQL, shared with other gateways: not created, not dropped */
  database?: string
}

/** Where web-download's test file is served from (the harness's own loopback server). */
export interface ImportSource { host: string, port: number }

/** [keystone_authtoken] as keystonemiddleware reads it, for the test Keystone's service user. */
export function keystoneAuthtoken (keystoneUrl: string): string[] {
  const root = keystoneUrl.replace(/\/v3\/?$/, '')
  return ['[keystone_authtoken]', `auth_url = ${root}`, `www_authenticate_uri = ${root}`, 'auth_type = password',
    'username = glance', 'password = glance', 'project_name = service', 'user_domain_name = Default', 'project_domain_name = Default']
}

export function glintConfig (port: number, fileDir: string, clusters: Cluster[], databaseUrl: string, keystoneUrl?: string,
  staging?: { dir: string, importFrom?: ImportSource }): string {
  const rbd = clusters.filter((c) => c.up)
  const backends = ['fast:file', ...rbd.map((c) => `${c.storeId}:rbd`)].join(', ')
  const lines = [
    '# Written by bench/targets/glint.ts for one benchmark run.',
    '[DEFAULT]',
    'bind_host = 127.0.0.1',
    `bind_port = ${port}`,
    `workers = ${availableParallelism()}`,
    `enabled_backends = ${backends}`,
    '',
    '[glance_store]',
    'default_backend = fast',
    '',
    '[fast]',
    `filesystem_store_datadir = ${fileDir}`
  ]
  for (const c of rbd) {
    lines.push('', `[${c.storeId}]`, `rbd_store_ceph_conf = ${c.conf}`, `rbd_store_user = ${c.user}`,
      `rbd_store_pool = ${c.pool}`, `rbd_store_chunk_size = ${c.chunkMiB}`, ...(c.keyring !== undefined ? [`rbd_store_keyring = ${c.keyring}`] : []))
  }
  // Named here (not left to the data dir default) so the import benchmark can watch it.
  if (staging !== undefined) lines.push('', '[os_glance_staging_store]', `filesystem_store_datadir = ${staging.dir}`)
  if (staging?.importFrom !== undefined) {
    lines.push('', '[import_filtering_opts]', `allowed_hosts = ${staging.importFrom.host}`, `allowed_ports = ${staging.importFrom.port}`)
  }
  lines.push('', '[paste_deploy]', `flavor = ${keystoneUrl === undefined ? 'trusted-auth' : 'keystone'}`, '', '[database]', `connection = ${databaseUrl}`)
  if (keystoneUrl !== undefined) lines.push('', ...keystoneAuthtoken(keystoneUrl))
  lines.push('')
  return lines.join('\n')
}

async function withAdmin<T> (fn: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(`${PG_SERVER}/postgres`, { max: 1, onnotice: () => {}, connect_timeout: 10 })
  try { return await fn(sql) } finally { await sql.end({ timeout: 5 }) }
}

/** A fresh, empty database for one benchmark run's Glint (or several gateways of one). */
export async function createBenchDatabase (): Promise<string> {
  const database = `glint_bench_${randomBytes(4).toString('hex')}`
  await withAdmin(async (sql) => await sql.unsafe(`create database ${database}`))
  return database
}

export async function dropBenchDatabase (database: string): Promise<void> {
  await withAdmin(async (sql) => await sql.unsafe(`drop database if exists ${database} with (force)`)).catch(() => {})
}

export async function startGlint (setup: GlintSetup): Promise<Target> {
  const dir = join(setup.workDir, setup.name ?? 'glint')
  mkdirSync(dir, { recursive: true })
  mkdirSync(setup.fileDir, { recursive: true })
  const shared = setup.database
  const database = shared ?? await createBenchDatabase()
  const dropDatabase = async (): Promise<void> => { if (shared === undefined) await dropBenchDatabase(database) }

  const port = await freePort()
  const confFile = join(dir, 'glance-api.conf')
  const stagingDir = join(dir, 'staging')
  writeFileSync(confFile, glintConfig(port, setup.fileDir, setup.clusters, `${PG_SERVER}/${database}`, setup.keystoneUrl,
    { dir: stagingDir, importFrom: setup.importFrom }))
  const logFile = join(dir, 'glint.log')
  const logFd = openSync(logFile, 'a')
  const env: Record<string, string | undefined> = { ...process.env, GLINT_PORT: String(port), GLINT_DATA_DIR: join(dir, 'data') }
  delete env.DATABASE_URL // the conf names the database
  const child = spawn(process.execPath, ['dist/src/main.js', '--config-file', confFile],
    { cwd: REPO_ROOT, env, stdio: ['ignore', logFd, logFd] })
  closeSync(logFd)
  const pid = child.pid!
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const url = `http://127.0.0.1:${port}`

  const stop = async (): Promise<void> => {
    if (isAlive(pid)) {
      killPid(pid, 'SIGTERM')
      const timer = setTimeout(() => killPid(pid, 'SIGKILL'), STOP_GRACE_MS)
      await exited
      clearTimeout(timer)
    }
    await dropDatabase()
  }

  const deadline = Date.now() + START_TIMEOUT_MS
  while (!(await healthy(url))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop()
      const tail = readFileSync(logFile, 'utf8').trim().split('\n').slice(-3).join(' | ').slice(0, 300)
      throw new Error(`Glint did not answer /healthcheck within ${START_TIMEOUT_MS / 1000} s: ${tail}`)
    }
    await sleep(200)
  }
  const version = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).version as string
  if (setup.keystoneUrl === undefined) return { role: 'glint', label: `Glint ${version}`, url, pid, stores: await listStoreIds(url), logFile, stagingDir, stop }
  // /v2/info/stores wants a token now: the stores as configured
  const stores = ['fast', ...setup.clusters.filter((c) => c.up).map((c) => c.storeId)]
  return { role: 'glint', label: `Glint ${version} (flavor keystone)`, url, pid, stores, logFile, stagingDir, stop }
}
