// The Ceph clusters a run measures: by default the two test clusters (test/ceph/clusters.sh),
// or any clusters named with --ceph (an operator's own: any ceph.conf, pool, user, keyring and
// object size). Which are up, how to reach them with the rbd CLI, and their local OSDs.

import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { CLUSTERS_SCRIPT } from '../util/paths.js'
import { runCommand } from '../util/process.js'

export interface Cluster {
  name: string
  /** the store id both servers give it */
  storeId: string
  conf: string
  pool: string
  /** cephx id without "client." */
  user: string
  keyring?: string
  /** rbd_store_chunk_size of the stores (and --object-size of rbd import), MiB */
  chunkMiB: number
  up: boolean
  /** why it is not usable, when it is not */
  reason?: string
}

export type ClusterSpec = Omit<Cluster, 'up' | 'reason'>

const SPEC_KEYS = new Set(['pool', 'user', 'keyring', 'chunk'])
const DEFAULT_CHUNK_MIB = 8

/**
 * `--ceph NAME=CONF[,pool=images][,user=admin][,keyring=FILE][,chunk=8]`: NAME becomes the
 * store id in both servers' configuration.
 */
export function parseClusterSpec (text: string): ClusterSpec {
  const [head, ...rest] = text.split(',')
  const at = head.indexOf('=')
  const name = head.slice(0, at)
  const conf = head.slice(at + 1)
  if (at <= 0 || conf === '' || !/^[A-Za-z][\w-]*$/.test(name)) {
    throw new Error(`--ceph ${text}: expected NAME=CONF[,pool=P][,user=U][,keyring=FILE][,chunk=MiB] with NAME a store id (letters, digits, _ and -)`)
  }
  const opts = new Map<string, string>()
  for (const item of rest) {
    const eq = item.indexOf('=')
    const key = item.slice(0, eq)
    if (eq <= 0 || !SPEC_KEYS.has(key)) throw new Error(`--ceph ${text}: unknown option "${item}" (known: ${[...SPEC_KEYS].join(', ')})`)
    opts.set(key, item.slice(eq + 1))
  }
  const chunkMiB = Number(opts.get('chunk') ?? DEFAULT_CHUNK_MIB)
  if (!Number.isInteger(chunkMiB) || chunkMiB < 1 || (chunkMiB & (chunkMiB - 1)) !== 0) {
    throw new Error(`--ceph ${text}: chunk must be a power of two in MiB, as rbd_store_chunk_size`)
  }
  const keyring = opts.get('keyring')
  return {
    name,
    storeId: name,
    conf: resolve(conf),
    pool: opts.get('pool') ?? 'images',
    user: (opts.get('user') ?? 'admin').replace(/^client\./, ''),
    keyring: keyring !== undefined ? resolve(keyring) : undefined,
    chunkMiB
  }
}

/** The CLI arguments that reach this cluster as the stores do (conf, user, keyring). */
export function cephArgs (cluster: ClusterSpec): string[] {
  return ['-c', cluster.conf, '--id', cluster.user, ...(cluster.keyring !== undefined ? ['--keyring', cluster.keyring] : [])]
}

/** The clusters named with --ceph, or else the two test clusters. */
export async function probeClusters (specs: ClusterSpec[]): Promise<Cluster[]> {
  if (specs.length === 0) return await testClusters()
  return await Promise.all(specs.map(async (spec) => {
    const r = await runCommand('rbd', [...cephArgs(spec), 'ls', '--pool', spec.pool], { timeoutMs: 45_000, env: { CEPH_ARGS: '--client-mount-timeout 20' } })
    const why = r.timedOut ? 'did not answer within 45 s' : (r.stderr.trim().split('\n').pop() ?? `exit ${r.code}`)
    return { ...spec, up: r.code === 0, reason: r.code === 0 ? undefined : `Ceph cluster ${spec.name} (${spec.conf}, pool ${spec.pool}): ${why}` }
  }))
}

async function testClusters (): Promise<Cluster[]> {
  const r = await runCommand(CLUSTERS_SCRIPT, ['status'], { timeoutMs: 60_000 })
  const clusters: Cluster[] = []
  for (const name of ['a', 'b']) {
    const line = r.stdout.split('\n').find((l) => l.startsWith(`${name} `))
    const [, dir, , state] = (line ?? '').split(/\s+/)
    const conf = `${dir ?? `/tmp/glint-ceph/${name}`}/ceph.conf`
    const up = state === 'up'
    clusters.push({
      name,
      storeId: `ceph_${name}`,
      conf,
      pool: 'images',
      user: 'admin',
      chunkMiB: DEFAULT_CHUNK_MIB,
      up,
      reason: up ? undefined : `Ceph cluster ${name} is ${state ?? 'unknown'} (test/ceph/clusters.sh status${r.timedOut ? ' timed out' : ''})`
    })
  }
  return clusters
}

function cmdline (pid: number): string[] {
  try { return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0') } catch { return [] }
}

/**
 * The cluster's OSDs that run on this machine: those with pid files beside its conf (the
 * test clusters: run/osd.N.pid), else ceph-osd processes started with this conf. Empty for a
 * remote cluster (its OSDs' CPU cannot be read from here).
 */
export function osdPids (cluster: ClusterSpec): number[] {
  const pids = new Set<number>()
  const runDir = join(dirname(cluster.conf), 'run')
  let files: string[] = []
  try { files = readdirSync(runDir).filter((f) => /^osd\.\d+\.pid$/.test(f)) } catch { /* no run dir */ }
  for (const f of files) {
    const pid = Number(readFileSync(join(runDir, f), 'utf8').trim())
    if (Number.isInteger(pid) && pid > 0 && cmdline(pid).includes(cluster.conf)) pids.add(pid)
  }
  if (pids.size > 0) return [...pids]
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    const args = cmdline(Number(name))
    if (args[0]?.endsWith('ceph-osd') === true && args.includes(cluster.conf)) pids.add(Number(name))
  }
  return [...pids]
}
