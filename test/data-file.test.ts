// The data path on the file store (issue 3): streamed uploads and downloads with Glance's
// checksums computed inline, status and failure handling, ranges, bounded memory.

import t from 'tap'
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { request as httpRequest } from 'node:http'
import { closeSync, constants, openSync, readdirSync, rmSync } from 'node:fs'
import { connect } from 'node:net'
import { join } from 'node:path'
import { createImage, startGlint, rawHttp, type Glint } from './helpers/glint.js'
import { download, eventually, memoryOf, upload, uploadLarge } from './helpers/data.js'

const MiB = 1024 * 1024
const CAP = 64 * MiB

const config = `[DEFAULT]
image_size_cap = ${CAP}
`

function storeFiles (glint: Glint): string[] {
  return readdirSync(join(glint.dataDir, 'images'))
}

t.test('file store data path', async (t) => {
  const glint = await startGlint({ config })
  t.teardown(() => glint.stop())
  const base = glint.url

  t.test('round trips: checksums equal node:crypto, chunked and Content-Length', async (t) => {
    for (const size of [0, 1, 8 * MiB - 1, 8 * MiB, 8 * MiB + 1]) {
      for (const chunked of [true, false]) {
        const image = await createImage(glint, { name: `rt-${size}-${chunked}` })
        const up = await upload(base, image.id, size, { chunked, chunkSize: 300_000 })
        t.equal(up.status, 204, `upload ${size} chunked=${chunked}`)
        const shown = (await glint.request('GET', `/v2/images/${image.id}`)).json
        t.equal(shown.status, 'active')
        t.equal(shown.size, size)
        t.equal(shown.checksum, up.sent.md5, 'checksum is the md5')
        t.equal(shown.os_hash_algo, 'sha512')
        t.equal(shown.os_hash_value, up.sent.sha512, 'os_hash_value is the sha512')
        t.equal(shown.stores, 'local')
        const down = await download(base, `/v2/images/${image.id}/file`)
        t.equal(down.status, 200)
        t.equal(down.headers['content-md5'], up.sent.md5, 'Content-MD5 is the hex md5, as Glance sends it')
        t.equal(down.headers['content-length'], String(size))
        t.equal(down.digest.sha512, up.sent.sha512, `download of ${size} is byte-identical`)
      }
    }
  })

  t.test('an upload aborted midway: image back to queued, no file left', async (t) => {
    const image = await createImage(glint, { name: 'aborted' })
    const up = await upload(base, image.id, 32 * MiB, { chunked: true, abortAfter: 12 * MiB })
    t.equal(up.status, 0, 'the client went away')
    t.ok(await eventually(async () => (await glint.request('GET', `/v2/images/${image.id}`)).json.status === 'queued'), 'back to queued')
    const shown = (await glint.request('GET', `/v2/images/${image.id}`)).json
    t.equal(shown.size, null)
    t.equal(shown.checksum, null)
    t.ok(await eventually(async () => !storeFiles(glint).some((f) => f.includes(image.id))), 'no partial file left')
    const again = await upload(base, image.id, 1 * MiB)
    t.equal(again.status, 204, 'a later upload works')
  })

  t.test('a client gone before the upload even started leaves nothing, stuck in nothing', async (t) => {
    for (let i = 0; i < 5; i++) {
      const image = await createImage(glint, { name: `gone-${i}` })
      // headers only, then the connection closes: the server is still preparing the upload
      await new Promise<void>((resolve) => {
        const socket = connect(glint.port, '127.0.0.1', () => {
          socket.write(`PUT /v2/images/${image.id}/file HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: 5000000\r\n\r\nabc`, () => { socket.destroy(); resolve() })
        })
      })
      // The server may still be preparing the dead request (the image is briefly 'saving' and
      // a new upload gets 409); it must end back in queued with nothing kept.
      t.ok(await eventually(async () => (await upload(base, image.id, 1000)).status === 204), 'not left stuck in saving: a new upload succeeds')
      const files = storeFiles(glint).filter((f) => f.includes(image.id))
      t.same(files, [image.id], 'only the finished upload\'s file, no partial one')
    }
  })

  t.test('a Content-Length larger than the bytes sent: queued, no file', async (t) => {
    const image = await createImage(glint, { name: 'short' })
    const up = await upload(base, image.id, 4 * MiB, { declaredLength: 10 * MiB, abortAfter: 4 * MiB })
    t.equal(up.status, 0)
    t.ok(await eventually(async () => (await glint.request('GET', `/v2/images/${image.id}`)).json.status === 'queued'))
    t.ok(await eventually(async () => !storeFiles(glint).some((f) => f.includes(image.id))))
  })

  t.test('413 at image_size_cap, declared or streamed; nothing kept', async (t) => {
    const declared = await createImage(glint, { name: 'too-big-declared' })
    const d = await upload(base, declared.id, CAP + 1)
    t.equal(d.status, 413)
    const streamed = await createImage(glint, { name: 'too-big-streamed' })
    const s = await upload(base, streamed.id, CAP + 4 * MiB, { chunked: true })
    t.equal(s.status, 413)
    t.match(JSON.parse(s.body).message, /exceeds/)
    for (const id of [declared.id, streamed.id]) {
      const shown = (await glint.request('GET', `/v2/images/${id}`)).json
      t.equal(shown.status, 'queued')
      t.notOk(storeFiles(glint).some((f) => f.includes(id)), 'no file')
    }
  })

  t.test('409 on a second upload; 415 without octet-stream; 400 without formats', async (t) => {
    const image = await createImage(glint, { name: 'twice' })
    t.equal((await upload(base, image.id, 1000)).status, 204)
    const second = await upload(base, image.id, 1000)
    t.equal(second.status, 409)
    const shown = (await glint.request('GET', `/v2/images/${image.id}`)).json
    t.equal(shown.status, 'active', 'the first upload is untouched')
    t.equal(shown.size, 1000)
    const other = await createImage(glint, { name: 'wrong-type' })
    const wrongType = await upload(base, other.id, 1000, { headers: { 'Content-Type': 'text/plain' } })
    t.equal(wrongType.status, 415)
    const bare = await glint.request('POST', '/v2/images', { json: { name: 'no-formats' } })
    const noFormats = await upload(base, bare.json.id, 1000)
    t.equal(noFormats.status, 400)
    t.equal((await glint.request('GET', `/v2/images/${bare.json.id}`)).json.status, 'queued')
  })

  t.test('Expect: 100-continue', async (t) => {
    const image = await createImage(glint, { name: 'expect' })
    const reply = await rawHttp(glint.port, `PUT /v2/images/${image.id}/file HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nhello`)
    t.match(reply, /^HTTP\/1\.1 100 Continue/)
    t.match(reply, /HTTP\/1\.1 204 /)
    t.equal((await glint.request('GET', `/v2/images/${image.id}`)).json.size, 5)
  })

  t.test('downloads: 204 without data, ranges, 416, multi-range 400', async (t) => {
    const empty = await createImage(glint, { name: 'no-data' })
    const none = await download(base, `/v2/images/${empty.id}/file`)
    t.equal(none.status, 204)
    t.equal(none.digest.size, 0)
    const image = await createImage(glint, { name: 'ranges' })
    const up = await upload(base, image.id, 3 * MiB + 17)
    t.equal(up.status, 204)
    const whole = (await download(base, `/v2/images/${image.id}/file`)).body!
    const cases: Array<[string, number, number]> = [['bytes=0-99', 0, 99], ['bytes=1048570-2097160', 1048570, 2097160], [`bytes=${3 * MiB}-`, 3 * MiB, 3 * MiB + 16], ['bytes=-10', 3 * MiB + 7, 3 * MiB + 16]]
    for (const [range, start, end] of cases) {
      const part = await download(base, `/v2/images/${image.id}/file`, { Range: range })
      t.equal(part.status, 206, range)
      t.equal(part.headers['content-range'], `bytes ${start}-${end}/${3 * MiB + 17}`)
      t.equal(part.headers['content-length'], String(end - start + 1))
      t.ok(part.body!.equals(whole.subarray(start, end + 1)), `${range} bytes match`)
    }
    t.equal((await download(base, `/v2/images/${image.id}/file`, { Range: `bytes=${4 * MiB}-` })).status, 416)
    t.equal((await download(base, `/v2/images/${image.id}/file`, { Range: 'bytes=0-1,5-6' })).status, 400)
  })

  t.test('deleting an image removes its data', async (t) => {
    const image = await createImage(glint, { name: 'to-delete' })
    t.equal((await upload(base, image.id, 2 * MiB)).status, 204)
    t.ok(storeFiles(glint).includes(image.id))
    t.equal((await glint.request('DELETE', `/v2/images/${image.id}`)).status, 204)
    t.notOk(storeFiles(glint).includes(image.id))
  })
})

t.test('large images: bounded server memory both ways', async (t) => {
  const glint = await startGlint()
  t.teardown(() => glint.stop())
  const base = glint.url

  t.test('1 GiB round trip', async (t) => {
    const image = await createImage(glint, { name: 'one-gib' })
    const before = await memoryOf(glint.proc.pid!)
    const up = await uploadLarge(base, image.id, 1024 * MiB, { chunked: true })
    t.equal(up.status, 204)
    const after = await memoryOf(glint.proc.pid!)
    t.ok(after.hwm - before.hwm < 256 * MiB, `peak RSS grew by ${Math.round((after.hwm - before.hwm) / MiB)} MiB for a 1 GiB upload`)
    const shown = (await glint.request('GET', `/v2/images/${image.id}`)).json
    t.equal(shown.checksum, up.sent.md5)
    t.equal(shown.os_hash_value, up.sent.sha512)
    const down = await download(base, `/v2/images/${image.id}/file`)
    t.equal(down.digest.sha512, up.sent.sha512)
    t.equal(down.digest.size, 1024 * MiB)
    await glint.request('DELETE', `/v2/images/${image.id}`)
  })

  t.test('a reader that stops reading costs bounded memory', async (t) => {
    const image = await createImage(glint, { name: 'slow-reader' })
    t.equal((await uploadLarge(base, image.id, 256 * MiB)).status, 204)
    const before = await memoryOf(glint.proc.pid!)
    // Read the headers and a little, then stop reading for a while.
    await new Promise<void>((resolve) => {
      httpRequest(`${base}/v2/images/${image.id}/file`, (res) => {
        res.once('end', () => resolve())
        res.once('data', () => {
          res.pause()
          setTimeout(() => { res.destroy(); resolve() }, 3000)
        })
      }).end()
    })
    const after = await memoryOf(glint.proc.pid!)
    t.ok(after.rss - before.rss < 64 * MiB, `RSS grew by ${Math.round((after.rss - before.rss) / MiB)} MiB while a 256 MiB download stalled`)
    t.equal((await glint.request('GET', '/healthcheck')).status, 200, 'the server still serves')
  })
})

t.test('user_storage_quota answers 413 and keeps nothing', async (t) => {
  const glint = await startGlint({ config: `[DEFAULT]\nuser_storage_quota = 3MB\n` })
  t.teardown(() => glint.stop())
  const first = await createImage(glint, { name: 'q1' })
  t.equal((await upload(glint.url, first.id, 2 * MiB)).status, 204)
  const second = await createImage(glint, { name: 'q2' })
  const over = await upload(glint.url, second.id, 2 * MiB, { chunked: true })
  t.equal(over.status, 413)
  t.equal((await glint.request('GET', `/v2/images/${second.id}`)).json.status, 'queued')
  t.notOk(readdirSync(join(glint.dataDir, 'images')).some((f) => f.includes(second.id)))
})

t.test('a missing store directory is a clear 503, not a crash', async (t) => {
  const glint = await startGlint()
  t.teardown(() => glint.stop())
  const image = await createImage(glint, { name: 'no-dir' })
  rmSync(join(glint.dataDir, 'images'), { recursive: true, force: true })
  const up = await upload(glint.url, image.id, 1 * MiB)
  t.equal(up.status, 503)
  t.match(JSON.parse(up.body).message, /does not exist/)
  t.equal((await glint.request('GET', `/v2/images/${image.id}`)).json.status, 'queued')
  t.equal((await glint.request('GET', '/healthcheck')).status, 200)
})

// Uploads are written with O_DIRECT (src/workers/backends/direct-file.ts): the disk reads
// the upload buffers, nothing is copied into the page cache. What is in the page cache right
// after an upload tells which path the bytes took: fincore counts a file's cached bytes.
const PAGE = 4096

function cachedBytes (path: string): number {
  return Number(execFileSync('fincore', ['--bytes', '--noheadings', '--raw', '-o', 'RES', path], { encoding: 'utf8' }).trim())
}

function directIoRefusedIn (dir: string): string | undefined {
  const probe = join(dir, '.direct-io-probe')
  try {
    closeSync(openSync(probe, constants.O_WRONLY | constants.O_CREAT | constants.O_DIRECT))
    return undefined
  } catch (err) {
    return `this file system refuses O_DIRECT (${(err as Error).message})`
  } finally {
    rmSync(probe, { force: true })
  }
}

t.test('uploads bypass the page cache (direct I/O); only an unaligned tail is buffered', async (t) => {
  const glint = await startGlint()
  t.teardown(() => glint.stop())
  const refused = directIoRefusedIn(join(glint.dataDir, 'images'))
  if (refused !== undefined) { t.skip(refused); return }
  for (const size of [16 * MiB, 16 * MiB + 1, 3 * MiB + 5]) {
    const image = await createImage(glint, { name: `direct-${size}` })
    const up = await upload(glint.url, image.id, size, { chunked: true, chunkSize: 300_000 })
    t.equal(up.status, 204)
    const file = join(glint.dataDir, 'images', image.id)
    const tail = size % PAGE === 0 ? 0 : PAGE
    t.ok(cachedBytes(file) <= tail, `${size} bytes uploaded, ${cachedBytes(file)} of them in the page cache (at most the ${tail}-byte tail page)`)
    const down = await download(glint.url, `/v2/images/${image.id}/file`)
    t.equal(down.digest.sha512, up.sent.sha512, 'the bytes read back are the bytes sent')
  }
})

t.test('filesystem_store_direct_io = false writes through the page cache', async (t) => {
  const glint = await startGlint({
    config: '[DEFAULT]\nenabled_backends = cached:file\n[glance_store]\ndefault_backend = cached\n' +
      '[cached]\nfilesystem_store_datadir = {dataDir}/cached\nfilesystem_store_direct_io = false\n'
  })
  t.teardown(() => glint.stop())
  const image = await createImage(glint, { name: 'cached' })
  const up = await upload(glint.url, image.id, 8 * MiB, { chunked: true })
  t.equal(up.status, 204)
  const cached = cachedBytes(join(glint.dataDir, 'cached', image.id))
  t.equal(cached, 8 * MiB, 'all of it is in the page cache right after the upload')
  t.equal((await glint.request('GET', `/v2/images/${image.id}`)).json.os_hash_value, up.sent.sha512)
})

t.test('memory that cannot go direct falls back to buffered writes, same bytes', async (t) => {
  // Without WebAssembly (--jitless) upload buffers are plain SharedArrayBuffers, which are
  // not page-aligned: the first direct write is refused with EINVAL and the file store goes
  // on through the page cache. (--jitless also rules out PGlite: real PostgreSQL here.)
  const glint = await startGlint({ database: 'postgres', env: { NODE_OPTIONS: '--jitless' } })
  t.teardown(() => glint.stop())
  const refused = directIoRefusedIn(join(glint.dataDir, 'images'))
  for (const size of [1, 8 * MiB + 1]) {
    const image = await createImage(glint, { name: `buffered-${size}` })
    const up = await upload(glint.url, image.id, size, { chunked: true, chunkSize: 300_000 })
    t.equal(up.status, 204)
    const shown = (await glint.request('GET', `/v2/images/${image.id}`)).json
    t.equal(shown.status, 'active')
    t.equal(shown.checksum, up.sent.md5)
    t.equal(shown.os_hash_value, up.sent.sha512)
    const file = join(glint.dataDir, 'images', image.id)
    if (refused === undefined) t.ok(cachedBytes(file) >= size - PAGE, `the ${size} bytes went through the page cache (${cachedBytes(file)} cached)`)
    const down = await download(glint.url, `/v2/images/${image.id}/file`)
    t.equal(down.digest.sha512, up.sent.sha512, 'the bytes read back are the bytes sent')
  }
  t.equal(storeFiles(glint).filter((f) => f.endsWith('.partial')).length, 0, 'no temporary file left behind')
})

// uWebSockets.js closes a response whose socket has not drained for about 10 s; a download
// whose client stops reading for longer than that must still complete (Glance waits
// client_socket_timeout, 900 s by default), and one that stays stalled past
// client_socket_timeout is closed. The image is larger than the socket buffers of both
// ends (tcp_wmem 4 MiB + tcp_rmem 32 MiB here), so the server really is left waiting.
async function stalledDownload (base: string, imageId: string, stallMs: number): Promise<{ bytes: number, sha512: string, complete: boolean }> {
  return await new Promise((resolve, reject) => {
    httpRequest(`${base}/v2/images/${imageId}/file`, (res) => {
      const sha512 = createHash('sha512')
      let bytes = 0
      res.on('data', (chunk: Buffer) => { sha512.update(chunk); bytes += chunk.length })
      res.once('data', () => { res.pause(); setTimeout(() => res.resume(), stallMs) })
      res.on('end', () => resolve({ bytes, sha512: sha512.digest('hex'), complete: res.complete }))
      res.on('error', () => resolve({ bytes, sha512: '', complete: false }))
      res.on('aborted', () => resolve({ bytes, sha512: '', complete: false }))
    }).on('error', reject).end()
  })
}

t.test('a client that stops reading for 15 s still gets the whole image', async (t) => {
  const glint = await startGlint()
  t.teardown(() => glint.stop())
  const image = await createImage(glint, { name: 'stall' })
  const up = await uploadLarge(glint.url, image.id, 128 * MiB, { chunked: true })
  t.equal(up.status, 204)
  const down = await stalledDownload(glint.url, image.id, 15_000)
  t.ok(down.complete, 'the response completed')
  t.equal(down.bytes, 128 * MiB)
  t.equal(down.sha512, up.sent.sha512, 'byte-identical')
})

t.test('client_socket_timeout closes a download whose client took nothing for that long', async (t) => {
  const glint = await startGlint({ config: '[DEFAULT]\nclient_socket_timeout = 2\n' })
  t.teardown(() => glint.stop())
  const image = await createImage(glint, { name: 'stall-forever' })
  t.equal((await uploadLarge(glint.url, image.id, 128 * MiB, { chunked: true })).status, 204)
  const down = await stalledDownload(glint.url, image.id, 30_000)
  t.notOk(down.complete, 'the stalled response was closed')
  t.ok(down.bytes < 128 * MiB, `the client got ${down.bytes} bytes, not all of them`)
  t.equal((await glint.request('GET', '/healthcheck')).status, 200, 'the server still serves')
  const again = await download(glint.url, `/v2/images/${image.id}/file`)
  t.equal(again.digest.sha512, (await glint.request('GET', `/v2/images/${image.id}`)).json.os_hash_value, 'a reading client gets it all')
})
