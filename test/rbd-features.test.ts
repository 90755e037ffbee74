// RBD images carry the features glance_store gives them (issue 10): the cluster's
// rbd_default_features, layering alone when that is 0; Nova's COW clone of the protected
// snapshot works on them, and a delete while a clone exists answers 409 and keeps everything.

import t from 'tap'
import { createHash, randomUUID } from 'node:crypto'
import { join } from 'node:path'
import { tmpdir } from 'node:os'
import { rmSync } from 'node:fs'
import { createImage, startGlint } from './helpers/glint.js'
import { download, upload } from './helpers/data.js'
import { CEPH_A_CONF, clustersMissing, confWithClientOptions, defaultFeatures, rbd, rbdImages, rbdJson } from './helpers/ceph.js'

const MiB = 1024 * 1024

t.test('rbd image features', { skip: clustersMissing() }, async (t) => {
  const zeroConf = confWithClientOptions(CEPH_A_CONF, join(tmpdir(), `glint-features0-${randomUUID()}.conf`), ['rbd default features = 0'])
  t.teardown(() => rmSync(zeroConf, { force: true }))
  const glint = await startGlint({
    config: `[DEFAULT]
enabled_backends = local:file, ceph_a:rbd, zero:rbd
[glance_store]
default_backend = ceph_a
[local]
filesystem_store_datadir = {dataDir}/images
[ceph_a]
rbd_store_ceph_conf = ${CEPH_A_CONF}
rbd_store_user = admin
rbd_store_pool = images
rbd_store_chunk_size = 8
[zero]
rbd_store_ceph_conf = ${zeroConf}
rbd_store_user = admin
rbd_store_pool = images
rbd_store_chunk_size = 4
`
  })
  t.teardown(() => glint.stop())
  const base = glint.url
  const expected = await defaultFeatures(CEPH_A_CONF)

  t.test('an upload makes the image `rbd create` would: the cluster default features', async (t) => {
    t.ok(expected.includes('layering'), `the cluster's defaults (${expected.join(',')}) include layering`)
    t.ok(expected.includes('exclusive-lock') && expected.includes('object-map'), 'and, on these clusters (Ceph default 61), exclusive-lock and object-map')
    for (const chunked of [false, true]) {
      const image = await createImage(glint, { name: `features-${chunked ? 'chunked' : 'length'}` })
      const up = await upload(base, image.id, 40 * MiB + 7, { store: 'ceph_a', chunked })
      t.equal(up.status, 204, chunked ? 'chunked upload' : 'upload with Content-Length')
      const info = await rbdJson(CEPH_A_CONF, 'info', `images/${image.id}`)
      t.same(info.features, expected, 'features = rbd_default_features')
      t.equal(info.size, 40 * MiB + 7, 'exact size (a chunked body is resized on write, then trimmed)')
      t.same(info.flags, [], 'object map valid (no "object map invalid" flag)')
      const snaps = await rbdJson(CEPH_A_CONF, 'snap', 'ls', `images/${image.id}`)
      t.same(snaps.map((s: any) => [s.name, s.protected]), [['snap', 'true']], 'protected snapshot')
      const du = await rbdJson(CEPH_A_CONF, 'du', `images/${image.id}`)
      t.equal(du.images.reduce((sum: number, i: any) => sum + i.used_size, 0), 40 * MiB + 7, 'rbd du (fast-diff): every object written, nothing past the end')
      const exported = await rbd(CEPH_A_CONF, 'export', `images/${image.id}@snap`, '-')
      t.equal(createHash('sha512').update(Buffer.from(exported, 'latin1')).digest('hex'), up.sent.sha512, 'the cluster holds the bytes')
      t.equal((await glint.request('DELETE', `/v2/images/${image.id}`)).status, 204)
      t.notOk((await rbdImages(CEPH_A_CONF)).includes(image.id), 'deleted')
    }
  })

  t.test("Nova's rbd clone of the snapshot works; delete answers 409 until the clone is gone", async (t) => {
    const image = await createImage(glint, { name: 'cloned' })
    const up = await upload(base, image.id, 20 * MiB, { store: 'ceph_a', chunked: true })
    t.equal(up.status, 204)
    const child = `instance-${randomUUID()}_disk`
    await rbd(CEPH_A_CONF, 'clone', `images/${image.id}@snap`, `images/${child}`)
    t.teardown(async () => { await rbd(CEPH_A_CONF, 'rm', '--no-progress', `images/${child}`).catch(() => {}) })
    const childInfo = await rbdJson(CEPH_A_CONF, 'info', `images/${child}`)
    t.equal(childInfo.parent.image, image.id, 'the clone is a COW child of the image')
    t.equal(childInfo.parent.snapshot, 'snap')
    const fromChild = await rbd(CEPH_A_CONF, 'export', `images/${child}`, '-')
    t.equal(createHash('sha512').update(Buffer.from(fromChild, 'latin1')).digest('hex'), up.sent.sha512, 'the clone reads the image bytes')
    const blocked = await glint.request('DELETE', `/v2/images/${image.id}`)
    t.equal(blocked.status, 409, 'delete refused while a clone exists')
    t.equal((await glint.request('GET', `/v2/images/${image.id}`)).json.status, 'active', 'image kept')
    const snaps = await rbdJson(CEPH_A_CONF, 'snap', 'ls', `images/${image.id}`)
    t.same(snaps.map((s: any) => [s.name, s.protected]), [['snap', 'true']], 'snapshot kept, still protected')
    t.equal((await download(base, `/v2/images/${image.id}/file`)).digest.sha512, up.sent.sha512, 'still served')
    await rbd(CEPH_A_CONF, 'rm', '--no-progress', `images/${child}`)
    t.equal((await glint.request('DELETE', `/v2/images/${image.id}`)).status, 204, 'delete once the clone is gone')
    t.notOk((await rbdImages(CEPH_A_CONF)).includes(image.id), 'RBD image removed')
  })

  t.test('rbd_default_features = 0 gives layering alone, as glance_store does', async (t) => {
    const image = await createImage(glint, { name: 'zero-features' })
    t.equal((await upload(base, image.id, 6 * MiB, { store: 'zero' })).status, 204)
    const info = await rbdJson(CEPH_A_CONF, 'info', `images/${image.id}`)
    t.same(info.features, ['layering'])
    t.equal(info.order, 22, 'rbd_store_chunk_size = 4')
    t.equal((await glint.request('DELETE', `/v2/images/${image.id}`)).status, 204)
  })
})
