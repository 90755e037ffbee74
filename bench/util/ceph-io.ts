// Bytes a Ceph cluster's clients wrote and read, from its OSDs' perf counters (osd.op_in_bytes
// and osd.op_out_bytes, summed over the OSDs): exact and current at the moment of reading,
// where `ceph df` / `rados df` pool stats lag by the PG stats report interval. These count
// client ops only (replication sub-ops are not in them), so on any pool size they are the
// bytes the clients moved. Local OSDs are read through their admin sockets (beside the conf:
// run/osd.N.asok, as test/ceph/clusters.sh places them), others with `ceph tell`.

import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { cephArgs, type Cluster } from '../targets/clusters.js'
import { describeFailure, runCommand } from './process.js'

const CLI_TIMEOUT_MS = 30_000

export interface ClusterIo { written: number, read: number }

const osdIds = new Map<string, number[]>()

async function listOsds (cluster: Cluster): Promise<number[]> {
  const known = osdIds.get(cluster.conf)
  if (known !== undefined) return known
  const r = await runCommand('ceph', [...cephArgs(cluster), 'osd', 'ls', '--format', 'json'], { timeoutMs: CLI_TIMEOUT_MS })
  if (r.code !== 0) throw new Error(describeFailure(`ceph osd ls (${cluster.name})`, r))
  const ids = JSON.parse(r.stdout) as number[]
  osdIds.set(cluster.conf, ids)
  return ids
}

async function perfDump (cluster: Cluster, id: number): Promise<{ op_in_bytes: number, op_out_bytes: number }> {
  const socket = join(dirname(cluster.conf), 'run', `osd.${id}.asok`)
  const args = existsSync(socket) ? ['--admin-daemon', socket, 'perf', 'dump'] : [...cephArgs(cluster), 'tell', `osd.${id}`, 'perf', 'dump', '--format', 'json']
  const r = await runCommand('ceph', args, { timeoutMs: CLI_TIMEOUT_MS })
  if (r.code !== 0) throw new Error(describeFailure(`perf dump of osd.${id} (${cluster.name})`, r))
  return JSON.parse(r.stdout).osd
}

export async function clusterIo (cluster: Cluster): Promise<ClusterIo> {
  const dumps = await Promise.all((await listOsds(cluster)).map(async (id) => await perfDump(cluster, id)))
  return { written: dumps.reduce((a, d) => a + d.op_in_bytes, 0), read: dumps.reduce((a, d) => a + d.op_out_bytes, 0) }
}

/** The counters of every cluster that is up, by store id. */
export async function readAll (clusters: Cluster[]): Promise<Map<string, ClusterIo>> {
  const entries = await Promise.all(clusters.filter((c) => c.up).map(async (c) => [c.storeId, await clusterIo(c)] as const))
  return new Map(entries)
}

/** { ceph_a_written_mib, ceph_a_read_mib, ... } between two readings. */
export function ioExtras (before: Map<string, ClusterIo>, after: Map<string, ClusterIo>): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [store, a] of after) {
    const b = before.get(store)
    if (b === undefined) continue
    out[`${store}_written_mib`] = (a.written - b.written) / 1024 / 1024
    out[`${store}_read_mib`] = (a.read - b.read) / 1024 / 1024
  }
  return out
}
