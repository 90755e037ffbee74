// Image locations through PATCH (issue 12), as Glance 25.1 answers them: add/replace/remove
// with validation_data, http locations served by a real local HTTP server (read through the
// read-only http store, filtered by [import_filtering_opts]), rbd:// locations of a real
// `rbd clone`, and concurrent PATCHes of one image's locations.

import t from 'tap'
import { createServer, type Server } from 'node:http'
import { createHash, randomBytes } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { createImage, startGlint, type Glint } from './helpers/glint.js'
import { download, upload } from './helpers/data.js'
import { CEPH_A_CONF, clustersMissing, fsidOf, rbd, storesConfig } from './helpers/ceph.js'

const PATCH = { 'Content-Type': 'application/openstack-images-v2.1-json-patch' }
const DATA = randomBytes(3 * 1024 * 1024 + 17)
const sha512 = (b: Buffer): string => createHash('sha512').update(b).digest('hex')
const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex')

/** A plain HTTP server on loopback: /image.raw (any #fragment), /empty, /redirect-local; it records each path asked for. */
async function httpServer (): Promise<{ server: Server, port: number, asked: string[] }> {
  const asked: string[] = []
  const server = createServer((req, res) => {
    asked.push(`${req.method} ${req.url}`)
    if (req.url === '/empty') { res.writeHead(200, { 'Content-Length': 0 }); res.end(); return }
    if (req.url === '/redirect-local') { res.writeHead(302, { Location: `http://localhost:${(server.address() as AddressInfo).port}/secret` }); res.end(); return }
    if (req.url !== '/image.raw') { res.writeHead(404); res.end(); return }
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '')
    const from = range === null ? 0 : Number(range[1])
    res.writeHead(range === null ? 200 : 206, { 'Content-Length': DATA.length - from })
    res.end(req.method === 'HEAD' ? undefined : DATA.subarray(from))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { server, port: (server.address() as AddressInfo).port, asked }
}

/** A file store `local` and an http store `web` that may read the loopback server on `port`; `defaults` ends [DEFAULT] (its first line is line 5). */
function httpStoreConfig (port: number, defaults: string): string {
  return `[DEFAULT]
enabled_backends = local:file, web:http
show_multiple_locations = true
show_image_direct_url = true
${defaults}
[glance_store]
default_backend = local
[local]
filesystem_store_datadir = {dataDir}/images
[import_filtering_opts]
allowed_hosts = 127.0.0.1
allowed_ports = ${port}
`
}

async function patch (glint: Glint, id: string, ops: unknown): Promise<{ status: number, json: any }> {
  const r = await glint.request('PATCH', `/v2/images/${id}`, { headers: PATCH, body: JSON.stringify(ops) })
  return { status: r.status, json: r.json }
}

t.test('http locations', async (t) => {
  const web = await httpServer()
  t.teardown(() => { web.server.close() })
  const glint = await startGlint({
    database: 'postgres',
    config: httpStoreConfig(web.port, 'image_location_quota = 12')
  })
  t.teardown(() => glint.stop())
  const url = `http://127.0.0.1:${web.port}/image.raw`
  const show = async (id: string): Promise<any> => (await glint.request('GET', `/v2/images/${id}`)).json

  t.test('add to a queued image: active, size from Content-Length, no hashes; download is byte-identical', async (t) => {
    const image = await createImage(glint, { disk_format: 'raw', container_format: 'bare' })
    t.same(image.locations, [])
    const r = await patch(glint, image.id, [{ op: 'add', path: '/locations/-', value: { url, metadata: { foo: 'bar' } } }])
    t.equal(r.status, 200)
    t.equal(r.json.status, 'active')
    t.equal(r.json.size, DATA.length)
    t.equal(r.json.os_hash_value, null)
    t.equal(r.json.checksum, null)
    t.same(r.json.locations, [{ url, metadata: { foo: 'bar', store: 'web' } }])
    t.equal(r.json.direct_url, url)
    const down = await download(glint.url, `/v2/images/${image.id}/file`)
    t.equal(down.status, 200)
    t.equal(down.digest.sha512, sha512(DATA), 'streamed from the http location, byte-identical')
    const ranged = await download(glint.url, `/v2/images/${image.id}/file`, { Range: 'bytes=1048576-' })
    t.equal(ranged.status, 206)
    t.equal(ranged.digest.sha512, sha512(DATA.subarray(1048576)), 'a range too')
    const info = (await glint.request('GET', '/v2/info/stores')).json
    t.match(info.stores.find((s: any) => s.id === 'web'), { 'read-only': 'true' })
  })

  t.test('the add/replace/remove matrix', async (t) => {
    const image = await createImage(glint, { disk_format: 'raw', container_format: 'bare' })
    const id = image.id
    const expect = async (ops: unknown, status: number, message: RegExp): Promise<void> => {
      const before = await show(id)
      const r = await patch(glint, id, ops)
      t.equal(r.status, status, JSON.stringify(ops).slice(0, 120))
      t.match(r.json?.message, message)
      t.same(await show(id), before, 'nothing changed')
    }
    await expect([{ op: 'add', path: '/locations/-', value: { url: 'gopher://127.0.0.1/x', metadata: {} } }], 400, /^Invalid location/)
    await expect([{ op: 'add', path: '/locations/-', value: { url: 'file:///etc/passwd', metadata: {} } }], 400, /^Invalid location/)
    await expect([{ op: 'add', path: '/locations/-', value: { url: `http://127.0.0.1:${web.port}/missing`, metadata: {} } }], 400, /^Invalid location/)
    await expect([{ op: 'add', path: '/locations/-', value: { url: `http://127.0.0.1:${web.port}/empty`, metadata: {} } }], 400, /^Invalid location/)
    await expect([{ op: 'add', path: '/locations/x', value: { url, metadata: {} } }], 400, /^Invalid position for adding a location/)
    await expect([{ op: 'remove', path: '/locations/0' }], 409, /^It's not allowed to remove locations if image status is queued/)
    await expect([{ op: 'add', path: '/locations/-', value: { url, metadata: {}, validation_data: { os_hash_algo: 'md5', os_hash_value: md5(DATA) } } }], 409, /^os_hash_algo must be sha512, not md5/)
    await expect([{ op: 'add', path: '/locations/-', value: { url, metadata: {}, validation_data: { os_hash_algo: 'sha512', os_hash_value: 'ab' } } }], 409, /is not the correct size for sha512/)
    await expect([{ op: 'add', path: '/locations/-', value: { url, metadata: {}, validation_data: { os_hash_algo: 'sha512' } } }], 400, /'os_hash_value' is a required property/)

    // validation_data sets checksum and os_hash_*; it is not kept in the location
    const vd = { checksum: md5(DATA), os_hash_algo: 'sha512', os_hash_value: sha512(DATA) }
    let r = await patch(glint, id, [{ op: 'add', path: '/locations/-', value: { url, metadata: {}, validation_data: vd } }])
    t.equal(r.status, 200)
    t.match(r.json, { status: 'active', checksum: vd.checksum, os_hash_algo: 'sha512', os_hash_value: vd.os_hash_value, size: DATA.length })
    t.same(r.json.locations, [{ url, metadata: { store: 'web' } }])
    await expect([{ op: 'add', path: '/locations/-', value: { url, metadata: { store: 'web' } } }], 400, /^The location .* already exists/)
    // the same hashes again are fine; a different one is 409
    r = await patch(glint, id, [{ op: 'add', path: '/locations/-', value: { url: `${url}#2`, metadata: {}, validation_data: vd } }])
    t.equal(r.status, 200, 'matching validation_data on an active image')
    await expect([{ op: 'add', path: '/locations/-', value: { url: `${url}#3`, metadata: {}, validation_data: { ...vd, os_hash_value: sha512(Buffer.from('x')) } } }], 409, /^os_hash_value is already set with a different value/)
    // add at a position
    r = await patch(glint, id, [{ op: 'add', path: '/locations/0', value: { url: `${url}#first`, metadata: { n: 1 } } }])
    t.equal(r.status, 200)
    t.same(r.json.locations.map((l: any) => l.url), [`${url}#first`, url, `${url}#2`])
    t.equal(r.json.direct_url, `${url}#first`, 'direct_url is the first location')
    // replace: metadata may change, the URL set may not
    const locs = r.json.locations
    locs[1].metadata.date = '2015-10-15'
    r = await patch(glint, id, [{ op: 'replace', path: '/locations', value: locs }])
    t.equal(r.status, 200)
    t.same(r.json.locations, locs)
    await expect([{ op: 'replace', path: '/locations', value: [locs[0], locs[1]] }], 400, /^Original locations is not empty/)
    await expect([{ op: 'replace', path: '/locations', value: [locs[0], locs[1], { url: `${url}#other`, metadata: {} }] }], 400, /^Original locations is not empty/)
    await expect([{ op: 'replace', path: '/locations', value: [] }], 403, /^Cannot set locations to empty list/)
    // remove
    await expect([{ op: 'remove', path: '/locations/7' }], 400, /^Invalid position for removing a location/)
    r = await patch(glint, id, [{ op: 'remove', path: '/locations/0' }, { op: 'remove', path: '/locations/0' }])
    t.equal(r.status, 200)
    t.same(r.json.locations, [locs[2]])
    await expect([{ op: 'remove', path: '/locations/0' }], 403, /^Cannot remove last location in the image/)
    // the quota: 12 locations at most
    const many = Array.from({ length: 11 }, (_, i) => ({ op: 'add', path: '/locations/-', value: { url: `${url}#q${i}`, metadata: {} } }))
    await expect(many.concat([{ op: 'add', path: '/locations/-', value: { url: `${url}#q11`, metadata: {} } }]), 413, /number of allowed image locations\. Attempted: 13, Maximum: 12/)
    t.equal((await patch(glint, id, many)).status, 200, '12 are fine')
    const down = await download(glint.url, `/v2/images/${id}/file`)
    t.equal(down.digest.sha512, sha512(DATA))
  })

  t.test('what the filter refuses is never fetched', async (t) => {
    const image = await createImage(glint, { disk_format: 'raw', container_format: 'bare' })
    const before = web.asked.length
    for (const bad of [`http://localhost:${web.port}/image.raw`, 'http://169.254.169.254/latest/meta-data/', `http://127.0.0.1:${web.port + 1}/image.raw`,
      `http://[::1]:${web.port}/image.raw`, `http://0.0.0.0:${web.port}/image.raw`]) {
      const r = await patch(glint, image.id, [{ op: 'add', path: '/locations/-', value: { url: bad, metadata: {} } }])
      t.equal(r.status, 400, bad)
    }
    t.equal(web.asked.length, before, 'no request reached the server')
    const r = await patch(glint, image.id, [{ op: 'add', path: '/locations/-', value: { url: `http://127.0.0.1:${web.port}/redirect-local`, metadata: {} } }])
    t.equal(r.status, 400, 'a redirect to a host the filter refuses')
    t.notOk(web.asked.some((a) => a.endsWith('/secret')), 'the redirect target was not asked')
    t.equal((await show(image.id)).status, 'queued')
  })

  t.test('concurrent PATCHes of one image\'s locations all land', async (t) => {
    const image = await createImage(glint, { disk_format: 'raw', container_format: 'bare' })
    const replies = await Promise.all(Array.from({ length: 8 }, async (_, i) =>
      await patch(glint, image.id, [{ op: 'add', path: '/locations/-', value: { url: `${url}#c${i}`, metadata: {} } }])))
    t.same(replies.map((r) => r.status), Array(8).fill(200))
    const shown = await show(image.id)
    t.equal(shown.status, 'active')
    t.same(shown.locations.map((l: any) => l.url).sort(), Array.from({ length: 8 }, (_, i) => `${url}#c${i}`).sort())
    // two removes racing down to the last location: exactly one is refused
    const two = await createImage(glint, { disk_format: 'raw', container_format: 'bare' })
    await patch(glint, two.id, [{ op: 'add', path: '/locations/-', value: { url, metadata: {} } }, { op: 'add', path: '/locations/-', value: { url: `${url}#b`, metadata: {} } }])
    const removes = await Promise.all([0, 1].map(async () => await patch(glint, two.id, [{ op: 'remove', path: '/locations/0' }])))
    t.same(removes.map((r) => r.status).sort(), [200, 403])
    t.equal((await show(two.id)).locations.length, 1)
  })
})

t.test('rbd:// locations of a real clone', { skip: clustersMissing() }, async (t) => {
  const glint = await startGlint({ config: storesConfig('{dataDir}') })
  t.teardown(() => glint.stop())
  const fsid = await fsidOf(CEPH_A_CONF)
  const parent = await createImage(glint, { disk_format: 'raw', container_format: 'bare' })
  const up = await upload(glint.url, parent.id, 9 * 1024 * 1024 + 5, { store: 'ceph_a' })
  t.equal(up.status, 204)
  // Nova's direct snapshot: a new image, a clone in Ceph, then its location
  const snapshot = await createImage(glint, { disk_format: 'raw', container_format: 'bare' })
  const clone = `images/${snapshot.id}`
  await rbd(CEPH_A_CONF, 'clone', `images/${parent.id}@snap`, clone)
  await rbd(CEPH_A_CONF, 'snap', 'create', `${clone}@snap`)
  await rbd(CEPH_A_CONF, 'snap', 'protect', `${clone}@snap`)
  const url = `rbd://${fsid}/${clone}/snap`
  const r = await patch(glint, snapshot.id, [{ op: 'add', path: '/locations/-', value: { url, metadata: {} } }])
  t.equal(r.status, 200)
  t.match(r.json, { status: 'active', size: 9 * 1024 * 1024 + 5, stores: 'ceph_a' })
  t.same(r.json.locations, [{ url, metadata: { store: 'ceph_a' } }])
  const down = await download(glint.url, `/v2/images/${snapshot.id}/file`)
  t.equal(down.digest.sha512, up.sent.sha512, 'the clone downloads byte-identical')
  const bad = await patch(glint, snapshot.id, [{ op: 'add', path: '/locations/-', value: { url: `rbd://00000000-0000-0000-0000-000000000000/${clone}/snap`, metadata: {} } }])
  t.equal(bad.status, 400, 'a cluster Glint does not have')
  const missing = await patch(glint, snapshot.id, [{ op: 'add', path: '/locations/-', value: { url: `rbd://${fsid}/images/nothing-here/snap`, metadata: {} } }])
  t.equal(missing.status, 400, 'an RBD image that does not exist')
  // deleting the image removes the clone (its data), then the parent can go
  t.equal((await glint.request('DELETE', `/v2/images/${snapshot.id}`)).status, 204)
  t.equal((await glint.request('DELETE', `/v2/images/${parent.id}`)).status, 204, 'no clone is left on the parent')
})

t.test('location_strategy: which location is direct_url and read first', async (t) => {
  const web = await httpServer()
  t.teardown(() => { web.server.close() })
  const url = `http://127.0.0.1:${web.port}/image.raw`
  const config = (strategy: string): string => httpStoreConfig(web.port, strategy)
  // an image in the file store, then the same bytes at an http location after it
  const fileThenHttp = async (glint: Glint): Promise<string> => {
    const image = await createImage(glint, { disk_format: 'raw', container_format: 'bare' })
    t.equal((await glint.request('PUT', `/v2/images/${image.id}/file`, { headers: { 'Content-Type': 'application/octet-stream' }, body: DATA })).status, 204)
    const r = await patch(glint, image.id, [{ op: 'add', path: '/locations/-', value: { url, metadata: {}, validation_data: { os_hash_algo: 'sha512', os_hash_value: sha512(DATA) } } }])
    t.equal(r.status, 200)
    t.same(r.json.locations.map((l: any) => l.metadata.store), ['local', 'web'], 'locations keep the order they were added in')
    return image.id
  }

  t.test('location_order (the default): the first added', async (t) => {
    const glint = await startGlint({ config: config('') })
    t.teardown(() => glint.stop())
    const id = await fileThenHttp(glint)
    const image = (await glint.request('GET', `/v2/images/${id}`)).json
    t.match(image.direct_url, /^file:\/\//)
    web.asked.length = 0
    const down = await download(glint.url, `/v2/images/${id}/file`)
    t.equal(down.digest.sha512, sha512(DATA))
    t.same(web.asked, [], 'read from the file store, the http server not asked')
  })

  t.test('store_type with http before file: the http location, wherever it is in the list', async (t) => {
    const glint = await startGlint({ config: config("location_strategy = store_type\n[store_type_location_strategy]\nstore_type_preference = ['http', 'file']") })
    t.teardown(() => glint.stop())
    const id = await fileThenHttp(glint)
    const image = (await glint.request('GET', `/v2/images/${id}`)).json
    t.equal(image.direct_url, url)
    t.same(image.locations.map((l: any) => l.metadata.store), ['local', 'web'], 'the locations list itself is not reordered')
    web.asked.length = 0
    const down = await download(glint.url, `/v2/images/${id}/file`)
    t.equal(down.digest.sha512, sha512(DATA))
    t.ok(web.asked.includes('GET /image.raw'), 'read from the http location')
  })

  t.test('store_type with only file preferred: file first, the others after it', async (t) => {
    const glint = await startGlint({ config: config('location_strategy = store_type\n[store_type_location_strategy]\nstore_type_preference = file') })
    t.teardown(() => glint.stop())
    const id = await fileThenHttp(glint)
    t.match((await glint.request('GET', `/v2/images/${id}`)).json.direct_url, /^file:\/\//)
  })

  t.test('an unknown strategy stops the start', async (t) => {
    await t.rejects(startGlint({ config: config('location_strategy = fastest') }),
      /line 5: \[DEFAULT\] location_strategy must be one of location_order, store_type, not fastest/)
  })
})
