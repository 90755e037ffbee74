// The real Glance beside Glint, through bench/glance/glance.sh: Debian's glance-api (installed
// when missing), its own database on the same PostgreSQL, the same file directory, every Ceph
// cluster that answers, trusted-header identity (or Keystone tokens through keystonemiddleware,
// with `keystoneUrl`), workers = cores. Started and stopped by PID (glance.sh keeps it in the
// workdir's pid file).

import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { listStoreIds } from '../clients/api.js'
import { freePort, GLANCE_SCRIPT } from '../util/paths.js'
import { describeFailure, runCommand } from '../util/process.js'
import type { Target } from './target.js'
import type { Cluster } from './clusters.js'
import type { ImportSource } from './glint.js'

const GLANCE_API = '/usr/bin/glance-api'
const INSTALL_TIMEOUT_MS = 20 * 60_000
// db_sync on a fresh database plus up to 60 s for the first healthcheck
const START_TIMEOUT_MS = 6 * 60_000
const PG_SERVER = process.env.GLINT_BENCH_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432'

export interface GlanceSetup {
  workDir: string
  fileDir: string
  clusters: Cluster[]
  log: (msg: string) => void
  /** Keystone's URL: glance.sh start --keystone (flavor = keystone) */
  keystoneUrl?: string
  /** the directory under workDir (default glance): one per Glance of a run */
  name?: string
  /** a loopback server web-download may fetch from: [import_filtering_opts] allows its host and port */
  importFrom?: ImportSource
  /** [DEFAULT] workers (default: the cores, glance.sh's default) */
  workers?: number
}

async function glanceVersion (): Promise<string> {
  const r = await runCommand('dpkg-query', ['-W', '-f=${Version}', 'glance-api'], { timeoutMs: 10_000 })
  const m = /(?:\d+:)?([\d.]+)/.exec(r.stdout)
  return m?.[1] ?? 'unknown'
}

export async function startGlance (setup: GlanceSetup): Promise<Target> {
  if (!existsSync(GLANCE_API)) {
    setup.log('glance-api is missing: installing it (bench/glance/glance.sh install)')
  }
  // install is a no-op when everything is there; it also adds missing rbd/psycopg2 bindings.
  const install = await runCommand(GLANCE_SCRIPT, ['install'], { timeoutMs: INSTALL_TIMEOUT_MS })
  if (install.code !== 0) throw new Error(describeFailure('glance.sh install', install))

  const workDir = join(setup.workDir, setup.name ?? 'glance')
  const port = await freePort()
  // A fresh database per benchmark run, so the listing sees exactly the images it made.
  const env: Record<string, string> = { GLANCE_DB_URL: PG_SERVER, GLANCE_DB_NAME: `glance_bench_${randomBytes(4).toString('hex')}` }
  if (setup.workers !== undefined) env.GLANCE_WORKERS = String(setup.workers)
  const dropDatabase = async (): Promise<void> => {
    await runCommand('psql', [`${PG_SERVER}/postgres`, '-qtAX', '-c', `drop database if exists ${env.GLANCE_DB_NAME} with (force)`],
      { timeoutMs: 60_000, cleanup: true })
  }
  setup.log(`starting Glance on port ${port} (a fresh database needs db_sync: about a minute)`)
  // The same RBD stores Glint gets, spelled as --ceph spells them.
  const rbdStores = setup.clusters.filter((c) => c.up).flatMap((c) => ['--rbd-store',
    [`${c.storeId}=${c.conf}`, `pool=${c.pool}`, `user=${c.user}`, `chunk=${c.chunkMiB}`, ...(c.keyring !== undefined ? [`keyring=${c.keyring}`] : [])].join(',')])
  const keystone = setup.keystoneUrl !== undefined ? ['--keystone', setup.keystoneUrl] : []
  const importFrom = setup.importFrom !== undefined ? ['--import-from', `${setup.importFrom.host}:${setup.importFrom.port}`] : []
  const start = await runCommand(GLANCE_SCRIPT, ['start', '--port', String(port), '--workdir', workDir, '--file-dir', setup.fileDir, ...rbdStores, ...keystone, ...importFrom],
    { timeoutMs: START_TIMEOUT_MS, env })
  const stop = async (): Promise<void> => {
    await runCommand(GLANCE_SCRIPT, ['stop', '--workdir', workDir], { timeoutMs: 60_000, cleanup: true })
    await dropDatabase()
  }
  if (start.code !== 0) {
    await stop()
    throw new Error(describeFailure('glance.sh start', start))
  }
  const pid = Number(readFileSync(join(workDir, 'glance-api.pid'), 'utf8').trim())
  const url = `http://127.0.0.1:${port}`
  const logFile = join(workDir, 'glance-api.log')
  // glance.sh's [os_glance_staging_store]
  const stagingDir = join(workDir, 'staging')
  if (setup.keystoneUrl !== undefined) {
    // /v2/info/stores wants a token now: the stores as configured
    const stores = ['fast', ...setup.clusters.filter((c) => c.up).map((c) => c.storeId)]
    return { role: 'glance', label: `Glance ${await glanceVersion()} (keystonemiddleware)`, url, pid, stores, logFile, stagingDir, stop }
  }
  let stores: string[]
  try {
    stores = await listStoreIds(url)
  } catch (err) {
    await stop()
    throw err
  }
  return { role: 'glance', label: `Glance ${await glanceVersion()}`, url, pid, stores, logFile, stagingDir, stop }
}
