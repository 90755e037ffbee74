// Faults under RBD uploads and downloads (issue 15), on a private Ceph cluster booted by
// test/ceph/clusters.sh (its own directory and ports: stopping it breaks no other test):
// kill -9 of the gateway mid-upload at seeded points, the OSD or the whole cluster stopped
// in the middle of an upload and of a download, and PostgreSQL (a private server) restarted
// in the middle of uploads. After each: no image `active` without all its bytes and hashes,
// none stuck in `saving`, no RBD image that no image owns (`glint orphans` agrees).
//
// The store's conf sets rados_osd_op_timeout (5 s), as an operator who wants an unreachable
// OSD to fail requests does: Ceph's default waits for the OSD however long it takes.

import t, { type Test } from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createHash, randomUUID } from 'node:crypto'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { createDatabase, createImage, startGlint, type Glint } from './helpers/glint.js'
import { eventually, upload } from './helpers/data.js'
import { confWithClientOptions, privateCluster, rbd, rbdImages, rbdJson } from './helpers/ceph.js'
import { killRound, MiB, nothingHalfDone, orphans, pgBin, privatePostgres, seeded, sha512Of, streamUpload, uploadAndKill, type Uploaded } from './helpers/faults.js'

const rados = async (conf: string, ...args: string[]): Promise<string> =>
  (await promisify(execFile)('rados', ['-c', conf, '-p', 'images', ...args], { timeout: 60_000 })).stdout

const ROUNDS = Number(process.env.GLINT_FAULT_ROUNDS ?? 20)
// 20 restarts and four cluster stops, each waiting out Ceph's timeouts: more than tap's default
// 10 minutes per file on a loaded 2-core machine
t.setTimeout(20 * 60_000)
const OP_TIMEOUT_SEC = 5

const cluster = await privateCluster()
const skip = typeof cluster === 'string' ? cluster : undefined

function configFor (dir: string, cephConf: string, databaseUrl: string): string {
  return `[DEFAULT]
enabled_backends = ceph:rbd, local:file
upload_lease_timeout = 2
[glance_store]
default_backend = ceph
[ceph]
rbd_store_ceph_conf = ${cephConf}
rbd_store_user = admin
rbd_store_pool = images
rbd_store_chunk_size = 4
rados_connect_timeout = 5
[local]
filesystem_store_datadir = ${dir}/images
[database]
connection = ${databaseUrl}
`
}

/** A streamed download that pauses after its first bytes until `fault()` is done, then reads on. */
async function downloadAcross (url: string, fault: () => Promise<void>): Promise<{ status: number, received: number, complete: boolean, sha512: string }> {
  return await new Promise((resolve) => {
    const h = createHash('sha512')
    let received = 0
    let faulted = false
    const req = httpRequest(url, (res) => {
      const done = (): void => resolve({ status: res.statusCode ?? 0, received, complete: res.complete, sha512: h.digest('hex') })
      res.on('data', (c: Buffer) => {
        h.update(c)
        received += c.length
        if (!faulted) { faulted = true; res.pause(); void fault().then(() => res.resume()) }
      })
      res.on('end', done)
      res.on('error', () => {})
      res.on('close', () => { if (!res.complete) done() })
    })
    req.on('error', () => resolve({ status: 0, received, complete: false, sha512: '' }))
    req.end()
  })
}

t.test('faults under RBD', { skip }, async (t) => {
  if (typeof cluster === 'string') return
  t.teardown(async () => { await cluster.teardown() })
  const dir = mkdtempSync(join(tmpdir(), 'glint-faults-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const cephConf = confWithClientOptions(cluster.conf, join(dir, 'ceph.conf'), [`rados_osd_op_timeout = ${OP_TIMEOUT_SEC}`])
  const db = await createDatabase()
  t.teardown(async () => { await db.drop() })
  const config = configFor(dir, cephConf, db.url)
  const configFile = join(dir, 'glance-api.conf')
  writeFileSync(configFile, config)
  const inPool = async (): Promise<string[]> => await rbdImages(cluster.conf)
  const check = async (t: Test, glint: Glint, images: Uploaded[], file = configFile, url = db.url): Promise<number> =>
    await nothingHalfDone(t, glint, images, { configFile: file, databaseUrl: url, stored: inPool })
  /** Deletes every image, so the next part starts with an empty pool. */
  const clearOut = async (t: Test, glint: Glint): Promise<void> => {
    for (const image of (await glint.request('GET', '/v2/images?limit=1000')).json.images) {
      t.equal((await glint.request('DELETE', `/v2/images/${image.id}`)).status, 204)
    }
    t.ok(await eventually(async () => (await inPool()).length === 0, 100, 200), 'deleting every image empties the pool')
  }

  // The pool is this test's alone: what an earlier run left (one stopped by its timeout) is
  // not this run's doing, and would fail every check below.
  for (const leftover of await inPool()) {
    await rbd(cluster.conf, 'snap', 'unprotect', `images/${leftover}@snap`).catch(() => {})
    await rbd(cluster.conf, 'snap', 'purge', `images/${leftover}`).catch(() => {})
    await rbd(cluster.conf, 'rm', '--no-progress', `images/${leftover}`)
  }

  t.test('a half-created RBD image (kill -9 inside rbd create: listed, its header never written) is removed', async (t) => {
    const id = randomUUID()
    await rbd(cluster.conf, 'create', '--size', '8M', `images/${id}`)
    const { block_name_prefix: prefix } = await rbdJson(cluster.conf, 'info', `images/${id}`)
    await rados(cluster.conf, 'rm', `rbd_header.${String(prefix).replace('rbd_data.', '')}`)
    t.ok((await inPool()).includes(id), 'rbd ls still lists it')
    t.match(await orphans(configFile, db.url), new RegExp(`${id}[\\s\\S]*^1 orphaned`, 'm'), 'glint orphans reports it')
    t.match(await orphans(configFile, db.url, '--delete'), /^1 removed, 0 failed/m, 'and removes it')
    t.same(await inPool(), [], 'the pool is empty')
  })

  t.test(`kill -9 of a gateway mid-upload into RBD, ${ROUNDS} times`, async (t) => {
    const random = seeded(1515)
    const images: Uploaded[] = []
    let glint = await startGlint({ config, databaseUrl: db.url })
    try {
      for (let round = 0; round < ROUNDS; round++) {
        // a third of the rounds die after the last byte: in the flush, the snapshot or the commit
        const { blocks, killAfter, delayMs, label } = killRound(random, 20, 0.35, 2000)
        const image = await createImage(glint, { name: `rbd-victim-${round}` })
        images.push({ id: image.id, size: blocks * MiB, sha512: sha512Of(round, blocks), label })
        await uploadAndKill(glint, image.id, round, blocks, killAfter, delayMs)
        await glint.stop()
        glint = await startGlint({ config, databaseUrl: db.url })
      }
      const active = await check(t, glint, images)
      t.comment(`${ROUNDS} kills into RBD: ${active} uploads had committed, ${ROUNDS - active} recovered to queued`)
      for (const img of images) {
        if ((await glint.request('GET', `/v2/images/${img.id}`)).json.status !== 'queued') continue
        t.equal((await upload(glint.url, img.id, 2 * MiB)).status, 204, 'a recovered image takes a new upload')
        break
      }
      await clearOut(t, glint)
    } finally {
      await glint.stop()
    }
  })

  for (const [what, stop, start] of [
    ['its OSD', cluster.stopOsd, cluster.startOsd],
    ['the whole cluster', cluster.stop, cluster.start]
  ] as const) {
    t.test(`${what} stopped in the middle of an upload`, async (t) => {
      const glint = await startGlint({ config, databaseUrl: db.url })
      t.teardown(() => glint.stop())
      let stopped = false
      t.teardown(async () => { if (stopped) await start() })
      const image = await createImage(glint, { name: 'caught' })
      const up = await streamUpload(glint.url, image.id, 7, 24, {
        before: (i) => i === 8 ? stop().then(() => { stopped = true }) : true
      })
      t.equal(up.status, 503, `the upload is answered 503 (${up.body.slice(0, 200)})`)
      t.match(up.body, /ceph/, 'naming the store')
      t.not((await glint.request('GET', `/v2/images/${image.id}`)).json.status, 'active', 'not active')

      const other = await createImage(glint, { name: 'elsewhere' })
      const local = await upload(glint.url, other.id, 3 * MiB, { store: 'local' })
      t.equal(local.status, 204, 'the other store keeps serving')
      const refused = await createImage(glint, { name: 'refused' })
      t.equal((await upload(glint.url, refused.id, 1 * MiB)).status, 503, 'a new upload into the stopped store: 503')

      await start()
      stopped = false
      await check(t, glint, [
        { id: image.id, size: 24 * MiB, sha512: sha512Of(7, 24), label: 'caught' },
        { id: other.id, size: 3 * MiB, sha512: local.sent.sha512, label: 'elsewhere' }
      ])
      t.equal((await glint.request('GET', `/v2/images/${image.id}`)).json.status, 'queued', 'the caught upload\'s image is back to queued')
      const again = await upload(glint.url, image.id, 5 * MiB)
      t.equal(again.status, 204, 'and takes a new upload once the store is back')
      t.equal((await glint.request('GET', `/v2/images/${image.id}`)).json.os_hash_value, again.sent.sha512)
      await clearOut(t, glint)
    })

    t.test(`${what} stopped in the middle of a download`, async (t) => {
      const glint = await startGlint({ config, databaseUrl: db.url })
      t.teardown(() => glint.stop())
      let stopped = false
      t.teardown(async () => { if (stopped) await start() })
      const image = await createImage(glint, { name: 'served' })
      const up = await upload(glint.url, image.id, 96 * MiB + 5)
      t.equal(up.status, 204)
      const cut = await downloadAcross(`${glint.url}/v2/images/${image.id}/file`, async () => { await stop(); stopped = true })
      t.equal(cut.status, 200, 'the download had begun')
      t.notOk(cut.complete, `and is cut short, not hung (${cut.received} of ${up.sent.size} bytes)`)
      t.ok(cut.received < up.sent.size)
      const fresh = await glint.request('GET', `/v2/images/${image.id}/file`)
      t.equal(fresh.status, 503, 'a download while the store is down: 503')
      t.equal((await glint.request('GET', `/v2/images/${image.id}`)).json.status, 'active', 'the image stays active')

      await start()
      stopped = false
      t.ok(await eventually(async () => (await glint.request('GET', `/v2/images/${image.id}/file`)).status === 200, 60, 500), 'reads work again')
      await check(t, glint, [{ id: image.id, size: up.sent.size, sha512: up.sent.sha512, label: 'served' }])
      await clearOut(t, glint)
    })
  }

  t.test('PostgreSQL restarted in the middle of uploads into RBD', { skip: pgBin() === undefined ? 'pg_config not found (PostgreSQL server binaries)' : undefined }, async (t) => {
    const pg = await privatePostgres(pgBin()!)
    t.teardown(() => pg.remove())
    const pgConfig = configFor(dir, cephConf, pg.url)
    const pgConfigFile = join(dir, 'glance-api-private-pg.conf')
    writeFileSync(pgConfigFile, pgConfig)
    const glint = await startGlint({ config: pgConfig, databaseUrl: pg.url })
    t.teardown(() => glint.stop())

    const before = await createImage(glint, { name: 'before' })
    const first = await upload(glint.url, before.id, 4 * MiB)
    t.equal(first.status, 204)
    const images: Uploaded[] = [{ id: before.id, size: 4 * MiB, sha512: first.sent.sha512, label: 'before the restart' }]
    const ids: string[] = []
    for (let i = 0; i < 4; i++) ids.push((await createImage(glint, { name: `restart-${i}` })).id)
    // each upload sends its first blocks, then waits until all are under way, PostgreSQL is
    // stopped and started again (fast shutdown: its sessions are cut), and sends the rest
    let arrived = 0
    let allThere!: () => void
    const restarted = new Promise<void>((resolve) => { allThere = resolve }).then(async () => {
      pg.stop()
      await new Promise((resolve) => setTimeout(resolve, 1500))
      pg.start()
    })
    const statuses = await Promise.all(ids.map(async (id, n) => {
      const blocks = 12 + 4 * n
      images.push({ id, size: blocks * MiB, sha512: sha512Of(100 + n, blocks), label: `upload ${n} (${blocks} MiB)` })
      const { status, body } = await streamUpload(glint.url, id, 100 + n, blocks, {
        before: (i) => {
          if (i !== 4 + n) return true
          if (++arrived === ids.length) allThere()
          return restarted
        }
      })
      if (status !== 204) t.match(body, /registry/i, `upload ${n}: the ${status} says the registry is missing`)
      // an answer neither 204 nor 503 is a bug to chase: keep the server's errors with the failure
      if (![204, 503].includes(status)) t.comment(glint.output().split('\n').filter((line) => /"level":(50|60)/.test(line)).slice(-20).join('\n'))
      return status
    }))
    t.comment(`uploads across the restart answered ${statuses.join(', ')}`)
    for (const status of statuses) t.ok([204, 503].includes(status), `answered 204 or 503, not ${status}`)
    t.ok(await eventually(async () => (await glint.request('GET', '/healthcheck')).status === 200, 100, 200), 'serves again without a restart')
    await check(t, glint, images, pgConfigFile, pg.url)
    for (const [n, status] of statuses.entries()) {
      if (status === 204) t.equal((await glint.request('GET', `/v2/images/${ids[n]}`)).json.status, 'active', `upload ${n}: answered 204, so active`)
    }
    await clearOut(t, glint)
  })
})
