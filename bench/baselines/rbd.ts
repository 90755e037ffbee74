// The RBD baseline: the rbd CLI moving the same file into and out of the same pool, with the
// object size the store uses and the cluster's default features (as Glint and glance_store
// create images), under /usr/bin/time (timed.ts).

import { randomBytes } from 'node:crypto'
import { describeFailure, runCommand, runToDevNull } from '../util/process.js'
import type { RunOutcome } from '../measure.js'
import { TIME, timedArgs, timedOutcome } from './timed.js'
import { cephArgs, type Cluster } from '../targets/clusters.js'

const SLOWEST_BYTES_PER_SECOND = 5e6

function bound (bytes: number): number { return (90 + bytes / SLOWEST_BYTES_PER_SECOND) * 1000 }

function rbdArgs (cluster: Cluster, ...args: string[]): string[] {
  return timedArgs('rbd', ...cephArgs(cluster), '--no-progress', ...args)
}

export function rbdImageName (): string { return `glint-bench-${randomBytes(6).toString('hex')}` }

export async function rbdImport (cluster: Cluster, file: string, bytes: number, name: string): Promise<RunOutcome> {
  const r = await runCommand(TIME, rbdArgs(cluster, 'import', '--image-format', '2', '--object-size', `${cluster.chunkMiB}M`,
    file, `${cluster.pool}/${name}`), { timeoutMs: bound(bytes) })
  return timedOutcome(r, bytes, 'rbd import')
}

export async function rbdExport (cluster: Cluster, name: string, bytes: number): Promise<RunOutcome> {
  const r = await runToDevNull(TIME, rbdArgs(cluster, 'export', `${cluster.pool}/${name}`, '-'), { timeoutMs: bound(bytes) })
  return timedOutcome(r, bytes, 'rbd export')
}

/** Removes a baseline image; returns the failure instead of throwing (cleanup goes on). */
export async function rbdRemove (cluster: Cluster, name: string): Promise<string | undefined> {
  const r = await runCommand('rbd', [...cephArgs(cluster), '--no-progress', 'rm', `${cluster.pool}/${name}`], { timeoutMs: 300_000, cleanup: true })
  if (r.code === 0 || /No such file/.test(r.stderr)) return undefined
  return describeFailure(`rbd rm ${name}`, r)
}
