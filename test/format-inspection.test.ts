// Uploaded content is inspected as it streams (issue 12, format inspection): its real disk
// format and virtual size are learned from its headers, data that is not the declared
// disk_format is refused, and unsafe images (a qcow2 with a backing file or an external data
// file, a VMDK whose extents name other files, QED) are never stored, whatever they claim to
// be. The images are made by qemu-img, as an uploader would make them.

import t from 'tap'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createImage, startGlint, type Glint } from './helpers/glint.js'
import { download } from './helpers/data.js'
import { CEPH_A_CONF, clustersMissing, rbdImages, storesConfig } from './helpers/ceph.js'

const MiB = 1024 * 1024
const dir = mkdtempSync(join(tmpdir(), 'glint-formats-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))

const qemuImg = (...args: string[]): void => { execFileSync('qemu-img', args, { stdio: 'ignore' }) }
const path = (name: string): string => join(dir, name)

// Made once: each a small file (the qcow2/vmdk/vhd/vhdx/vdi of a 64 MiB disk).
qemuImg('create', '-f', 'qcow2', path('clean.qcow2'), '64M')
qemuImg('create', '-f', 'qcow2', '-b', '/etc/hostname', '-F', 'raw', path('backing.qcow2'), '64M')
qemuImg('create', '-f', 'raw', path('data.raw'), '1M')
qemuImg('create', '-f', 'qcow2', '-o', `data_file=${path('data.raw')}`, path('datafile.qcow2'), '1M')
qemuImg('convert', '-f', 'qcow2', '-O', 'vmdk', path('clean.qcow2'), path('sparse.vmdk'))
qemuImg('convert', '-f', 'qcow2', '-O', 'vmdk', '-o', 'subformat=streamOptimized', path('clean.qcow2'), path('stream.vmdk'))
qemuImg('convert', '-f', 'qcow2', '-O', 'vpc', path('clean.qcow2'), path('disk.vhd'))
qemuImg('convert', '-f', 'qcow2', '-O', 'vhdx', path('clean.qcow2'), path('disk.vhdx'))
qemuImg('convert', '-f', 'qcow2', '-O', 'vdi', path('clean.qcow2'), path('disk.vdi'))
writeFileSync(path('random.raw'), Buffer.from(Array.from({ length: 3 * MiB }, (_, i) => (i * 7919 + (i >> 9)) & 0xff)))

/** A sparse VMDK whose descriptor's extent reads a host file: only the descriptor is changed. */
function vmdkWithHostExtent (): Buffer {
  const data = Buffer.from(readFileSync(path('sparse.vmdk')))
  const text = data.toString('latin1')
  const at = text.indexOf('RW ')
  const line = text.slice(at, text.indexOf('\n', at))
  const evil = 'RW 131072 FLAT "/etc/shadow" 0'.padEnd(line.length, ' ')
  data.write(evil.slice(0, line.length), at, 'latin1')
  return data
}

/** A QED header (no service supports QED: recognised only to be refused). */
function qedImage (): Buffer {
  const data = Buffer.alloc(64 * 1024)
  data.write('QED\0', 0, 'latin1')
  return data
}

/** An ISO 9660 volume: the primary volume descriptor at 32 KiB says 40 blocks of 2 KiB. */
function isoImage (): Buffer {
  const data = Buffer.alloc(80 * 1024)
  const pvd = 0x8000
  data[pvd] = 1
  data.write('CD001', pvd + 1, 'latin1')
  data.writeUInt32LE(40, pvd + 80)
  data.writeUInt16LE(2048, pvd + 128)
  return data
}

/** PUT the bytes in pieces of `piece` bytes (so headers arrive split), chunked or not. */
async function put (base: string, id: string, body: Buffer, opts: { chunked?: boolean, piece?: number, store?: string } = {}): Promise<{ status: number, body: string }> {
  const headers: Record<string, string> = { 'Content-Type': 'application/octet-stream' }
  if (opts.chunked === true) headers['Transfer-Encoding'] = 'chunked'
  else headers['Content-Length'] = String(body.byteLength)
  if (opts.store !== undefined) headers['X-Image-Meta-Store'] = opts.store
  return await new Promise((resolve, reject) => {
    const req = httpRequest(`${base}/v2/images/${id}/file`, { method: 'PUT', headers }, (res) => {
      const parts: Buffer[] = []
      res.on('data', (c: Buffer) => parts.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString() }))
    })
    // The server may answer (400) before it has read everything: that is not a client error.
    req.on('error', (err: NodeJS.ErrnoException) => { if (err.code !== 'EPIPE' && err.code !== 'ECONNRESET') reject(err) })
    const piece = opts.piece ?? 64 * 1024
    let at = 0
    const pump = (): void => {
      while (at < body.byteLength) {
        const chunk = body.subarray(at, at + piece)
        at += piece
        if (!req.write(chunk)) { req.once('drain', pump); return }
      }
      req.end()
    }
    pump()
  })
}

function storeFiles (glint: Glint): string[] {
  try { return readdirSync(join(glint.dataDir, 'images')) } catch { return [] }
}

interface Case { label: string, data: () => Buffer, diskFormat: string, virtualSize?: number, refused?: RegExp }

const ACCEPTED: Case[] = [
  { label: 'a clean qcow2', data: () => readFileSync(path('clean.qcow2')), diskFormat: 'qcow2', virtualSize: 64 * MiB },
  { label: 'a monolithicSparse vmdk', data: () => readFileSync(path('sparse.vmdk')), diskFormat: 'vmdk', virtualSize: 64 * MiB },
  { label: 'a streamOptimized vmdk', data: () => readFileSync(path('stream.vmdk')), diskFormat: 'vmdk', virtualSize: 64 * MiB },
  { label: 'a vhdx', data: () => readFileSync(path('disk.vhdx')), diskFormat: 'vhdx', virtualSize: 64 * MiB },
  { label: 'a vdi', data: () => readFileSync(path('disk.vdi')), diskFormat: 'vdi', virtualSize: 64 * MiB },
  { label: 'raw data', data: () => readFileSync(path('random.raw')), diskFormat: 'raw', virtualSize: 3 * MiB },
  { label: 'an ISO declared iso', data: isoImage, diskFormat: 'iso', virtualSize: 40 * 2048 },
  { label: 'an ISO declared raw (a raw disk may hold a filesystem)', data: isoImage, diskFormat: 'raw', virtualSize: 80 * 1024 },
  { label: 'a qcow2 declared ami (a format Glance cannot inspect)', data: () => readFileSync(path('clean.qcow2')), diskFormat: 'ami' }
]

const REFUSED: Case[] = [
  { label: 'a qcow2 with a backing file', data: () => readFileSync(path('backing.qcow2')), diskFormat: 'qcow2', refused: /safety check: qcow2 image has a backing file/ },
  { label: 'a qcow2 with a backing file declared raw', data: () => readFileSync(path('backing.qcow2')), diskFormat: 'raw', refused: /safety check: qcow2 image has a backing file/ },
  { label: 'a qcow2 with an external data file', data: () => readFileSync(path('datafile.qcow2')), diskFormat: 'qcow2', refused: /safety check: qcow2 image has an external data file/ },
  { label: 'a qcow2 with a data file declared ami', data: () => readFileSync(path('datafile.qcow2')), diskFormat: 'ami', refused: /external data file/ },
  { label: 'a vmdk whose extent reads a host file', data: vmdkWithHostExtent, diskFormat: 'vmdk', refused: /safety check: VMDK extent names another file/ },
  { label: 'a QED image', data: qedImage, diskFormat: 'raw', refused: /QED images are not supported/ },
  { label: 'a clean qcow2 declared raw (the header lies about the format)', data: () => readFileSync(path('clean.qcow2')), diskFormat: 'raw', refused: /does not match disk_format raw \(found qcow2\)/ },
  { label: 'a vhd declared vmdk', data: () => readFileSync(path('disk.vhd')), diskFormat: 'vmdk', refused: /does not match disk_format vmdk \(found vhd\)/ },
  { label: 'raw data declared qcow2', data: () => readFileSync(path('random.raw')), diskFormat: 'qcow2', refused: /does not match disk_format qcow2 \(found raw\)/ }
]

t.test('format inspection on upload (file store)', async (t) => {
  const glint = await startGlint({ database: 'postgres' })
  t.teardown(() => glint.stop())

  for (const c of ACCEPTED) {
    for (const chunked of [false, true]) {
      t.test(`${c.label} is stored (${chunked ? 'chunked' : 'Content-Length'})`, async (t) => {
        const image = await createImage(glint, { name: c.label, disk_format: c.diskFormat })
        const data = c.data()
        const up = await put(glint.url, image.id, data, { chunked, piece: 333 })
        t.equal(up.status, 204, up.body)
        const shown = (await glint.request('GET', `/v2/images/${image.id}`)).json
        t.equal(shown.status, 'active')
        t.equal(shown.size, data.byteLength)
        t.equal(shown.virtual_size, c.virtualSize ?? null, 'virtual_size from the headers')
        const down = await download(glint.url, `/v2/images/${image.id}/file`)
        t.equal(down.digest.size, data.byteLength, 'stored as sent')
      })
    }
  }

  for (const c of REFUSED) {
    for (const chunked of [false, true]) {
      t.test(`${c.label} is refused (${chunked ? 'chunked' : 'Content-Length'})`, async (t) => {
        const image = await createImage(glint, { name: c.label, disk_format: c.diskFormat })
        const up = await put(glint.url, image.id, c.data(), { chunked, piece: 333 })
        t.equal(up.status, 400)
        t.match(up.body, c.refused!)
        const shown = (await glint.request('GET', `/v2/images/${image.id}`)).json
        t.equal(shown.status, 'queued', 'nothing unsafe is ever active')
        t.equal(shown.size, null)
        t.equal(shown.virtual_size, null)
        t.notOk(storeFiles(glint).some((f) => f.includes(image.id)), 'no data left in the store')
        // The connection and the image are still usable: the right data goes up afterwards.
        t.equal((await put(glint.url, image.id, Buffer.alloc(1024), { chunked })).status, c.diskFormat === 'raw' || c.diskFormat === 'ami' ? 204 : 400)
      })
    }
  }

  t.test('a refusal comes before the rest of a large body is stored', async (t) => {
    // 200 MiB of zeroes behind a qcow2 header with a backing file: refused from the header.
    const head = readFileSync(path('backing.qcow2'))
    const image = await createImage(glint, { name: 'big-bad', disk_format: 'qcow2' })
    const body = Buffer.concat([head, Buffer.alloc(200 * MiB - head.byteLength)])
    const up = await put(glint.url, image.id, body, { chunked: true, piece: MiB })
    t.equal(up.status, 400)
    t.match(up.body, /backing file/)
    t.equal((await glint.request('GET', `/v2/images/${image.id}`)).json.status, 'queued')
    t.notOk(storeFiles(glint).some((f) => f.includes(image.id)), 'no data left in the store')
  })
})

t.test('require_image_format_match = false keeps the safety checks', async (t) => {
  const glint = await startGlint({ config: '[image_format]\nrequire_image_format_match = false\n' })
  t.teardown(() => glint.stop())

  const mismatched = await createImage(glint, { name: 'raw-as-qcow2', disk_format: 'qcow2' })
  const data = readFileSync(path('random.raw'))
  t.equal((await put(glint.url, mismatched.id, data)).status, 204, 'content of another format is accepted')
  const shown = (await glint.request('GET', `/v2/images/${mismatched.id}`)).json
  t.equal(shown.status, 'active')
  t.equal(shown.virtual_size, null, 'no virtual size when the format did not match')

  const unsafe = await createImage(glint, { name: 'backing', disk_format: 'qcow2' })
  const up = await put(glint.url, unsafe.id, readFileSync(path('backing.qcow2')))
  t.equal(up.status, 400)
  t.match(up.body, /backing file/)
  t.equal((await glint.request('GET', `/v2/images/${unsafe.id}`)).json.status, 'queued')
})

t.test('format inspection on an RBD store', { skip: clustersMissing() }, async (t) => {
  const glint = await startGlint({ config: storesConfig('{dataDir}'), database: 'postgres' })
  t.teardown(() => glint.stop())

  const bad = await createImage(glint, { name: 'rbd-backing', disk_format: 'qcow2' })
  const up = await put(glint.url, bad.id, readFileSync(path('backing.qcow2')), { store: 'ceph_a', chunked: true })
  t.equal(up.status, 400)
  t.match(up.body, /backing file/)
  t.equal((await glint.request('GET', `/v2/images/${bad.id}`)).json.status, 'queued')
  t.notOk((await rbdImages(CEPH_A_CONF)).includes(bad.id), 'no RBD image left in the cluster')

  const good = await createImage(glint, { name: 'rbd-clean', disk_format: 'qcow2' })
  t.equal((await put(glint.url, good.id, readFileSync(path('clean.qcow2')), { store: 'ceph_a' })).status, 204)
  const shown = (await glint.request('GET', `/v2/images/${good.id}`)).json
  t.equal(shown.status, 'active')
  t.equal(shown.virtual_size, 64 * MiB)
  t.equal(shown.stores, 'ceph_a')
})
