// Fan-out (issue 14): concurrent downloads of one image share one read of the store. The
// store reads are counted from the server's own log: every read of a store logs one
// 'store read' line with the bytes it read when it ends (src/stores/fanout.ts).

import t, { type Test } from 'tap'
import { createHash, randomBytes } from 'node:crypto'
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { createImage, startGlint, type Glint } from './helpers/glint.js'
import { eventually, memoryOf } from './helpers/data.js'
import { clustersMissing, storesConfig } from './helpers/ceph.js'

const MiB = 1024 * 1024
const WINDOW_MIB = 16
const TOTAL_MIB = 64
const FANOUT = `fanout_window_mb = ${WINDOW_MIB}\nfanout_memory_mb = ${TOTAL_MIB}\n`
const cephMissing = clustersMissing()

interface StoreRead { store: string, image: string, offset: number, bytes: number, readers: number, shared: boolean, windowPeak: number }

function storeReads (glint: Glint, imageId: string): StoreRead[] {
  return glint.output().split('\n').filter((l) => l.includes('"msg":"store read"')).map((l) => JSON.parse(l) as StoreRead)
    .filter((r) => r.image === imageId)
}

/** One download on its own connection; the caller may hold it (not read) and let it go. */
interface Download {
  response: Promise<IncomingMessage>
  /** bytes received so far */
  received: () => number
  hold: () => void
  release: () => void
  done: Promise<{ status: number, size: number, sha256: string, body: Buffer }>
}

function startDownload (base: string, path: string, headers: Record<string, string> = {}, opts: { holdAtStart?: boolean } = {}): Download {
  let received = 0
  let res: IncomingMessage | undefined
  let held = opts.holdAtStart === true
  let resolveResponse!: (r: IncomingMessage) => void
  const response = new Promise<IncomingMessage>((resolve) => { resolveResponse = resolve })
  const done = new Promise<{ status: number, size: number, sha256: string, body: Buffer }>((resolve, reject) => {
    httpRequest(new URL(path, base), { headers, agent: false }, (r) => {
      res = r
      if (held) r.pause()
      const hash = createHash('sha256')
      const parts: Buffer[] = []
      r.on('data', (chunk: Buffer) => { received += chunk.length; hash.update(chunk); parts.push(chunk) })
      r.on('end', () => { resolve({ status: r.statusCode!, size: received, sha256: hash.digest('hex'), body: Buffer.concat(parts) }) })
      r.on('error', reject)
      resolveResponse(r)
    }).on('error', reject).end()
  })
  return {
    response,
    received: () => received,
    hold: () => { held = true; res?.pause() },
    release: () => { held = false; res?.resume() },
    done
  }
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

/** Bounded wait that names what did not happen, instead of hanging until tap's timeout. */
async function within<T> (what: string, promise: Promise<T>, seconds = 300): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const limit = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`${what}: not within ${seconds} s`)), seconds * 1000) })
  try { return await Promise.race([promise, limit]) } finally { clearTimeout(timer) }
}

async function uploadBytes (glint: Glint, data: Buffer, store?: string): Promise<string> {
  const image = await createImage(glint, { name: 'fanout' })
  const headers: Record<string, string> = { 'Content-Type': 'application/octet-stream' }
  if (store !== undefined) headers['X-Image-Meta-Store'] = store
  const reply = await glint.request('PUT', `/v2/images/${image.id}/file`, { body: data, headers })
  if (reply.status !== 204) throw new Error(`upload: ${reply.status} ${reply.text}`)
  return image.id
}

/** 64 readers that all wait until every one has its first bytes, then read to the end. */
async function sixtyFourReaders (t: Test, glint: Glint, imageId: string, data: Buffer): Promise<void> {
  const readers = Array.from({ length: 64 }, () => startDownload(glint.url, `/v2/images/${imageId}/file`, {}, { holdAtStart: true }))
  await within('64 responses', Promise.all(readers.map(async (r) => await r.response)))
  for (const r of readers) r.release()
  const results = await within('64 downloads', Promise.all(readers.map(async (r) => await r.done)))
  const expected = sha256(data)
  t.same(results.map((r) => r.status), Array(64).fill(200), 'all 64 answered 200')
  t.equal(results.filter((r) => r.sha256 === expected && r.size === data.length).length, 64, 'all 64 got the image, byte for byte')
  t.ok(await eventually(async () => storeReads(glint, imageId).length > 0), 'the read was logged')
  const reads = storeReads(glint, imageId)
  t.equal(reads.length, 1, 'one read of the store')
  t.equal(reads[0].bytes, data.length, 'which read the image once')
  t.equal(reads[0].readers, 64, 'and served all 64 readers')
}

t.test('fan-out from the file store', async (t) => {
  const glint = await startGlint({ config: `[DEFAULT]\n${FANOUT}` })
  t.teardown(() => glint.stop())

  t.test('64 concurrent readers of one image read it from the store once', async (t) => {
    const data = randomBytes(12 * MiB + 12345)
    await sixtyFourReaders(t, glint, await uploadBytes(glint, data), data)
  })

  t.test('a reader that stops reading does not stall the others, and gets the whole image later', async (t) => {
    const data = randomBytes(96 * MiB + 7)
    const id = await uploadBytes(glint, data)
    const stalled = startDownload(glint.url, `/v2/images/${id}/file`, {}, { holdAtStart: true })
    await within('stalled reader first bytes', stalled.response)
    const others = Array.from({ length: 7 }, () => startDownload(glint.url, `/v2/images/${id}/file`))
    const results = await within('7 readers beside a stalled one', Promise.all(others.map(async (r) => await r.done)))
    t.ok(stalled.received() < data.length, 'the stalled reader had not received the image while the others finished')
    t.equal(results.filter((r) => r.status === 200 && r.sha256 === sha256(data)).length, 7, 'the 7 others got the whole image')
    stalled.release()
    const late = await within('stalled reader, released', stalled.done)
    t.equal(late.status, 200)
    t.equal(late.size, data.length)
    t.equal(late.sha256, sha256(data), 'the stalled reader, let go, gets the whole image too')
  })

  t.test('a reader that starts mid-way gets the whole image', async (t) => {
    const data = randomBytes(96 * MiB + 3)
    const id = await uploadBytes(glint, data)
    const first = Array.from({ length: 4 }, () => startDownload(glint.url, `/v2/images/${id}/file`))
    // the first readers go on while this one waits, so it starts well past any window's start
    first[0].hold()
    await within('first readers half-way', eventually(async () => first[1].received() >= data.length / 2, 3000, 50))
    first[0].release()
    const late = await within('late reader', startDownload(glint.url, `/v2/images/${id}/file`).done)
    t.equal(late.status, 200)
    t.equal(late.sha256, sha256(data), 'the late reader got the whole image')
    for (const r of await Promise.all(first.map(async (d) => await d.done))) t.equal(r.sha256, sha256(data))
  })

  t.test('Range requests read through the shared window', async (t) => {
    const data = randomBytes(40 * MiB + 11)
    const id = await uploadBytes(glint, data)
    const ranges: Array<[number, number]> = [[0, 99], [5 * MiB + 1, 9 * MiB], [20 * MiB, 40 * MiB + 10], [MiB - 1, MiB]]
    const full = Array.from({ length: 4 }, () => startDownload(glint.url, `/v2/images/${id}/file`, {}, { holdAtStart: true }))
    const partial = ranges.map(([a, b]) => startDownload(glint.url, `/v2/images/${id}/file`, { Range: `bytes=${a}-${b}` }, { holdAtStart: true }))
    await within('responses', Promise.all([...full, ...partial].map(async (r) => await r.response)))
    for (const r of [...full, ...partial]) r.release()
    const fulls = await within('full reads', Promise.all(full.map(async (r) => await r.done)))
    for (const r of fulls) t.equal(r.sha256, sha256(data))
    const parts = await within('ranges', Promise.all(partial.map(async (r) => await r.done)))
    ranges.forEach(([a, b], i) => {
      t.equal(parts[i].status, 206, `range ${a}-${b}: 206`)
      t.ok(parts[i].body.equals(data.subarray(a, b + 1)), `range ${a}-${b}: the right bytes`)
    })
  })

  t.test('window memory stays within its bound', async (t) => {
    const data = randomBytes(64 * MiB + 5)
    const id = await uploadBytes(glint, data)
    const readers = Array.from({ length: 64 }, () => startDownload(glint.url, `/v2/images/${id}/file`))
    // some stop reading for a while: their reads are left behind and go on alone
    for (const r of readers.slice(0, 8)) r.hold()
    await within('others progress', eventually(async () => readers[63].received() >= 32 * MiB, 3000, 50))
    for (const r of readers.slice(0, 8)) r.release()
    const results = await within('64 downloads', Promise.all(readers.map(async (r) => await r.done)))
    t.equal(results.filter((r) => r.status === 200 && r.sha256 === sha256(data)).length, 64, 'all 64 got the image')
    t.ok(await eventually(async () => storeReads(glint, id).reduce((n, r) => n + r.readers, 0) >= 64), 'every read was logged')
    const reads = storeReads(glint, id)
    const peak = Math.max(...reads.map((r) => r.windowPeak))
    t.ok(peak > 0 && peak <= TOTAL_MIB * MiB, `windows held at most ${TOTAL_MIB} MiB at once (peak ${(peak / MiB).toFixed(0)} MiB)`)
    t.comment(`${reads.length} store reads, ${(reads.reduce((n, r) => n + r.bytes, 0) / MiB).toFixed(0)} MiB read for 64 x ${(data.length / MiB).toFixed(0)} MiB served; ` +
      `server peak RSS ${((await memoryOf(glint.proc.pid!)).hwm / MiB).toFixed(0)} MiB`)
  })
})

t.test('fan-out from RBD', { skip: cephMissing }, async (t) => {
  const glint = await startGlint({ config: storesConfig('{dataDir}').replace('[DEFAULT]\n', `[DEFAULT]\n${FANOUT}`) })
  t.teardown(() => glint.stop())

  t.test('64 concurrent readers of one image read it from the cluster once', async (t) => {
    const data = randomBytes(12 * MiB + 4321)
    const id = await uploadBytes(glint, data, 'ceph_a')
    await sixtyFourReaders(t, glint, id, data)
    t.equal(storeReads(glint, id)[0].store, 'ceph_a')
  })
})
