// RBD stores on two real Ceph clusters (issue 4): where the bytes land, the snapshot Nova
// clones, deletes blocked by clones, failures that leave nothing behind, a cluster that is down.

import t from 'tap'
import { randomUUID } from 'node:crypto'
import { join } from 'node:path'
import { tmpdir } from 'node:os'
import { createImage, startGlint } from './helpers/glint.js'
import { download, eventually, upload, uploadLarge } from './helpers/data.js'
import { CEPH_A_CONF, CEPH_B_CONF, clustersMissing, deadClusterConf, defaultFeatures, fsidOf, rbd, rbdImages, rbdJson, storesConfig } from './helpers/ceph.js'

const MiB = 1024 * 1024
const missing = clustersMissing()

t.test('rbd stores', { skip: missing }, async (t) => {
  const deadConf = deadClusterConf(CEPH_A_CONF, join(tmpdir(), `glint-dead-${randomUUID()}.conf`))
  const glint = await startGlint({
    config: storesConfig('{dataDir}', `dead:rbd\n[dead]\nrbd_store_ceph_conf = ${deadConf}\nrbd_store_user = admin\nrbd_store_pool = images\nrados_connect_timeout = 3\n`)
  })
  t.teardown(() => glint.stop())
  const base = glint.url
  const fsidA = await fsidOf(CEPH_A_CONF)
  const fsidB = await fsidOf(CEPH_B_CONF)
  t.not(fsidA, fsidB, 'two independent clusters')

  t.test('an upload lands in the chosen cluster: pool, size, protected snap, bytes', async (t) => {
    for (const [store, conf, fsid, order] of [['ceph_a', CEPH_A_CONF, fsidA, 23], ['ceph_b', CEPH_B_CONF, fsidB, 22]] as const) {
      const image = await createImage(glint, { name: `in-${store}` })
      const up = await upload(base, image.id, 20 * MiB + 3, { store })
      t.equal(up.status, 204, `upload to ${store}`)
      const shown = (await glint.request('GET', `/v2/images/${image.id}`)).json
      t.equal(shown.stores, store)
      t.equal(shown.checksum, up.sent.md5)
      t.equal(shown.os_hash_value, up.sent.sha512)
      const url = `rbd://${fsid}/images/${image.id}/snap`
      t.equal(shown.direct_url, url, 'location as glance_store writes it')
      t.same(shown.locations, [{ url, metadata: { store } }])
      const info = await rbdJson(conf, 'info', `images/${image.id}`)
      t.equal(info.size, 20 * MiB + 3, 'RBD image has the exact size')
      t.equal(info.order, order, 'object size from rbd_store_chunk_size')
      t.same(info.features, await defaultFeatures(conf), 'the features `rbd create` gives (rbd_default_features)')
      const snaps = await rbdJson(conf, 'snap', 'ls', `images/${image.id}`)
      t.same(snaps.map((s: any) => [s.name, s.protected]), [['snap', 'true']], 'snap exists and is protected')
      const other = store === 'ceph_a' ? CEPH_B_CONF : CEPH_A_CONF
      t.notOk((await rbdImages(other)).includes(image.id), 'not in the other cluster')
      const exported = await rbd(conf, 'export', `images/${image.id}@snap`, '-')
      const { createHash } = await import('node:crypto')
      t.equal(createHash('sha512').update(Buffer.from(exported, 'latin1')).digest('hex'), up.sent.sha512, 'the cluster holds the same bytes')
      const down = await download(base, `/v2/images/${image.id}/file`)
      t.equal(down.digest.sha512, up.sent.sha512, 'download is byte-identical')
    }
  })

  t.test('chunked upload of unknown size: resized on write, trimmed at the end', async (t) => {
    const image = await createImage(glint, { name: 'chunked' })
    const up = await uploadLarge(base, image.id, 300 * MiB + 12345, { chunked: true, store: 'ceph_a' })
    t.equal(up.status, 204)
    const info = await rbdJson(CEPH_A_CONF, 'info', `images/${image.id}`)
    t.equal(info.size, 300 * MiB + 12345)
    const down = await download(base, `/v2/images/${image.id}/file`)
    t.equal(down.digest.sha512, up.sent.sha512)
  })

  t.test('thin provisioning skips zero chunks', async (t) => {
    const image = await createImage(glint, { name: 'zeros' })
    const zeros = Buffer.alloc(16 * MiB)
    const reply = await glint.request('PUT', `/v2/images/${image.id}/file`, { body: zeros, headers: { 'Content-Type': 'application/octet-stream', 'X-Image-Meta-Store': 'ceph_b' } })
    t.equal(reply.status, 204)
    const du = await rbdJson(CEPH_B_CONF, 'du', `images/${image.id}`)
    const head = du.images.find((i: any) => i.snapshot === undefined || i.snapshot === null) ?? du.images[0]
    t.equal(head.used_size, 0, 'no object written for zero chunks')
    t.equal((await rbdJson(CEPH_B_CONF, 'info', `images/${image.id}`)).size, 16 * MiB)
    const down = await download(base, `/v2/images/${image.id}/file`)
    t.equal(down.digest.size, 16 * MiB)
    t.ok(down.body!.equals(zeros), 'reads back as zeros')
  })

  t.test('a COW clone as Nova makes it blocks delete (409) until it is gone', async (t) => {
    const image = await createImage(glint, { name: 'cloned' })
    t.equal((await upload(base, image.id, 8 * MiB, { store: 'ceph_a' })).status, 204)
    const child = `instance-${randomUUID()}_disk`
    await rbd(CEPH_A_CONF, 'clone', `images/${image.id}@snap`, `images/${child}`)
    const blocked = await glint.request('DELETE', `/v2/images/${image.id}`)
    t.equal(blocked.status, 409)
    t.match(blocked.json.message, /in use/)
    t.equal((await glint.request('GET', `/v2/images/${image.id}`)).json.status, 'active', 'image kept')
    const snaps = await rbdJson(CEPH_A_CONF, 'snap', 'ls', `images/${image.id}`)
    t.same(snaps.map((s: any) => [s.name, s.protected]), [['snap', 'true']], 'snapshot kept and still protected')
    t.equal((await download(base, `/v2/images/${image.id}/file`)).digest.size, 8 * MiB, 'data still served')
    await rbd(CEPH_A_CONF, 'rm', `images/${child}`)
    t.equal((await glint.request('DELETE', `/v2/images/${image.id}`)).status, 204)
    t.notOk((await rbdImages(CEPH_A_CONF)).includes(image.id), 'RBD image removed')
    t.equal((await glint.request('GET', `/v2/images/${image.id}`)).status, 404)
  })

  t.test('an upload aborted midway leaves no RBD image', async (t) => {
    const image = await createImage(glint, { name: 'aborted' })
    const up = await upload(base, image.id, 64 * MiB, { chunked: true, store: 'ceph_b', abortAfter: 20 * MiB })
    t.equal(up.status, 0)
    t.ok(await eventually(async () => (await glint.request('GET', `/v2/images/${image.id}`)).json.status === 'queued'), 'back to queued')
    t.ok(await eventually(async () => !(await rbdImages(CEPH_B_CONF)).includes(image.id)), 'no RBD image left')
  })

  t.test('Range downloads from RBD (Glance answers 400 there)', async (t) => {
    const image = await createImage(glint, { name: 'ranges' })
    const up = await upload(base, image.id, 10 * MiB, { store: 'ceph_b' })
    t.equal(up.status, 204)
    const whole = (await download(base, `/v2/images/${image.id}/file`)).body!
    const part = await download(base, `/v2/images/${image.id}/file`, { Range: `bytes=${4 * MiB - 5}-${8 * MiB + 4}` })
    t.equal(part.status, 206)
    t.equal(part.headers['content-range'], `bytes ${4 * MiB - 5}-${8 * MiB + 4}/${10 * MiB}`)
    t.ok(part.body!.equals(whole.subarray(4 * MiB - 5, 8 * MiB + 5)))
    const tail = await download(base, `/v2/images/${image.id}/file`, { Range: 'bytes=-100' })
    t.ok(tail.body!.equals(whole.subarray(10 * MiB - 100)))
  })

  t.test('a cluster that is down: 503, image stays queued, other stores keep serving', async (t) => {
    const image = await createImage(glint, { name: 'down' })
    const up = await upload(base, image.id, 4 * MiB, { store: 'dead' })
    t.equal(up.status, 503)
    t.match(JSON.parse(up.body).message, /dead/, 'the message names the store')
    t.equal((await glint.request('GET', `/v2/images/${image.id}`)).json.status, 'queued')
    const ok = await createImage(glint, { name: 'alive' })
    t.equal((await upload(base, ok.id, 1 * MiB, { store: 'ceph_a' })).status, 204, 'ceph_a still serves')
    t.equal((await upload(base, image.id, 1 * MiB, { store: 'ceph_b' })).status, 204, 'the same image can go elsewhere')
  })

  t.test('copy-image import to another cluster, then DELETE /v2/stores removes one copy', async (t) => {
    const image = await createImage(glint, { name: 'copied' })
    const up = await upload(base, image.id, 24 * MiB + 1, { store: 'ceph_a' })
    t.equal(up.status, 204)
    const info = await glint.request('GET', '/v2/info/import')
    t.same(info.json['import-methods'].value, ['glance-direct', 'web-download', 'copy-image'], 'Glance\'s default enabled_import_methods')
    const queued = await createImage(glint, { name: 'not-active' })
    const notActive = await glint.request('POST', `/v2/images/${queued.id}/import`, { json: { method: { name: 'copy-image' }, stores: ['ceph_b'] } })
    t.equal(notActive.status, 409, 'copy-image needs an active image')
    const unknownStore = await glint.request('POST', `/v2/images/${image.id}/import`, { json: { method: { name: 'copy-image' }, stores: ['nope'] } })
    t.equal(unknownStore.status, 409)
    const already = await glint.request('POST', `/v2/images/${image.id}/import`, { json: { method: { name: 'copy-image' }, stores: ['ceph_a'] } })
    t.equal(already.status, 400, 'the image is already in ceph_a')
    const badMethod = await glint.request('POST', `/v2/images/${image.id}/import`, { json: { method: { name: 'no-such-method' } } })
    t.equal(badMethod.status, 400, 'an unknown method: 400')
    const notQueued = await glint.request('POST', `/v2/images/${image.id}/import`, { json: { method: { name: 'web-download', uri: 'http://example.com/x' } } })
    t.equal(notQueued.status, 409, 'web-download into an active image: 409, as Glance')
    const accepted = await glint.request('POST', `/v2/images/${image.id}/import`, { json: { method: { name: 'copy-image' }, stores: ['ceph_b'], all_stores_must_succeed: false } })
    t.equal(accepted.status, 202)
    t.ok(await eventually(async () => {
      const shown = (await glint.request('GET', `/v2/images/${image.id}`)).json
      return shown.stores === 'ceph_a,ceph_b' && shown.os_glance_importing_to_stores === ''
    }, 300), 'copied to ceph_b')
    const shown = (await glint.request('GET', `/v2/images/${image.id}`)).json
    t.equal(shown.os_glance_failed_import, '')
    t.equal(shown.status, 'active')
    t.equal(shown.checksum, up.sent.md5, 'checksums unchanged')
    const exported = await rbd(CEPH_B_CONF, 'export', `images/${image.id}@snap`, '-')
    const { createHash } = await import('node:crypto')
    t.equal(createHash('sha512').update(Buffer.from(exported, 'latin1')).digest('hex'), up.sent.sha512, 'cluster b holds the same bytes')
    const tasks = (await glint.request('GET', `/v2/images/${image.id}/tasks`)).json.tasks
    t.equal(tasks.length, 1)
    t.equal(tasks[0].status, 'success')
    t.equal(tasks[0].request_id, accepted.headers.get('x-openstack-request-id'), 'the task records the import request id')
    t.equal((await glint.request('DELETE', `/v2/stores/ceph_a/${image.id}`)).status, 204)
    t.equal((await glint.request('GET', `/v2/images/${image.id}`)).json.stores, 'ceph_b')
    t.notOk((await rbdImages(CEPH_A_CONF)).includes(image.id), 'the copy in ceph_a is gone')
    t.equal((await download(base, `/v2/images/${image.id}/file`)).digest.sha512, up.sent.sha512, 'still served from ceph_b')
  })

  t.test('stores info, store ids header, unknown store, DELETE /v2/stores', async (t) => {
    const info = await glint.request('GET', '/v2/info/stores')
    t.same(info.json.stores.map((s: any) => s.id), ['local', 'ceph_a', 'ceph_b', 'dead'])
    t.equal(info.json.stores[0].default, 'true')
    const detail = await glint.request('GET', '/v2/info/stores/detail')
    const a = detail.json.stores.find((s: any) => s.id === 'ceph_a')
    t.same(a.properties, { chunk_size: 8 * MiB, pool: 'images', thin_provisioning: false })
    t.equal(a.type, 'rbd')
    const created = await glint.request('POST', '/v2/images', { json: { name: 'h', disk_format: 'raw', container_format: 'bare' } })
    t.equal(created.headers.get('openstack-image-store-ids'), 'local,ceph_a,ceph_b,dead')
    const unknown = await upload(base, created.json.id, 1000, { store: 'nope' })
    t.equal(unknown.status, 400)
    t.equal((await glint.request('GET', `/v2/images/${created.json.id}`)).json.status, 'queued')
    // A second copy cannot be made through the API yet (copy-image import), so the
    // last-location rule is what DELETE /v2/stores can show here.
    t.equal((await upload(base, created.json.id, 1000, { store: 'ceph_a' })).status, 204)
    t.equal((await glint.request('DELETE', `/v2/stores/ceph_b/${created.json.id}`)).status, 404, 'not in that store')
    t.equal((await glint.request('DELETE', `/v2/stores/ceph_a/${created.json.id}`)).status, 403, 'the only copy')
    t.equal((await glint.request('DELETE', `/v2/stores/nope/${created.json.id}`)).status, 400)
  })
})
