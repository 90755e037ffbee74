// glance-download (issue 12): an image copied from another Glint found in the caller's Keystone
// catalog. Two real Glints validating tokens against the real Keystone: the source, and the
// target with glance-download enabled, a file store, ceph_a and ceph_b. The source is reached through
// catalog entries this test adds to the `image` service in a region of its own (interface
// internal, so that nothing choosing the default public endpoint of the shared Keystone can pick
// them up), removed at the end. Checked: the bytes, hashes, formats and only the allowed
// properties copied; the API's 400s and 409; a missing or inactive source, an unknown region
// or interface, an endpoint that does not answer, and a loopback endpoint refused by
// [import_filtering_opts]: each ends the task in failure with the image queued as it was and
// nothing left in staging or the stores; the caller's token never in the task and not kept
// after it. A gateway killed mid-download (the source reached through a proxy that holds the
// download): the gateway taking the task over downloads with the token recorded at accept
// time, and fails the task, saying why, when that token has expired meanwhile. A source that
// redirects to another origin: the token is not sent there.

import t from 'tap'
import { createHash, randomBytes } from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import postgres from 'postgres'
import { createDatabase, startGlint, type Glint } from './helpers/glint.js'
import {
  adminToken, createAccount, deleteAccount, KEYSTONE_URL, keystoneConfig, keystoneMissing, passwordToken, shortLivedToken, type Account
} from './helpers/keystone.js'
import { CEPH_A_CONF, CEPH_B_CONF, clustersMissing, rbdImages } from './helpers/ceph.js'
import { download } from './helpers/data.js'
import { freePort } from '../bench/util/paths.js'

const MiB = 1024 * 1024
const DATA = randomBytes(5 * MiB + 4321)
const SHA512 = createHash('sha512').update(DATA).digest('hex')
const MD5 = createHash('md5').update(DATA).digest('hex')

const missing = await keystoneMissing() ?? clustersMissing()

async function keystone (method: string, path: string, token: string, body?: unknown): Promise<{ status: number, json: any }> {
  const res = await fetch(KEYSTONE_URL + path, {
    method, headers: { 'Content-Type': 'application/json', 'X-Auth-Token': token }, body: body === undefined ? undefined : JSON.stringify(body)
  })
  const text = await res.text()
  return { status: res.status, json: text === '' ? undefined : JSON.parse(text) }
}

/** Endpoints of the catalog's `image` service in a region made for this test; `remove` takes them (and what it created) away. */
async function testRegion (endpoints: Array<{ iface: string, url: string }>): Promise<{ region: string, remove: () => Promise<void> }> {
  const admin = (await adminToken()).token
  const region = `glint-gd-${randomBytes(4).toString('hex')}`
  const made = await keystone('POST', '/regions', admin, { region: { id: region, description: 'test/import-glance-download.test.ts' } })
  if (made.status !== 201) throw new Error(`region refused: ${made.status} ${JSON.stringify(made.json)}`)
  let service = (await keystone('GET', '/services?type=image', admin)).json.services[0]
  const ownService = service === undefined
  if (ownService) service = (await keystone('POST', '/services', admin, { service: { type: 'image', name: 'glance' } })).json.service
  const ids: string[] = []
  for (const e of endpoints) {
    const reply = await keystone('POST', '/endpoints', admin, { endpoint: { service_id: service.id, interface: e.iface, region_id: region, url: e.url } })
    if (reply.status !== 201) throw new Error(`endpoint refused: ${reply.status} ${JSON.stringify(reply.json)}`)
    ids.push(reply.json.endpoint.id)
  }
  return {
    region,
    async remove () {
      const token = (await adminToken()).token
      for (const id of ids) await keystone('DELETE', `/endpoints/${id}`, token)
      if (ownService) await keystone('DELETE', `/services/${service.id}`, token)
      await keystone('DELETE', `/regions/${region}`, token)
    }
  }
}

/**
 * A plain forwarder to the source Glint, registered as the source's endpoint when a test must
 * hold a download: arm() makes the next .../file GET stop after 1 MiB until released. It
 * records the token each request carried.
 */
async function holdingProxy (upstream: string): Promise<{ url: string, port: number, tokens: string[], fileGets: () => number, arm: () => { held: Promise<void>, release: () => void }, close: () => Promise<void> }> {
  const tokens: string[] = []
  let fileGets = 0
  let armed: { holding: () => void, released: Promise<void> } | undefined
  const server = http.createServer((req, res) => {
    tokens.push(String(req.headers['x-auth-token']))
    const file = (req.url ?? '').endsWith('/file')
    if (file) fileGets++
    const hold = file ? armed : undefined
    if (hold !== undefined) armed = undefined
    const up = http.request(upstream + (req.url ?? ''), { method: req.method, headers: { 'x-auth-token': req.headers['x-auth-token'] ?? '', accept: req.headers.accept ?? '*/*' } }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers)
      if (hold === undefined) { answer.pipe(res); return }
      let sent = 0
      answer.on('data', (chunk: Buffer) => {
        if (sent >= MiB) return
        res.write(chunk)
        sent += chunk.length
        if (sent >= MiB) {
          answer.pause()
          hold.holding()
          void hold.released.then(() => { answer.destroy(); res.destroy() })
        }
      })
    })
    up.on('error', () => res.destroy())
    up.end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    tokens,
    fileGets: () => fileGets,
    arm () {
      let holding!: () => void
      const held = new Promise<void>((resolve) => { holding = resolve })
      let release!: () => void
      const released = new Promise<void>((resolve) => { release = resolve })
      armed = { holding, released }
      return { held, release }
    },
    close: async () => { server.closeAllConnections(); await new Promise((resolve) => server.close(resolve)) }
  }
}

function targetConfig (o: { staging: string, store: string, filtering: string, ceph: boolean, defaults?: string }): string {
  return `[DEFAULT]
${o.defaults ?? ''}
enabled_backends = local:file${o.ceph ? ', ceph_a:rbd, ceph_b:rbd' : ''}
enabled_import_methods = [glance-direct, web-download, copy-image, glance-download]
[glance_store]
default_backend = local
[local]
filesystem_store_datadir = ${o.store}
${o.ceph ? `[ceph_a]\nrbd_store_ceph_conf = ${CEPH_A_CONF}\nrbd_store_user = admin\nrbd_store_pool = images\n[ceph_b]\nrbd_store_ceph_conf = ${CEPH_B_CONF}\nrbd_store_user = admin\nrbd_store_pool = images\nrbd_store_chunk_size = 4\n` : ''}[os_glance_staging_store]
filesystem_store_datadir = ${o.staging}
[import_filtering_opts]
${o.filtering}
${keystoneConfig()}`
}

t.test('glance-download from another Glint found in the catalog', { skip: missing }, async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'glint-gd-'))
  t.teardown(() => rmSync(work, { recursive: true, force: true }))
  const source: Glint = await startGlint({ database: 'postgres', config: keystoneConfig() })
  t.teardown(() => source.stop())
  const dead = await freePort()
  // the ports of a source that redirects (127.0.0.1) to another origin (localhost)
  const hops = [await freePort(), await freePort()]
  const catalog = await testRegion([
    { iface: 'internal', url: `${source.url}/` },
    { iface: 'admin', url: `http://127.0.0.1:${dead}` }
  ])
  t.teardown(() => catalog.remove())
  const dirs = { staging: join(work, 'staging'), store: join(work, 'images'), staging2: join(work, 'staging2'), store2: join(work, 'images2') }
  const target: Glint = await startGlint({
    database: 'postgres',
    config: targetConfig({ staging: dirs.staging, store: dirs.store, ceph: true, filtering: `allowed_hosts = 127.0.0.1, localhost\nallowed_ports = ${source.port}, ${dead}, ${hops.join(', ')}` })
  })
  t.teardown(() => target.stop())
  // loopback is refused unless allowed_hosts names it (Glance 25.1's filter); the port is allowed
  const strict: Glint = await startGlint({
    database: 'postgres',
    config: targetConfig({ staging: dirs.staging2, store: dirs.store2, ceph: false, filtering: `allowed_ports = ${source.port}` })
  })
  t.teardown(() => strict.stop())

  const alice: Account = await createAccount('member')
  t.teardown(() => deleteAccount(alice))
  // issued after the endpoints were added: its catalog has them
  const token = (await passwordToken(alice.username, alice.password, alice.projectName)).token
  const as = { 'X-Auth-Token': token }
  const sql = postgres(target.databaseUrl!, { max: 1, onnotice: () => {} })
  t.teardown(() => sql.end())

  const TARGET_PROPS = { mine: 'kept', hw_disk_bus: 'ide' }
  const create = async (glint: Glint, fields: Record<string, unknown>): Promise<any> => {
    const reply = await glint.request('POST', '/v2/images', { headers: as, json: { name: 'gd', ...fields } })
    if (reply.status !== 201) throw new Error(`create: ${reply.status} ${reply.text}`)
    return reply.json
  }
  const importFrom = async (glint: Glint, id: string, method: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<{ status: number, text: string }> =>
    await glint.request('POST', `/v2/images/${id}/import`, { headers: as, json: { method: { name: 'glance-download', ...method }, ...extra } })
  const settled = async (glint: Glint, id: string): Promise<{ image: any, task: any }> => {
    for (let i = 0; i < 600; i++) {
      const tasks = (await glint.request('GET', `/v2/images/${id}/tasks`, { headers: as })).json.tasks
      const task = tasks.at(-1)
      if (task !== undefined && (task.status === 'success' || task.status === 'failure')) {
        return { image: (await glint.request('GET', `/v2/images/${id}`, { headers: as })).json, task }
      }
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
    throw new Error(`the task of ${id} did not end`)
  }
  const nothingLeft = async (t: Tap.Test, id: string, staging: string, store: string): Promise<void> => {
    t.same(readdirSync(staging).filter((f) => f.startsWith(id)), [], 'nothing left in staging')
    t.same(readdirSync(store).filter((f) => f.startsWith(id)), [], 'nothing left in the file store')
  }

  // the source: active, with properties of which only some are copied
  const SOURCE_PROPS = {
    hw_disk_bus: 'scsi', hw_scsi_model: 'virtio-scsi', 'trait:CUSTOM_GLINT': 'required', os_distro: 'cirros', os_secure_boot: 'required',
    os_type: 'linux', speed: 'fast', os_admin_user: 'root', description: 'not copied'
  }
  const src = await create(source, { disk_format: 'raw', container_format: 'bare', ...SOURCE_PROPS })
  t.equal((await source.request('PUT', `/v2/images/${src.id}/file`, { headers: { ...as, 'Content-Type': 'application/octet-stream' }, body: DATA })).status, 204)
  const queuedSource = await create(source, { disk_format: 'raw', container_format: 'bare' })

  t.test('offered when enabled', async (t) => {
    const info = await target.request('GET', '/v2/info/import', { headers: as })
    t.same(info.json['import-methods'].value, ['glance-direct', 'web-download', 'copy-image', 'glance-download'])
  })

  t.test('into the file store, ceph_a and ceph_b: the same bytes, hashes, the source\'s formats and allowed properties', async (t) => {
    const image = await create(target, { disk_format: 'qcow2', container_format: 'ovf', ...TARGET_PROPS })
    // the interface given, and the image id written another way Python's uuid.UUID accepts
    const reply = await importFrom(target, image.id, { glance_image_id: src.id.replaceAll('-', '').toUpperCase(), glance_region: catalog.region, glance_service_interface: 'internal' },
      { stores: ['local', 'ceph_a', 'ceph_b'] })
    t.equal(reply.status, 202, reply.text)
    const { image: got, task } = await settled(target, image.id)
    t.equal(task.status, 'success', task.message)
    t.same([got.status, got.stores, got.size, got.checksum, got.os_hash_algo, got.os_hash_value, got.os_glance_importing_to_stores, got.os_glance_failed_import],
      ['active', 'ceph_a,ceph_b,local', DATA.length, MD5, 'sha512', SHA512, '', ''])
    t.same([got.disk_format, got.container_format], ['raw', 'bare'], 'the source\'s formats')
    for (const name of ['hw_disk_bus', 'hw_scsi_model', 'trait:CUSTOM_GLINT', 'os_distro', 'os_secure_boot', 'os_type']) {
      t.equal(got[name], (SOURCE_PROPS as any)[name], `${name} copied`)
    }
    for (const name of ['speed', 'os_admin_user', 'description']) t.equal(got[name], undefined, `${name} not copied`)
    t.equal(got.mine, 'kept', 'the target\'s own property stays')
    t.equal(got.name, 'gd', 'the target\'s name stays')
    const bytes = await download(target.url, `/v2/images/${image.id}/file`, as)
    t.same([bytes.status, bytes.digest.sha512, bytes.digest.size], [200, SHA512, DATA.length], 'byte-identical')
    t.ok((await rbdImages(CEPH_A_CONF)).includes(image.id), 'an RBD image in ceph_a')
    t.ok((await rbdImages(CEPH_B_CONF)).includes(image.id), 'and one in ceph_b')
    t.same(readdirSync(dirs.store), [image.id], 'the file store\'s copy')
    t.same(readdirSync(dirs.staging), [], 'staging emptied')

    const shown = JSON.stringify(task) + JSON.stringify((await target.request('GET', `/v2/tasks/${task.id}`, { headers: as })).json) +
      JSON.stringify((await target.request('GET', '/v2/tasks', { headers: as })).json)
    t.notOk(shown.includes(token), 'the token is in no task the API shows')
    t.same(task.input.import_req.method, { name: 'glance-download', glance_image_id: src.id.replaceAll('-', '').toUpperCase(), glance_region: catalog.region, glance_service_interface: 'internal' })
    t.same(await sql`select task_id from task_credentials`, [], 'and none is kept once the tasks ended')
  })

  t.test('the interface defaults to public', async (t) => {
    // the test region has no public endpoint: the default is looked up, and not found
    const image = await create(target, { disk_format: 'raw', container_format: 'bare', ...TARGET_PROPS })
    t.equal((await importFrom(target, image.id, { glance_image_id: src.id, glance_region: catalog.region })).status, 202)
    const { image: got, task } = await settled(target, image.id)
    t.same([task.status, task.input.import_req.method.glance_service_interface], ['failure', 'public'])
    t.match(task.message, `public glance endpoint not found for region ${catalog.region}`)
    t.same([got.status, got.mine, got.hw_disk_bus, got.os_distro], ['queued', 'kept', 'ide', undefined], 'queued, its properties as they were')
  })

  t.test('the request is checked: 400 and 409', async (t) => {
    const image = await create(target, { disk_format: 'raw', container_format: 'bare' })
    const bad = await importFrom(target, image.id, { glance_image_id: 'not-a-uuid', glance_region: catalog.region })
    t.equal(bad.status, 400)
    t.match(bad.text, 'image id does not look like a UUID')
    t.match(bad.text, 'Remote image id does not look like a UUID: not-a-uuid')
    const noRegion = await importFrom(target, image.id, { glance_image_id: src.id })
    t.equal(noRegion.status, 400)
    t.match(noRegion.text, 'glance_region')
    const noId = await importFrom(target, image.id, { glance_region: catalog.region })
    t.equal(noId.status, 400)
    t.match(noId.text, 'glance_image_id')
    t.equal((await target.request('GET', `/v2/images/${image.id}/tasks`, { headers: as })).json.tasks.length, 0, 'no task')
    const active = (await target.request('GET', '/v2/images', { headers: as })).json.images.find((i: any) => i.status === 'active')
    const again = await importFrom(target, active.id, { glance_image_id: src.id, glance_region: catalog.region, glance_service_interface: 'internal' })
    t.equal(again.status, 409, 'an active image is no target')
    t.equal((await source.request('POST', `/v2/images/${src.id}/import`, { headers: as, json: { method: { name: 'glance-download', glance_image_id: src.id, glance_region: catalog.region } } })).status,
      400, 'not offered where not enabled')
  })

  t.test('a redirect to another origin is not sent the caller\'s token', async (t) => {
    const seen: Array<{ port: number, token: unknown }> = []
    const servers = hops.map((port, i) => http.createServer((req, res) => {
      seen.push({ port, token: req.headers['x-auth-token'] })
      if (i === 0) { res.writeHead(302, { Location: `http://localhost:${hops[1]}${req.url ?? ''}` }); res.end(); return }
      res.writeHead(404); res.end()
    }))
    await Promise.all(servers.map(async (server, i) => { await new Promise<void>((resolve) => server.listen(hops[i], '127.0.0.1', resolve)) }))
    t.teardown(async () => { for (const server of servers) { server.closeAllConnections(); await new Promise((resolve) => server.close(resolve)) } })
    const redirecting = await testRegion([{ iface: 'internal', url: `http://127.0.0.1:${hops[0]}` }])
    t.teardown(() => redirecting.remove())
    const mine = (await passwordToken(alice.username, alice.password, alice.projectName)).token
    const image = (await target.request('POST', '/v2/images', { headers: { 'X-Auth-Token': mine }, json: { name: 'gd', disk_format: 'raw', container_format: 'bare' } })).json
    t.equal((await target.request('POST', `/v2/images/${image.id}/import`, {
      headers: { 'X-Auth-Token': mine }, json: { method: { name: 'glance-download', glance_image_id: src.id, glance_region: redirecting.region, glance_service_interface: 'internal' } }
    })).status, 202)
    let task: any
    for (let i = 0; i < 600 && !['success', 'failure'].includes(task?.status); i++) {
      await new Promise((resolve) => setTimeout(resolve, 200))
      task = (await target.request('GET', `/v2/images/${image.id}/tasks`, { headers: { 'X-Auth-Token': mine } })).json.tasks.at(-1)
    }
    t.equal(task?.status, 'failure', 'the redirected-to server has no such image')
    t.same(seen, [{ port: hops[0], token: mine }, { port: hops[1], token: undefined }], 'the token went to the endpoint of the catalog only')
  })

  const failures: Array<[string, Glint, Record<string, unknown>, RegExp, string, string]> = [
    ['a missing source image', target, { glance_image_id: crypto.randomUUID(), glance_service_interface: 'internal' }, /could not find image|404/, dirs.staging, dirs.store],
    ['a source image that is not active', target, { glance_image_id: queuedSource.id, glance_service_interface: 'internal' }, /Source image status should be active instead of queued/, dirs.staging, dirs.store],
    ['an unknown region', target, { glance_image_id: src.id, glance_region: 'NoSuchRegion', glance_service_interface: 'internal' }, /internal glance endpoint not found for region NoSuchRegion/, dirs.staging, dirs.store],
    ['an endpoint that does not answer', target, { glance_image_id: src.id, glance_service_interface: 'admin' }, /ECONNREFUSED/, dirs.staging, dirs.store],
    ['a loopback endpoint, not in allowed_hosts', strict, { glance_image_id: src.id, glance_service_interface: 'internal' }, /no allowed address/, dirs.staging2, dirs.store2]
  ]
  for (const [what, glint, method, message, staging, store] of failures) {
    t.test(`${what}: the task fails, the image is queued as it was, nothing is left`, async (t) => {
      const image = await create(glint, { disk_format: 'qcow2', container_format: 'ovf', ...TARGET_PROPS })
      t.equal((await importFrom(glint, image.id, { glance_region: catalog.region, ...method })).status, 202)
      const { image: got, task } = await settled(glint, image.id)
      t.equal(task.status, 'failure')
      t.match(task.message, message)
      t.notOk(task.message.includes(token), 'the message does not show the token')
      t.same([got.status, got.disk_format, got.container_format, got.size, got.checksum], ['queued', 'qcow2', 'ovf', null, null])
      t.same([got.mine, got.hw_disk_bus, got.os_distro, got.speed], ['kept', 'ide', undefined, undefined], 'its properties intact, none copied')
      t.equal(got.os_glance_importing_to_stores, '')
      t.equal(got.os_glance_import_task, undefined, 'the import lock dropped')
      await nothingLeft(t, image.id, staging, store)
      if (glint === target) t.notOk((await rbdImages(CEPH_A_CONF)).includes(image.id), 'nothing in ceph_a')
      if (glint === target) t.notOk((await rbdImages(CEPH_B_CONF)).includes(image.id), 'nothing in ceph_b')
    })
  }

  t.test('a takeover: the gateway that took the task over downloads with the caller\'s token recorded at accept time; an expired one fails the task', async (t) => {
    const proxy = await holdingProxy(source.url)
    t.teardown(() => proxy.close())
    const held = await testRegion([{ iface: 'internal', url: proxy.url }])
    t.teardown(() => held.remove())
    const db = await createDatabase()
    const dir = mkdtempSync(join(tmpdir(), 'glint-gd-takeover-'))
    t.teardown(async () => { rmSync(dir, { recursive: true, force: true }); await db.drop() })
    const cfg = targetConfig({
      staging: join(dir, 'staging'), store: join(dir, 'images'), ceph: false, defaults: 'upload_lease_timeout = 2',
      filtering: `allowed_hosts = 127.0.0.1\nallowed_ports = ${proxy.port}`
    })
    const method = { glance_image_id: src.id, glance_region: held.region, glance_service_interface: 'internal' }

    // a gateway killed while it downloads; the caller's token is still valid when another takes over
    const fresh = (await passwordToken(alice.username, alice.password, alice.projectName)).token
    let victim = await startGlint({ databaseUrl: db.url, config: cfg })
    const image = (await victim.request('POST', '/v2/images', { headers: { 'X-Auth-Token': fresh }, json: { name: 'gd', disk_format: 'raw', container_format: 'bare', mine: 'kept' } })).json
    let hold = proxy.arm()
    t.equal((await victim.request('POST', `/v2/images/${image.id}/import`, { headers: { 'X-Auth-Token': fresh }, json: { method: { name: 'glance-download', ...method } } })).status, 202)
    await hold.held
    victim.proc.kill('SIGKILL')
    await victim.stop()
    hold.release()
    const heir = await startGlint({ databaseUrl: db.url, config: cfg })
    t.teardown(() => heir.stop())
    const waitTask = async (id: string, token: string): Promise<any> => {
      for (let i = 0; i < 600; i++) {
        const task = (await heir.request('GET', `/v2/images/${id}/tasks`, { headers: { 'X-Auth-Token': token } })).json.tasks.at(-1)
        if (task?.status === 'success' || task?.status === 'failure') return task
        await new Promise((resolve) => setTimeout(resolve, 200))
      }
    }
    const task = await waitTask(image.id, fresh)
    t.equal(task?.status, 'success', task?.message)
    t.match(heir.output(), /took over an import task whose gateway stopped/)
    t.equal(proxy.fileGets(), 2, 'the download was started again by the heir')
    t.same(new Set(proxy.tokens), new Set([fresh]), 'every request to the source carried the caller\'s token')
    const got = (await heir.request('GET', `/v2/images/${image.id}`, { headers: { 'X-Auth-Token': fresh } })).json
    t.same([got.status, got.os_hash_value, got.hw_disk_bus, got.speed, got.mine], ['active', SHA512, 'scsi', undefined, 'kept'])
    t.equal((await download(heir.url, `/v2/images/${image.id}/file`, { 'X-Auth-Token': fresh })).digest.sha512, SHA512, 'the whole data')
    t.same(readdirSync(join(dir, 'staging')), [], 'the victim\'s partial download is gone')

    // the same, but the token has expired when the task is taken over: the task fails, saying so
    const short = await shortLivedToken(alice, 20)
    victim = await startGlint({ databaseUrl: db.url, config: cfg })
    t.teardown(() => victim.stop())
    await heir.stop()
    const late = (await victim.request('POST', '/v2/images', { headers: { 'X-Auth-Token': short.token }, json: { name: 'gd', disk_format: 'qcow2', container_format: 'ovf', mine: 'kept' } })).json
    hold = proxy.arm()
    t.equal((await victim.request('POST', `/v2/images/${late.id}/import`, { headers: { 'X-Auth-Token': short.token }, json: { method: { name: 'glance-download', ...method } } })).status, 202)
    await hold.held
    victim.proc.kill('SIGKILL')
    await victim.stop()
    hold.release()
    while (Date.now() <= short.expiresAt + 1000) await new Promise((resolve) => setTimeout(resolve, 500))
    const second = await startGlint({ databaseUrl: db.url, config: cfg })
    t.teardown(() => second.stop())
    const admin = (await adminToken()).token
    let failed: any
    for (let i = 0; i < 600 && failed === undefined; i++) {
      const task = (await second.request('GET', `/v2/images/${late.id}/tasks`, { headers: { 'X-Auth-Token': admin } })).json.tasks.at(-1)
      if (task?.status === 'success' || task?.status === 'failure') failed = task
      else await new Promise((resolve) => setTimeout(resolve, 200))
    }
    t.equal(failed?.status, 'failure')
    t.match(failed?.message, /token expired before this glance-download task could run/)
    const after = (await second.request('GET', `/v2/images/${late.id}`, { headers: { 'X-Auth-Token': admin } })).json
    t.same([after.status, after.disk_format, after.mine, after.hw_disk_bus], ['queued', 'qcow2', 'kept', undefined], 'queued as it was')
    t.equal(proxy.fileGets(), 3, 'the expired token was not sent again')
    t.same(readdirSync(join(dir, 'staging')), [], 'nothing left in staging')
    t.same(readdirSync(join(dir, 'images')), [image.id], 'nor in the store')
    const left = postgres(db.url, { max: 1, onnotice: () => {} })
    t.same(await left`select task_id from task_credentials`, [], 'no token kept')
    await left.end()
  })
})
