// Conversion on import (issue 12; Glance's image_conversion plugin): with
// `image_import_plugins = ['image_conversion']` a staged or downloaded qcow2 or vmdk is stored
// as raw, so Nova can boot it from RBD by a copy-on-write clone. The stored bytes are the
// converted ones: the image's size, checksum and os_hash_value are theirs, disk_format becomes
// raw and container_format bare. A conversion that is refused (a header that lies about the
// format, a disk larger than image_size_cap) fails the task, puts the image back to queued and
// leaves nothing in a store or in staging.

import t from 'tap'
import http from 'node:http'
import { execFileSync } from 'node:child_process'
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import { createDatabase, createImage, startGlint, type Glint } from './helpers/glint.js'
import { CEPH_A_CONF, clustersMissing, rbd, rbdJson } from './helpers/ceph.js'
import { download } from './helpers/data.js'

const MiB = 1024 * 1024
const dir = mkdtempSync(join(tmpdir(), 'glint-conversion-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
const path = (name: string): string => join(dir, name)
const qemuImg = (...args: string[]): void => { execFileSync('qemu-img', args, { stdio: 'ignore' }) }

// A 6 MiB disk whose first 5 MiB are random and the rest zeros: qemu-img keeps the data and
// the virtual size, and the raw image Glint must store is exactly these bytes.
const RAW = Buffer.concat([randomBytes(5 * MiB), Buffer.alloc(MiB)])
const RAW_SHA512 = createHash('sha512').update(RAW).digest('hex')
const RAW_MD5 = createHash('md5').update(RAW).digest('hex')
writeFileSync(path('disk.raw'), RAW)
qemuImg('convert', '-f', 'raw', '-O', 'qcow2', path('disk.raw'), path('disk.qcow2'))
qemuImg('convert', '-f', 'raw', '-O', 'vmdk', path('disk.raw'), path('disk.vmdk'))
const QCOW2 = readFileSync(path('disk.qcow2'))
const VMDK = readFileSync(path('disk.vmdk'))
// an empty qcow2 of a 64 MiB disk: a few hundred KiB, whose raw form is 64 MiB
qemuImg('create', '-f', 'qcow2', path('big.qcow2'), '64M')
const BIG_QCOW2 = readFileSync(path('big.qcow2'))
// the unsafe shapes of CVE-2022-47951 and CVE-2024-32498: a backing file, an external data file
qemuImg('create', '-f', 'qcow2', '-b', '/etc/hostname', '-F', 'raw', path('backing.qcow2'), '64M')
qemuImg('create', '-f', 'raw', path('data.raw'), '1M')
qemuImg('create', '-f', 'qcow2', '-o', `data_file=${path('data.raw')}`, path('datafile.qcow2'), '1M')
const UNSAFE: Record<string, Buffer> = { '/backing.qcow2': readFileSync(path('backing.qcow2')), '/datafile.qcow2': readFileSync(path('datafile.qcow2')) }

async function webServer (): Promise<{ port: number, close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    const body = req.url === '/disk.qcow2' ? QCOW2 : UNSAFE[req.url ?? '']
    if (body !== undefined) { res.writeHead(200, { 'Content-Length': body.length }); res.end(body); return }
    res.writeHead(404); res.end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => { server.closeAllConnections(); await new Promise((resolve) => server.close(resolve)) }
  }
}

function config (opts: { dbUrl: string, staging: string, webPort: number, ceph: boolean, defaults?: string, imageFormat?: string }): string {
  return `[DEFAULT]
enabled_backends = local:file${opts.ceph ? ', ceph_a:rbd' : ''}
${opts.defaults ?? ''}
[glance_store]
default_backend = local
[local]
filesystem_store_datadir = {dataDir}/images
${opts.ceph ? `[ceph_a]\nrbd_store_ceph_conf = ${CEPH_A_CONF}\nrbd_store_user = admin\nrbd_store_pool = images\n` : ''}
[os_glance_staging_store]
filesystem_store_datadir = ${opts.staging}
[image_import_opts]
image_import_plugins = ['image_conversion']
[image_conversion]
output_format = raw
[image_format]
${opts.imageFormat ?? ''}
[import_filtering_opts]
allowed_hosts = 127.0.0.1
allowed_ports = ${opts.webPort}
[database]
connection = ${opts.dbUrl}
`
}

async function settle (glint: Glint, id: string): Promise<any> {
  for (let i = 0; i < 450; i++) {
    const image = (await glint.request('GET', `/v2/images/${id}`)).json
    if ((image.os_glance_failed_import ?? '') !== '' || (image.status === 'active' && image.os_glance_importing_to_stores === '')) return image
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  throw new Error(`image ${id} did not settle`)
}

async function stageAndImport (glint: Glint, image: { id: string }, body: Buffer, store: string): Promise<number> {
  const staged = await glint.request('PUT', `/v2/images/${image.id}/stage`, { body, headers: { 'Content-Type': 'application/octet-stream' } })
  if (staged.status !== 204) return staged.status
  return (await glint.request('POST', `/v2/images/${image.id}/import`, { json: { method: { name: 'glance-direct' }, stores: [store] } })).status
}

const skipCeph = clustersMissing()

t.test('qcow2 and vmdk become raw in each store, by glance-direct and web-download', { skip: skipCeph }, async (t) => {
  const db = await createDatabase()
  const staging = mkdtempSync(join(tmpdir(), 'glint-conversion-staging-'))
  const web = await webServer()
  t.teardown(async () => { await web.close(); rmSync(staging, { recursive: true, force: true }); await db.drop() })
  const glint = await startGlint({ databaseUrl: db.url, config: config({ dbUrl: db.url, staging, webPort: web.port, ceph: true }) })
  t.teardown(() => glint.stop())

  const expectRaw = async (id: string, store: string, what: string): Promise<void> => {
    const done = await settle(glint, id)
    t.same([done.status, done.stores, done.disk_format, done.container_format, done.size, done.virtual_size, done.checksum, done.os_hash_value, done.os_glance_failed_import],
      ['active', store, 'raw', 'bare', RAW.length, RAW.length, RAW_MD5, RAW_SHA512, ''], `${what} into ${store}: raw, with the raw bytes' size and hashes`)
    const got = await download(glint.url, `/v2/images/${id}/file`)
    t.same([got.status, got.digest.sha512], [200, RAW_SHA512], `${what} into ${store}: the download is the raw disk`)
    t.same(readdirSync(staging), [], `${what} into ${store}: nothing left in staging (staged and converted file)`)
  }

  for (const store of ['local', 'ceph_a']) {
    const qcow2 = await createImage(glint, { name: `qcow2-${store}`, disk_format: 'qcow2', container_format: 'bare' })
    t.equal(await stageAndImport(glint, qcow2, QCOW2, store), 202)
    await expectRaw(qcow2.id, store, 'glance-direct qcow2')

    const vmdk = await createImage(glint, { name: `vmdk-${store}`, disk_format: 'vmdk', container_format: 'bare' })
    t.equal(await stageAndImport(glint, vmdk, VMDK, store), 202)
    await expectRaw(vmdk.id, store, 'glance-direct vmdk')

    const fetched = await createImage(glint, { name: `web-${store}`, disk_format: 'qcow2', container_format: 'bare' })
    const uri = `http://127.0.0.1:${web.port}/disk.qcow2`
    t.equal((await glint.request('POST', `/v2/images/${fetched.id}/import`, { json: { method: { name: 'web-download', uri }, stores: [store] } })).status, 202)
    await expectRaw(fetched.id, store, 'web-download qcow2')

    if (store === 'ceph_a') {
      // Nova's boot path: a copy-on-write clone of the protected snapshot, which reads as the disk
      t.equal(Buffer.from(await rbd(CEPH_A_CONF, 'export', `images/${qcow2.id}@snap`, '-'), 'latin1').equals(RAW), true, 'the RBD image holds the raw disk')
      const child = `instance-${randomUUID()}_disk`
      await rbd(CEPH_A_CONF, 'clone', `images/${qcow2.id}@snap`, `images/${child}`)
      const info = await rbdJson(CEPH_A_CONF, 'info', `images/${child}`)
      t.equal(info.parent.image, qcow2.id, 'rbd clone of the converted image works')
      t.equal(createHash('sha512').update(Buffer.from(await rbd(CEPH_A_CONF, 'export', `images/${child}`, '-'), 'latin1')).digest('hex'), RAW_SHA512, 'the clone reads as the raw disk')
      await rbd(CEPH_A_CONF, 'rm', '--no-progress', `images/${child}`)
    }
  }

  // a raw image needs no conversion: stored as staged
  const raw = await createImage(glint, { name: 'raw', disk_format: 'raw', container_format: 'bare' })
  t.equal(await stageAndImport(glint, raw, RAW, 'local'), 202)
  await expectRaw(raw.id, 'local', 'glance-direct raw')
})

t.test('a refused conversion fails the task and leaves nothing behind', async (t) => {
  const db = await createDatabase()
  const staging = mkdtempSync(join(tmpdir(), 'glint-conversion-staging-'))
  t.teardown(async () => { rmSync(staging, { recursive: true, force: true }); await db.drop() })
  // the stream inspector lets a mismatch through here, so the conversion's own checks are what refuse it
  const glint = await startGlint({
    databaseUrl: db.url,
    config: config({ dbUrl: db.url, staging, webPort: 9, ceph: false, defaults: `image_size_cap = ${32 * MiB}`, imageFormat: 'require_image_format_match = false' })
  })
  t.teardown(() => glint.stop())
  const storeFiles = (): string[] => readdirSync(join(glint.dataDir, 'images'))

  const refusedWith = async (image: { id: string }, message: RegExp, what: string): Promise<void> => {
    const done = await settle(glint, image.id)
    t.equal(done.status, 'queued', `${what}: the image is back to queued`)
    t.equal(done.os_glance_failed_import, 'local', `${what}: the store is named in os_glance_failed_import`)
    const [task] = (await glint.request('GET', `/v2/images/${image.id}/tasks`)).json.tasks
    t.equal(task.status, 'failure', `${what}: the task failed`)
    t.match(task.message, message, `${what}: the task says why`)
    t.same(readdirSync(staging), [], `${what}: nothing left in staging`)
    t.same(storeFiles().filter((f) => f.includes(image.id)), [], `${what}: nothing in the store`)
  }

  const liar = await createImage(glint, { name: 'liar', disk_format: 'qcow2', container_format: 'bare' })
  t.equal(await stageAndImport(glint, liar, RAW, 'local'), 202, 'raw bytes declared qcow2 are staged (require_image_format_match = false)')
  await refusedWith(liar, /format/i, 'a header that is not the declared format')

  const big = await createImage(glint, { name: 'too big once raw', disk_format: 'qcow2', container_format: 'bare' })
  t.equal(await stageAndImport(glint, big, BIG_QCOW2, 'local'), 202, 'a small qcow2 of a 64 MiB disk is staged under a 32 MiB cap')
  await refusedWith(big, /image_size_cap/, 'a converted image larger than image_size_cap')
})

t.test('unsafe qcow2 files are refused on stage and on web-download, never active', async (t) => {
  const db = await createDatabase()
  const staging = mkdtempSync(join(tmpdir(), 'glint-conversion-staging-'))
  const web = await webServer()
  t.teardown(async () => { await web.close(); rmSync(staging, { recursive: true, force: true }); await db.drop() })
  const glint = await startGlint({ databaseUrl: db.url, config: config({ dbUrl: db.url, staging, webPort: web.port, ceph: false }) })
  t.teardown(() => glint.stop())
  for (const [file, why] of [['/backing.qcow2', /backing file/], ['/datafile.qcow2', /data file/]] as const) {
    const staged = await createImage(glint, { name: `stage ${file}`, disk_format: 'qcow2', container_format: 'bare' })
    const put = await glint.request('PUT', `/v2/images/${staged.id}/stage`, { body: UNSAFE[file], headers: { 'Content-Type': 'application/octet-stream' } })
    t.equal(put.status, 400, `${file} staged: 400`)
    t.match(put.text, why, `${file} staged: the answer says why`)
    t.equal((await glint.request('GET', `/v2/images/${staged.id}`)).json.status, 'queued', `${file} staged: the image stays queued`)

    const fetched = await createImage(glint, { name: `web ${file}`, disk_format: 'qcow2', container_format: 'bare' })
    const uri = `http://127.0.0.1:${web.port}${file}`
    t.equal((await glint.request('POST', `/v2/images/${fetched.id}/import`, { json: { method: { name: 'web-download', uri }, stores: ['local'] } })).status, 202)
    const done = await settle(glint, fetched.id)
    t.same([done.status, done.os_glance_failed_import], ['queued', 'local'], `${file} by web-download: the task fails, the image is queued`)
    const [task] = (await glint.request('GET', `/v2/images/${fetched.id}/tasks`)).json.tasks
    t.match(task.message, why, `${file} by web-download: the task says why`)
  }
  t.same(readdirSync(staging), [], 'nothing left in staging')
  t.same(readdirSync(join(glint.dataDir, 'images')), [], 'nothing in the store')
})
