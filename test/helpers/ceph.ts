// The two test Ceph clusters booted by test/ceph/clusters.sh, and checks made with the
// cluster's own `rbd` tool, never through Glint.

import { execFile } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

export const CEPH_A_CONF = process.env.GLINT_CEPH_A_CONF ?? '/tmp/glint-ceph/a/ceph.conf'
export const CEPH_B_CONF = process.env.GLINT_CEPH_B_CONF ?? '/tmp/glint-ceph/b/ceph.conf'

/** Why the clusters cannot be used, or undefined when both are there. */
export function clustersMissing (): string | undefined {
  for (const conf of [CEPH_A_CONF, CEPH_B_CONF]) {
    if (!existsSync(conf)) return `no Ceph test cluster at ${conf}: run test/ceph/clusters.sh up`
  }
  return undefined
}

export async function rbd (conf: string, ...args: string[]): Promise<string> {
  const { stdout } = await run('rbd', ['-c', conf, ...args], { timeout: 60_000, maxBuffer: 64 * 1024 * 1024, encoding: 'buffer' as any })
  return (stdout as unknown as Buffer).toString('latin1')
}

export async function rbdJson (conf: string, ...args: string[]): Promise<any> {
  return JSON.parse(await rbd(conf, ...args, '--format', 'json'))
}

export async function rbdImages (conf: string): Promise<string[]> {
  return await rbdJson(conf, 'ls', 'images')
}

export async function fsidOf (conf: string): Promise<string> {
  const { stdout } = await run('ceph', ['-c', conf, 'fsid'], { timeout: 30_000 })
  return stdout.trim()
}

/** A copy of a cluster's conf whose monitor address points where nothing listens: a cluster that is down. */
export function deadClusterConf (conf: string, path: string): string {
  const text = readFileSync(conf, 'utf8').replace(/^(\s*mon[ _]host\s*=).*$/m, '$1 [v2:127.0.0.1:16299,v1:127.0.0.1:16298]')
  writeFileSync(path, text)
  return path
}

/** A copy of a cluster's conf with extra lines in its [client] section (client-side options such as rbd_default_features). */
export function confWithClientOptions (conf: string, path: string, lines: string[]): string {
  const text = readFileSync(conf, 'utf8').replace(/^\[client\]\s*$/m, `[client]\n${lines.join('\n')}`)
  writeFileSync(path, text)
  return path
}

/** The features `rbd create` gives a new image on this cluster (its rbd_default_features), by making one. */
export async function defaultFeatures (conf: string): Promise<string[]> {
  const probe = `images/glint-features-probe-${process.pid}-${Date.now()}`
  await rbd(conf, 'create', '--size', '1M', probe)
  try {
    return (await rbdJson(conf, 'info', probe)).features
  } finally {
    await rbd(conf, 'rm', '--no-progress', probe)
  }
}

export function storesConfig (dataDir: string, extra = ''): string {
  return `[DEFAULT]
enabled_backends = local:file, ceph_a:rbd, ceph_b:rbd${extra.includes('dead:rbd') ? ', dead:rbd' : ''}
show_image_direct_url = true
show_multiple_locations = true
[glance_store]
default_backend = local
[local]
filesystem_store_datadir = ${dataDir}/images
[ceph_a]
store_description = Test cluster A
rbd_store_ceph_conf = ${CEPH_A_CONF}
rbd_store_user = admin
rbd_store_pool = images
rbd_store_chunk_size = 8
rados_connect_timeout = 5
[ceph_b]
store_description = Test cluster B
rbd_store_ceph_conf = ${CEPH_B_CONF}
rbd_store_user = admin
rbd_store_pool = images
rbd_store_chunk_size = 4
rbd_thin_provisioning = true
rados_connect_timeout = 5
${extra.replace('dead:rbd', '')}`
}

export interface PrivateCluster {
  conf: string
  /** stop and start the whole cluster (mon, mgr, OSD), keeping its data */
  stop: () => Promise<void>
  start: () => Promise<void>
  /** stop and start its OSD alone */
  stopOsd: () => Promise<void>
  startOsd: () => Promise<void>
  /** brings it back up when it was up before, else removes it */
  teardown: () => Promise<void>
}

/**
 * Cluster `a` of a private pair booted by test/ceph/clusters.sh (its own directory and ports,
 * default /tmp/glint-ceph-faults and 16700): a test may stop it without breaking the tests
 * and engineers that use the shared clusters. A cluster already up is used and left up; one
 * this test booted is removed in teardown. A string saying why when Ceph is not installed.
 */
export async function privateCluster (): Promise<PrivateCluster | string> {
  const env = {
    ...process.env,
    GLINT_CEPH_DIR: process.env.GLINT_FAULTS_CEPH_DIR ?? '/tmp/glint-ceph-faults',
    GLINT_CEPH_PORT_BASE: process.env.GLINT_FAULTS_CEPH_PORT_BASE ?? '16700',
    GLINT_CEPH_STORE_GB: '4',
    GLINT_CEPH_OSDS: '1'
  }
  const script = new URL('../ceph/clusters.sh', import.meta.url).pathname
  const clusters = async (...args: string[]): Promise<string> =>
    (await run(script, args, { env, timeout: 300_000 })).stdout
  try {
    await run('ceph', ['--version'], { timeout: 30_000 })
  } catch {
    return 'ceph is not installed (apt-get install ceph-mon ceph-mgr ceph-osd ceph-common)'
  }
  const wasUp = (await clusters('status', 'a')).trim().endsWith(' up')
  await clusters('up', 'a')
  const conf = join(env.GLINT_CEPH_DIR, 'a', 'ceph.conf')
  return {
    conf,
    stop: async () => { await clusters('stop', 'a') },
    start: async () => { await clusters('start', 'a') },
    stopOsd: async () => { await clusters('stop-osd', 'a') },
    startOsd: async () => { await clusters('start-osd', 'a') },
    teardown: async () => {
      // started again (its OSD too), keeping the data of whoever else uses it
      if (wasUp) await clusters('start', 'a')
      else await clusters('down', 'a')
    }
  }
}
