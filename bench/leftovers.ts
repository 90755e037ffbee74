// After the scenarios every image the harness made has been deleted through the API, so any
// store data still named after one of them was leaked by a server (e.g. an upload aborted at
// its start). Finds it in the file directory and the Ceph pools, reports it, and removes it so
// the shared disk and clusters do not fill up across benchmark runs.

import { readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { runCommand } from './util/process.js'
import { cephArgs, type Cluster } from './targets/clusters.js'

export interface Leftover { store: string, name: string, server: string, removed: boolean }

const RBD_TIMEOUT_MS = 120_000

async function rbd (cluster: Cluster, ...args: string[]): Promise<{ ok: boolean, out: string }> {
  const r = await runCommand('rbd', [...cephArgs(cluster), '--no-progress', ...args], { timeoutMs: RBD_TIMEOUT_MS, cleanup: true })
  return { ok: r.code === 0, out: r.stdout }
}

/** Removes an RBD image the way glance_store does: unprotect and purge snapshots first. */
async function removeRbdImage (cluster: Cluster, image: string): Promise<boolean> {
  const snaps = await rbd(cluster, 'snap', 'ls', '--format', 'json', image)
  for (const snap of snaps.ok ? JSON.parse(snaps.out) as Array<{ name: string, protected?: string }> : []) {
    if (snap.protected === 'true') await rbd(cluster, 'snap', 'unprotect', `${image}@${snap.name}`)
  }
  await rbd(cluster, 'snap', 'purge', image)
  return (await rbd(cluster, 'rm', image)).ok
}

/** `images` maps image id -> the server that made it (a label for the report). */
export async function collectLeftovers (images: Map<string, string>, fileDir: string, clusters: Cluster[]): Promise<Leftover[]> {
  const found: Leftover[] = []
  let entries: string[] = []
  try { entries = readdirSync(fileDir) } catch { /* no file store directory: nothing left there */ }
  for (const name of entries) {
    // <id> for stored images, .<id>.<random>.partial for unfinished ones
    const id = [...images.keys()].find((i) => name.includes(i))
    if (id === undefined) continue
    rmSync(join(fileDir, name), { force: true })
    found.push({ store: 'fast', name, server: images.get(id)!, removed: true })
  }
  for (const cluster of clusters.filter((c) => c.up)) {
    const list = await rbd(cluster, 'ls', cluster.pool)
    for (const name of list.out.split('\n').filter((n) => images.has(n))) {
      found.push({ store: cluster.storeId, name, server: images.get(name)!, removed: await removeRbdImage(cluster, `${cluster.pool}/${name}`) })
    }
  }
  return found
}
