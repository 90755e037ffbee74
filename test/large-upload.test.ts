// Uploads with a Content-Length of 1 GB and more, as `curl -T` and openstackclient send them
// (openstacksdk sets Content-Length; glanceclient uploads chunked). The uWebSockets.js v20.30
// build Glint used before refused any Content-Length of 1,000,000,000 or more.
//
// The 1.1 GB source is a sparse file with random blocks at its start, middle and end, so it
// costs little disk and time to make, and a download that misplaced any of them would differ.

import t from 'tap'
import { createHash, randomBytes } from 'node:crypto'
import { closeSync, createReadStream, mkdtempSync, openSync, rmSync, writeSync, ftruncateSync } from 'node:fs'
import { get } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawn } from 'node:child_process'
import { createImage, startGlint } from './helpers/glint.js'
import { clients, clientsMissing } from './helpers/clients.js'

const SIZE = 1_100_000_000

interface Sums { size: number, md5: string, sha512: string }

async function sumsOf (stream: NodeJS.ReadableStream): Promise<Sums> {
  const md5 = createHash('md5')
  const sha512 = createHash('sha512')
  let size = 0
  for await (const chunk of stream) {
    md5.update(chunk as Buffer)
    sha512.update(chunk as Buffer)
    size += (chunk as Buffer).length
  }
  return { size, md5: md5.digest('hex'), sha512: sha512.digest('hex') }
}

async function downloadSums (url: string): Promise<Sums & { status: number }> {
  return await new Promise((resolve, reject) => {
    get(url, (res) => {
      sumsOf(res).then((sums) => resolve({ ...sums, status: res.statusCode ?? 0 }), reject)
    }).on('error', reject)
  })
}

async function curlUpload (url: string, file: string): Promise<string> {
  return await new Promise((resolve, reject) => {
    const child = spawn('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '-T', file, '-H', 'Content-Type: application/octet-stream', url], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (d) => { out += d })
    child.stderr.on('data', (d) => { out += d })
    const timer = setTimeout(() => child.kill('SIGKILL'), 400_000)
    child.on('error', reject)
    child.on('close', () => { clearTimeout(timer); resolve(out.trim()) })
  })
}

t.test('1.1 GB Content-Length uploads: curl -T and openstack image create --file', async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'glint-large-'))
  t.teardown(() => rmSync(work, { recursive: true, force: true }))
  const file = join(work, 'large.raw')
  const fd = openSync(file, 'w')
  ftruncateSync(fd, SIZE)
  for (const at of [0, Math.floor(SIZE / 2) - 12345, SIZE - 1024 * 1024]) writeSync(fd, randomBytes(1024 * 1024), 0, 1024 * 1024, at)
  closeSync(fd)
  const sent = await sumsOf(createReadStream(file))
  t.equal(sent.size, SIZE)

  const glint = await startGlint({ database: 'postgres' })
  t.teardown(() => glint.stop())

  t.test('curl -T', async (t) => {
    const image = await createImage(glint, { name: 'large-curl' })
    t.equal(await curlUpload(`${glint.url}/v2/images/${image.id}/file`, file), '204', 'the upload is taken')
    const shown = (await glint.request('GET', `/v2/images/${image.id}`)).json
    t.match(shown, { status: 'active', size: SIZE, checksum: sent.md5, os_hash_value: sent.sha512 })
    const down = await downloadSums(`${glint.url}/v2/images/${image.id}/file`)
    t.same(down, { ...sent, status: 200 }, 'the download is byte-identical')
    t.equal((await glint.request('DELETE', `/v2/images/${image.id}`)).status, 204)
  })

  t.test('openstack image create --file', { skip: clientsMissing() }, async (t) => {
    const { openstack, cleanup } = clients(glint.url, { timeoutMs: 400_000 })
    t.teardown(cleanup)
    const created = await openstack('image', 'create', '--disk-format', 'raw', '--container-format', 'bare', '--file', file, '-f', 'json', 'large-osc')
    t.equal(created.code, 0, created.output)
    const id = JSON.parse(created.stdout).id
    const shown = (await glint.request('GET', `/v2/images/${id as string}`)).json
    t.match(shown, { status: 'active', size: SIZE, checksum: sent.md5, os_hash_value: sent.sha512 })
    const down = await downloadSums(`${glint.url}/v2/images/${id as string}/file`)
    t.same(down, { ...sent, status: 200 }, 'the download is byte-identical')
    t.equal((await glint.request('DELETE', `/v2/images/${id as string}`)).status, 204)
  })
})
