// The interoperable import (issue 12): glance-direct, web-download and copy-image into each
// store (the file store and both Ceph clusters), the tasks they leave (GET /v2/tasks,
// .../tasks, task.* notifications read from RabbitMQ), web-download's URL filter (every SSRF
// shape refused with nothing fetched), enabled_import_methods, and imports as jobs in the
// registry: staged on one gateway and imported through another, and a gateway killed with
// kill -9 in the middle of an import whose task another gateway takes over and finishes.

import t from 'tap'
import http from 'node:http'
import { createHash, randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import { createDatabase, createImage, startGlint, type Glint } from './helpers/glint.js'
import { CEPH_A_CONF, CEPH_B_CONF, clustersMissing } from './helpers/ceph.js'
import { download } from './helpers/data.js'
import { brokerMissing, listen, TRANSPORT } from './helpers/amqp.js'

const MiB = 1024 * 1024
const DATA = randomBytes(3 * MiB + 12345)
const SHA512 = createHash('sha512').update(DATA).digest('hex')
const BIG = randomBytes(24 * MiB)
const BIG_SHA512 = createHash('sha512').update(BIG).digest('hex')

/** The web server the imports fetch from: counts requests per path; /slow.raw's first GET stalls after 1 MiB until released. */
async function webServer (): Promise<{ port: number, hits: Map<string, number>, release: () => void, firstSlowGet: Promise<void>, close: () => Promise<void> }> {
  const hits = new Map<string, number>()
  let release!: () => void
  const released = new Promise<void>((resolve) => { release = resolve })
  let sawSlow!: () => void
  const firstSlowGet = new Promise<void>((resolve) => { sawSlow = resolve })
  let port = 0
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0]
    hits.set(path, (hits.get(path) ?? 0) + 1)
    if (path === '/image.raw') { res.writeHead(200, { 'Content-Length': DATA.length }); res.end(DATA); return }
    if (path === '/redirect') { res.writeHead(302, { Location: `http://localhost:${port}/image.raw` }); res.end(); return }
    if (path === '/slow.raw') {
      res.writeHead(200, { 'Content-Length': BIG.length })
      if (hits.get(path) === 1) {
        res.write(BIG.subarray(0, MiB))
        sawSlow()
        void released.then(() => res.destroy())
        return
      }
      res.end(BIG)
      return
    }
    res.writeHead(404); res.end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  port = (server.address() as AddressInfo).port
  return {
    port, hits, release, firstSlowGet,
    close: async () => { release(); server.closeAllConnections(); await new Promise((resolve) => server.close(resolve)) }
  }
}

function config (opts: { dbUrl: string, staging: string, store?: string, ceph: boolean, defaults?: string, filtering: string, notify?: string }): string {
  const ceph = opts.ceph
  return `[DEFAULT]
enabled_backends = local:file${ceph ? ', ceph_a:rbd, ceph_b:rbd' : ''}
upload_lease_timeout = 2
${opts.defaults ?? ''}
[glance_store]
default_backend = local
[local]
filesystem_store_datadir = ${opts.store ?? '{dataDir}/images'}
${ceph
? `[ceph_a]
rbd_store_ceph_conf = ${CEPH_A_CONF}
rbd_store_user = admin
rbd_store_pool = images
[ceph_b]
rbd_store_ceph_conf = ${CEPH_B_CONF}
rbd_store_user = admin
rbd_store_pool = images
rbd_store_chunk_size = 4
`
: ''}[os_glance_staging_store]
filesystem_store_datadir = ${opts.staging}
[import_filtering_opts]
${opts.filtering}
[database]
connection = ${opts.dbUrl}
${opts.notify === undefined ? '' : `[oslo_messaging_notifications]\ndriver = messagingv2\ntransport_url = ${TRANSPORT}\ntopics = ${opts.notify}\n`}`
}

async function waitFor (glint: Glint, id: string, done: (image: any) => boolean, seconds = 90): Promise<any> {
  let image: any
  for (let i = 0; i < seconds * 5; i++) {
    image = (await glint.request('GET', `/v2/images/${id}`)).json
    if (done(image)) return image
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  return image
}

const finished = (i: any): boolean => i?.status === 'active' && i.os_glance_importing_to_stores === ''
const failedOrDone = (i: any): boolean => (i?.os_glance_failed_import ?? '') !== '' || finished(i)

async function stage (glint: Glint, id: string, body: Buffer, diskFormat = 'raw'): Promise<number> {
  void diskFormat
  return (await glint.request('PUT', `/v2/images/${id}/stage`, { body, headers: { 'Content-Type': 'application/octet-stream' } })).status
}

async function tasksOf (glint: Glint, id: string): Promise<any[]> {
  return (await glint.request('GET', `/v2/images/${id}/tasks`)).json.tasks
}

const skipCeph = clustersMissing()

t.test('each method into each store, the tasks and their notifications', { skip: skipCeph }, async (t) => {
  const db = await createDatabase()
  const staging = mkdtempSync(join(tmpdir(), 'glint-import-staging-'))
  const web = await webServer()
  const topic = `glint_import_${randomBytes(4).toString('hex')}`
  const broker = await brokerMissing()
  const listener = broker === undefined ? await listen(topic) : undefined
  t.teardown(async () => { await listener?.close(); await web.close(); rmSync(staging, { recursive: true, force: true }); await db.drop() })
  const glint = await startGlint({
    databaseUrl: db.url,
    config: config({ dbUrl: db.url, staging, ceph: true, filtering: `allowed_hosts = 127.0.0.1\nallowed_ports = ${web.port}`, notify: broker === undefined ? topic : undefined })
  })
  t.teardown(() => glint.stop())

  const info = await glint.request('GET', '/v2/info/import')
  t.same(info.json['import-methods'].value, ['glance-direct', 'web-download', 'copy-image'], 'Glance\'s default enabled_import_methods')

  let task: any
  for (const store of ['local', 'ceph_a', 'ceph_b']) {
    // glance-direct
    const direct = await createImage(glint, { name: `direct-${store}` })
    t.equal(await stage(glint, direct.id, DATA), 204, `${store}: staged`)
    const staged = (await glint.request('GET', `/v2/images/${direct.id}`)).json
    t.same([staged.status, staged.size], ['uploading', DATA.length], 'uploading, with the staged size')
    t.ok(existsSync(join(staging, direct.id)), 'in the staging store')
    const imported = await glint.request('POST', `/v2/images/${direct.id}/import`, { json: { method: { name: 'glance-direct' }, stores: [store] } })
    t.equal(imported.status, 202)
    const done = await waitFor(glint, direct.id, failedOrDone)
    t.same([done.status, done.stores, done.os_hash_value, done.size, done.virtual_size, done.os_glance_failed_import], ['active', store, SHA512, DATA.length, DATA.length, ''], `glance-direct into ${store}`)
    t.notOk(existsSync(join(staging, direct.id)), 'the staged file is deleted after')
    t.equal(done.os_glance_import_task, undefined, 'the import lock is dropped')
    t.equal((await download(glint.url, `/v2/images/${direct.id}/file`)).digest.sha512, SHA512, 'the bytes are the staged ones')
    ;[task] = await tasksOf(glint, direct.id)
    t.same([task.status, task.request_id, task.input.import_req.method.name, task.result], ['success', imported.headers.get('x-openstack-request-id'), 'glance-direct', { image_id: direct.id }], 'one task, success')

    // web-download
    const fetched = await createImage(glint, { name: `web-${store}` })
    const uri = `http://127.0.0.1:${web.port}/image.raw`
    t.equal((await glint.request('POST', `/v2/images/${fetched.id}/import`, { json: { method: { name: 'web-download', uri }, stores: [store] } })).status, 202)
    const got = await waitFor(glint, fetched.id, failedOrDone)
    t.same([got.status, got.stores, got.os_hash_value, got.size], ['active', store, SHA512, DATA.length], `web-download into ${store}`)
    t.equal((await download(glint.url, `/v2/images/${fetched.id}/file`)).digest.sha512, SHA512)
    t.same(readdirSync(staging).filter((f) => f.includes(fetched.id)), [], 'nothing left in staging')
  }
  t.equal(web.hits.get('/image.raw'), 3, 'one fetch per web-download')

  // copy-image: from the file store into both clusters, and from a cluster into the file store
  const fromFile = await createImage(glint, { name: 'copy-from-local' })
  t.equal((await glint.request('PUT', `/v2/images/${fromFile.id}/file`, { body: DATA, headers: { 'Content-Type': 'application/octet-stream' } })).status, 204)
  t.equal((await glint.request('POST', `/v2/images/${fromFile.id}/import`, { json: { method: { name: 'copy-image' }, all_stores: true } })).status, 202)
  const sorted = (stores: string | undefined): string => (stores ?? '').split(',').sort().join(',')
  const copied = await waitFor(glint, fromFile.id, (i) => sorted(i.stores) === 'ceph_a,ceph_b,local' || (i.os_glance_failed_import ?? '') !== '')
  t.same([sorted(copied.stores), copied.os_glance_failed_import, copied.os_glance_importing_to_stores], ['ceph_a,ceph_b,local', '', ''], 'copy-image into ceph_a and ceph_b')
  const fromCeph = await createImage(glint, { name: 'copy-from-ceph' })
  t.equal((await glint.request('PUT', `/v2/images/${fromCeph.id}/file`, { body: DATA, headers: { 'Content-Type': 'application/octet-stream', 'X-Image-Meta-Store': 'ceph_b' } })).status, 204)
  t.equal((await glint.request('POST', `/v2/images/${fromCeph.id}/import`, { json: { method: { name: 'copy-image' }, stores: ['local'] } })).status, 202)
  const back = await waitFor(glint, fromCeph.id, (i) => i.stores === 'ceph_b,local' || i.os_glance_failed_import !== '')
  t.same([back.stores, back.os_glance_failed_import], ['ceph_b,local', ''], 'copy-image into the file store')
  const local = (await download(glint.url, `/v2/images/${fromCeph.id}/file`)).digest.sha512
  t.equal(local, SHA512)

  // a refused import: the image keeps its state
  const again = await glint.request('POST', `/v2/images/${fromCeph.id}/import`, { json: { method: { name: 'glance-direct' } } })
  t.equal(again.status, 409, 'glance-direct of an active image: 409')
  t.match(again.text, /Image with status active cannot be target for import/)
  const unknown = await glint.request('POST', `/v2/images/${fromCeph.id}/import`, { json: { method: { name: 'glance-download' } } })
  t.equal(unknown.status, 400)
  t.match(unknown.text, /Unknown import method name 'glance-download'/)

  // an unresolvable host: accepted, fails in the task
  const bad = await createImage(glint, { name: 'bad-url' })
  t.equal((await glint.request('POST', `/v2/images/${bad.id}/import`, { json: { method: { name: 'web-download', uri: 'http://does-not.exist/no/possible/way' }, stores: ['local'] } })).status, 202)
  const failed = await waitFor(glint, bad.id, failedOrDone)
  t.same([failed.status, failed.os_glance_failed_import, failed.os_glance_importing_to_stores], ['queued', 'local', ''], 'an unresolvable host fails in the task')
  const [badTask] = await tasksOf(glint, bad.id)
  t.equal(badTask.status, 'failure')
  t.match(badTask.message, /does-not\.exist/)

  // the tasks API (admin in the noauth mode)
  const listed = await glint.request('GET', '/v2/tasks?limit=100')
  t.equal(listed.status, 200)
  t.ok(listed.json.tasks.length >= 9, `${listed.json.tasks.length} tasks listed`)
  t.equal(listed.json.tasks[0].input, undefined, 'stubs: no input')
  const shown = await glint.request('GET', `/v2/tasks/${badTask.id}`)
  t.same([shown.json.status, shown.json.image_id, shown.json.schema, shown.json.self], ['failure', bad.id, '/v2/schemas/task', `/v2/tasks/${badTask.id}`])
  t.ok(shown.json.expires_at !== undefined, 'a finished task expires ([task] task_time_to_live)')
  t.equal((await glint.request('GET', '/v2/tasks?status=bogus')).status, 400)
  t.equal((await glint.request('GET', `/v2/tasks/${randomBytes(16).toString('hex').replace(/(.{8})(.{4})(.{4})(.{4})(.{12})/, '$1-$2-$3-$4-$5')}`)).status, 404)

  if (listener === undefined) { t.comment(`RabbitMQ missing (${broker}): notifications not checked`); return }
  for (let i = 0; i < 300 && listener.messages.filter((m) => /task\.(success|failure)/.test(JSON.stringify(m.body))).length < 9; i++) await new Promise((resolve) => setTimeout(resolve, 100))
  const messages = listener.messages
  const events = messages.map((m) => JSON.parse(m.body['oslo.message'])).filter((m) => m.payload?.id === task.id || m.payload?.id === badTask.id)
  const ofTask = (id: string): string[] => events.filter((m) => m.payload.id === id).map((m) => m.event_type)
  t.same(ofTask(task.id), ['task.create', 'task.processing', 'task.success'], 'a task\'s notifications, in order')
  t.same(ofTask(badTask.id), ['task.create', 'task.processing', 'task.failure'])
  const success = events.find((m) => m.event_type === 'task.success')
  t.same(Object.keys(success.payload).sort(), ['created_at', 'deleted', 'deleted_at', 'expires_at', 'id', 'message', 'owner', 'result', 'status', 'type', 'updated_at'], 'Glance\'s task payload')
  t.same([success.payload.type, success.payload.status, success.payload.result, success.payload.message], ['api_image_import', 'success', null, null])
})

t.test('web-download\'s URL filter: every SSRF shape refused, nothing fetched; enabled_import_methods', async (t) => {
  const db = await createDatabase()
  const staging = mkdtempSync(join(tmpdir(), 'glint-import-staging-'))
  const web = await webServer()
  t.teardown(async () => { await web.close(); rmSync(staging, { recursive: true, force: true }); await db.drop() })
  // the server's port is allowed, loopback is not (no allowed_hosts)
  const strict = await startGlint({
    databaseUrl: db.url,
    config: config({ dbUrl: db.url, staging, ceph: false, filtering: `allowed_ports = 80, 443, ${web.port}`, defaults: 'enabled_import_methods = [web-download, copy-image]' })
  })
  t.teardown(() => strict.stop())
  t.same((await strict.request('GET', '/v2/info/import')).json['import-methods'].value, ['web-download', 'copy-image'])
  const refused = [
    ['loopback', `http://127.0.0.1:${web.port}/image.raw`],
    ['the metadata address', 'http://169.254.169.254/latest/meta-data/'],
    ['a private address', `http://10.11.12.13:${web.port}/image.raw`],
    ['a name resolving to loopback', `http://localhost:${web.port}/image.raw`],
    ['a disallowed port', 'http://93.184.216.34:8081/image.raw'],
    ['a disallowed scheme', 'ftp://93.184.216.34/image.raw']
  ]
  for (const [what, uri] of refused) {
    const image = await createImage(strict, { name: what })
    const reply = await strict.request('POST', `/v2/images/${image.id}/import`, { json: { method: { name: 'web-download', uri } } })
    t.equal(reply.status, 400, `${what}: 400`)
    t.match(reply.text, /URI for web-download does not pass filtering/)
    const after = (await strict.request('GET', `/v2/images/${image.id}`)).json
    t.same([after.status, after.os_glance_import_task], ['queued', undefined], 'the image is untouched')
  }
  const direct = await createImage(strict)
  t.equal(await stage(strict, direct.id, DATA), 404, 'glance-direct not enabled: stage is 404')
  t.match((await strict.request('POST', `/v2/images/${direct.id}/import`, { json: { method: { name: 'glance-direct' } } })).text, /Unknown import method name 'glance-direct'/)

  // a redirect to a loopback name: refused when the redirect is followed, in the task (a
  // registry of its own: the strict gateway's poller would take the task otherwise)
  const db2 = await createDatabase()
  t.teardown(() => db2.drop())
  const open = await startGlint({
    databaseUrl: db2.url,
    config: config({ dbUrl: db2.url, staging, ceph: false, filtering: `allowed_hosts = 127.0.0.1\nallowed_ports = ${web.port}` })
  })
  t.teardown(() => open.stop())
  const redirected = await createImage(open, { name: 'redirected' })
  t.equal((await open.request('POST', `/v2/images/${redirected.id}/import`, { json: { method: { name: 'web-download', uri: `http://127.0.0.1:${web.port}/redirect` } } })).status, 202)
  const shown = await waitFor(open, redirected.id, failedOrDone)
  t.same([shown.status, shown.os_glance_failed_import], ['queued', 'local'], 'the redirect to localhost is refused')
  t.equal(web.hits.get('/redirect'), 1)
  t.equal(web.hits.get('/image.raw'), undefined, 'nothing was fetched from any refused URL')
})

t.test('format inspection on stage; staged on one gateway, imported through another', async (t) => {
  const db = await createDatabase()
  const staging = mkdtempSync(join(tmpdir(), 'glint-import-staging-'))
  const store = mkdtempSync(join(tmpdir(), 'glint-import-store-'))
  t.teardown(async () => { rmSync(staging, { recursive: true, force: true }); rmSync(store, { recursive: true, force: true }); await db.drop() })
  const cfg = config({ dbUrl: db.url, staging, store, ceph: false, filtering: '' })
  const one = await startGlint({ databaseUrl: db.url, config: cfg })
  t.teardown(() => one.stop())
  const two = await startGlint({ databaseUrl: db.url, config: cfg })
  t.teardown(() => two.stop())

  const liar = await createImage(one, { disk_format: 'qcow2' })
  const refused = await one.request('PUT', `/v2/images/${liar.id}/stage`, { body: DATA, headers: { 'Content-Type': 'application/octet-stream' } })
  t.equal(refused.status, 400, 'raw bytes staged as qcow2: refused as an upload is')
  t.same((await one.request('GET', `/v2/images/${liar.id}`)).json.status, 'queued', 'back to queued')
  t.same(readdirSync(staging), [], 'nothing left in staging')

  const image = await createImage(one)
  t.equal(await stage(one, image.id, DATA), 204)
  t.equal(await stage(one, image.id, DATA), 409, 'staging twice: 409')
  t.equal((await two.request('POST', `/v2/images/${image.id}/import`, { json: { method: { name: 'glance-direct' } } })).status, 202, 'import through the other gateway')
  const done = await waitFor(two, image.id, failedOrDone)
  t.same([done.status, done.os_hash_value, done.stores], ['active', SHA512, 'local'])
  t.equal((await download(one.url, `/v2/images/${image.id}/file`)).digest.sha512, SHA512)
})

t.test('kill -9 of the gateway mid-import: another gateway takes the task over and finishes it', async (t) => {
  const db = await createDatabase()
  const staging = mkdtempSync(join(tmpdir(), 'glint-import-staging-'))
  const store = mkdtempSync(join(tmpdir(), 'glint-import-store-'))
  const web = await webServer()
  t.teardown(async () => { await web.close(); rmSync(staging, { recursive: true, force: true }); rmSync(store, { recursive: true, force: true }); await db.drop() })
  const cfg = config({ dbUrl: db.url, staging, store, ceph: false, filtering: `allowed_hosts = 127.0.0.1\nallowed_ports = ${web.port}` })
  const victim = await startGlint({ databaseUrl: db.url, config: cfg })
  const image = await createImage(victim)
  t.equal((await victim.request('POST', `/v2/images/${image.id}/import`, { json: { method: { name: 'web-download', uri: `http://127.0.0.1:${web.port}/slow.raw` } } })).status, 202)
  await web.firstSlowGet
  const [running] = await tasksOf(victim, image.id)
  t.same([running.status, (await victim.request('GET', `/v2/images/${image.id}`)).json.status], ['processing', 'importing'], 'the victim runs the task')
  victim.proc.kill('SIGKILL')
  await victim.stop()
  web.release()

  const heir = await startGlint({ databaseUrl: db.url, config: cfg })
  t.teardown(() => heir.stop())
  const done = await waitFor(heir, image.id, failedOrDone)
  t.same([done.status, done.size, done.os_hash_value, done.os_glance_failed_import, done.os_glance_import_task], ['active', BIG.length, BIG_SHA512, '', undefined], 'finished by the other gateway')
  t.equal((await download(heir.url, `/v2/images/${image.id}/file`)).digest.sha512, BIG_SHA512, 'with the whole data')
  const [task] = await tasksOf(heir, image.id)
  t.same([task.status, task.id], ['success', running.id], 'the same task, success')
  t.equal(web.hits.get('/slow.raw'), 2, 'the download was started again')
  t.same(readdirSync(staging).filter((f) => f.includes(image.id)), [], 'the dead gateway\'s partial staging file is gone')
  t.match(heir.output(), /took over an import task whose gateway stopped/)
})

t.test('kill -9 of the gateway mid-stage: its lease runs out and another gateway puts the image back to queued', async (t) => {
  const db = await createDatabase()
  const staging = mkdtempSync(join(tmpdir(), 'glint-import-staging-'))
  t.teardown(async () => { rmSync(staging, { recursive: true, force: true }); await db.drop() })
  const cfg = config({ dbUrl: db.url, staging, ceph: false, filtering: '' })
  const victim = await startGlint({ databaseUrl: db.url, config: cfg })
  const other = await startGlint({ databaseUrl: db.url, config: cfg })
  t.teardown(() => other.stop())
  const image = await createImage(victim)
  const req = http.request(`${victim.url}/v2/images/${image.id}/stage`, { method: 'PUT', headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': 8 * MiB } })
  req.on('error', () => {})
  req.write(BIG.subarray(0, 2 * MiB))
  const staging1 = await waitFor(other, image.id, (i) => i.status === 'uploading', 30)
  t.equal(staging1.status, 'uploading', 'the stage is under way')
  victim.proc.kill('SIGKILL')
  await victim.stop()
  const recovered = await waitFor(other, image.id, (i) => i.status === 'queued', 30)
  t.same([recovered.status, recovered.size], ['queued', null], 'recovered to queued by the other gateway')
  t.same(readdirSync(staging).filter((f) => f.includes(image.id)), [], 'the partial staged data is removed')
  t.equal(await stage(other, image.id, DATA), 204, 'and it can be staged again')
})
