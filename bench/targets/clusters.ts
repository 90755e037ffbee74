// The two test Ceph clusters (test/ceph/clusters.sh): which are up, their confs, their OSDs.

import { readFileSync } from 'node:fs'
import { CLUSTERS_SCRIPT } from '../util/paths.js'
import { runCommand } from '../util/process.js'

export interface Cluster {
  name: string
  /** the store id both servers give it */
  storeId: string
  conf: string
  up: boolean
  /** why it is not usable, when it is not */
  reason?: string
}

export async function probeClusters (): Promise<Cluster[]> {
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
      up,
      reason: up ? undefined : `Ceph cluster ${name} is ${state ?? 'unknown'} (test/ceph/clusters.sh status${r.timedOut ? ' timed out' : ''})`
    })
  }
  return clusters
}

/** The OSD's pid: runs against a cluster wait for it to go quiet too. */
export function osdPids (cluster: Cluster): number[] {
  try {
    const pid = Number(readFileSync(cluster.conf.replace(/ceph\.conf$/, 'run/osd.0.pid'), 'utf8').trim())
    return Number.isInteger(pid) && pid > 0 ? [pid] : []
  } catch { return [] }
}
