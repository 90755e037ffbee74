// The image cache (issue 14): Glance's /v2/cache API end to end, images served once kept on
// local disk and served from there, pruning to image_cache_max_size, a cache that survives a
// restart, and copies that are never served when cut short or when their checksum is wrong.

import t from 'tap'
import { randomBytes, randomUUID } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, statSync, truncateSync, unlinkSync, writeFileSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createDatabase, startGlint, type Glint } from './helpers/glint.js'
import { download, eventually } from './helpers/data.js'
import { admin, member } from './helpers/identities.js'

const MiB = 1024 * 1024
const ADMIN = admin()

function config (root: string, maxSize = 40 * MiB, prefetchIntervalSec = 1): string {
  return `[DEFAULT]
image_cache_dir = ${root}/cache
image_cache_max_size = ${maxSize}
image_cache_stall_time = 60
cache_prefetcher_interval = ${prefetchIntervalSec}
[glance_store]
filesystem_store_datadir = ${root}/images
[paste_deploy]
flavor = trusted-auth+cachemanagement
`
}

async function uploadImage (glint: Glint, data: Buffer): Promise<string> {
  const created = await glint.request('POST', '/v2/images', { json: { name: 'cached', disk_format: 'raw', container_format: 'bare' }, headers: ADMIN })
  if (created.status !== 201) throw new Error(`create: ${created.status} ${created.text}`)
  const id = created.json.id as string
  const put = await glint.request('PUT', `/v2/images/${id}/file`, { body: data, headers: { ...ADMIN, 'Content-Type': 'application/octet-stream' } })
  if (put.status !== 204) throw new Error(`upload: ${put.status} ${put.text}`)
  return id
}

async function cacheList (glint: Glint): Promise<{ cached_images: Array<{ image_id: string, hits: number, size: number, last_accessed: number, last_modified: number }>, queued_images: string[] }> {
  const reply = await glint.request('GET', '/v2/cache', { headers: ADMIN })
  if (reply.status !== 200) throw new Error(`cache list: ${reply.status} ${reply.text}`)
  return reply.json
}

const cached = async (glint: Glint, id: string): Promise<boolean> => (await cacheList(glint)).cached_images.some((c) => c.image_id === id)
const hitsOf = async (glint: Glint, id: string): Promise<number | undefined> => (await cacheList(glint)).cached_images.find((c) => c.image_id === id)?.hits

async function fetchAll (glint: Glint, id: string): Promise<{ status: number, body?: Buffer }> {
  return await download(glint.url, `/v2/images/${id}/file`, ADMIN)
}

t.test('image cache', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'glint-cache-'))
  const db = await createDatabase()
  t.teardown(async () => { rmSync(root, { recursive: true, force: true }); await db.drop() })
  let glint = await startGlint({ config: config(root), databaseUrl: db.url })
  t.teardown(() => glint.stop())

  t.test('the API is admin-only and checks what it is given', async (t) => {
    for (const [method, path] of [['GET', '/v2/cache'], ['PUT', `/v2/cache/${randomUUID()}`], ['DELETE', `/v2/cache/${randomUUID()}`], ['DELETE', '/v2/cache']]) {
      const reply = await glint.request(method, path, { headers: member('someone') })
      t.equal(reply.status, 403, `${method} ${path} as a member: 403`)
    }
    t.equal((await glint.request('PUT', `/v2/cache/${randomUUID()}`, { headers: ADMIN })).status, 404, 'queueing an unknown image: 404')
    // tempest queues 'non-existing-image-id': an id that is not a UUID names no image (was a 500)
    t.equal((await glint.request('PUT', '/v2/cache/non-existing-image-id', { headers: ADMIN })).status, 404, 'queueing a non-UUID id: 404')
    const queued = await glint.request('POST', '/v2/images', { json: { name: 'empty', disk_format: 'raw', container_format: 'bare' }, headers: ADMIN })
    const notActive = await glint.request('PUT', `/v2/cache/${queued.json.id}`, { headers: ADMIN })
    t.equal(notActive.status, 400, 'queueing an image that is not active: 400')
    t.match(notActive.text, /Only images with status active can be targeted for queueing/)
    const bad = await glint.request('DELETE', '/v2/cache', { headers: { ...ADMIN, 'x-image-cache-clear-target': 'everything' } })
    t.equal(bad.status, 400, 'an unknown clear target: 400')
    t.same(await cacheList(glint), { cached_images: [], queued_images: [] }, 'empty to begin with')
  })

  t.test('queue, cache, serve from the cache, delete', async (t) => {
    const data = randomBytes(8 * MiB + 99)
    const id = await uploadImage(glint, data)
    t.equal((await glint.request('PUT', `/v2/cache/${id}`, { headers: ADMIN })).status, 202, 'queued: 202')
    t.ok(await eventually(async () => await cached(glint, id), 300), 'the prefetcher cached it')
    const entry = (await cacheList(glint)).cached_images.find((c) => c.image_id === id)!
    t.equal(entry.size, data.length)
    t.equal(entry.hits, 0)
    t.same((await cacheList(glint)).queued_images, [], 'and took it off the queue')
    t.ok(readFileSync(join(root, 'cache', id)).equals(data), 'the cached copy holds the image')

    // the store loses the data behind Glint's back: only the cache can still serve it
    unlinkSync(join(root, 'images', id))
    const got = await fetchAll(glint, id)
    t.equal(got.status, 200)
    t.ok(got.body?.equals(data), 'served whole from the cache')
    t.equal(await hitsOf(glint, id), 1, 'one hit')
    const range = await download(glint.url, `/v2/images/${id}/file`, { ...ADMIN, Range: 'bytes=1000-1999' })
    t.equal(range.status, 206)
    t.ok(range.body?.equals(data.subarray(1000, 2000)), 'a Range from the cache')

    t.equal((await glint.request('DELETE', `/v2/cache/${id}`, { headers: ADMIN })).status, 204, 'DELETE /v2/cache/{id}: 204')
    t.notOk(await cached(glint, id), 'gone from the list')
    t.notOk(existsSync(join(root, 'cache', id)), 'and from the disk')
    t.equal((await fetchAll(glint, id)).status, 204, 'with no copy anywhere the image has no data (204)')
  })

  t.test('an image served once is cached, and deleting the image purges it', async (t) => {
    const data = randomBytes(3 * MiB + 1)
    const id = await uploadImage(glint, data)
    t.ok((await fetchAll(glint, id)).body?.equals(data), 'first download, from the store')
    t.ok(await eventually(async () => await cached(glint, id), 300), 'then cached')
    t.ok((await fetchAll(glint, id)).body?.equals(data))
    t.equal(await hitsOf(glint, id), 1, 'the second download was a hit')
    t.equal((await glint.request('DELETE', `/v2/images/${id}`, { headers: ADMIN })).status, 204)
    t.notOk(await cached(glint, id), 'deleting the image removes its cached copy')
    t.notOk(existsSync(join(root, 'cache', id)))
  })

  t.test('pruned to image_cache_max_size, least recently used first', async (t) => {
    const ids: string[] = []
    for (let i = 0; i < 3; i++) {
      const id = await uploadImage(glint, randomBytes(16 * MiB))
      ids.push(id)
      t.equal((await glint.request('PUT', `/v2/cache/${id}`, { headers: ADMIN })).status, 202)
      t.ok(await eventually(async () => !(await cacheList(glint)).queued_images.includes(id), 300), `image ${i} processed`)
      if (i === 1) t.equal((await fetchAll(glint, ids[0])).status, 200, 'the first one used again, so the second is the oldest')
    }
    const list = await cacheList(glint)
    const held = list.cached_images.map((c) => c.image_id)
    t.ok(list.cached_images.reduce((n, c) => n + c.size, 0) <= 40 * MiB, 'within 40 MiB')
    t.ok(held.includes(ids[0]) && held.includes(ids[2]), 'the recently used ones stay')
    t.notOk(held.includes(ids[1]), 'the least recently used one went')
    t.notOk(existsSync(join(root, 'cache', ids[1])))
  })

  t.test('clear the queue, the cache, or both', async (t) => {
    t.equal((await glint.request('DELETE', '/v2/cache', { headers: { ...ADMIN, 'x-image-cache-clear-target': 'queue' } })).status, 204)
    t.ok((await cacheList(glint)).cached_images.length > 0, 'clearing the queue keeps the cache')
    t.equal((await glint.request('DELETE', '/v2/cache', { headers: ADMIN })).status, 204)
    t.same(await cacheList(glint), { cached_images: [], queued_images: [] }, 'no target: both cleared')
  })

  t.test('the cache survives a restart; a copy cut short or with another checksum is never served', async (t) => {
    const a = randomBytes(6 * MiB + 5)
    const b = randomBytes(5 * MiB + 7)
    const ida = await uploadImage(glint, a)
    const idb = await uploadImage(glint, b)
    for (const id of [ida, idb]) t.equal((await glint.request('PUT', `/v2/cache/${id}`, { headers: ADMIN })).status, 202)
    t.ok(await eventually(async () => (await cached(glint, ida)) && (await cached(glint, idb)), 300), 'both cached')
    t.equal(await glint.stop(), 0, 'stopped cleanly')

    // while it is down: A's copy is cut in half, B's record claims another checksum
    truncateSync(join(root, 'cache', ida), 3 * MiB)
    const metaB = join(root, 'cache', 'meta', `${idb}.json`)
    writeFileSync(metaB, JSON.stringify({ ...JSON.parse(readFileSync(metaB, 'utf8')), checksum: '0'.repeat(32) }))
    const c = randomBytes(2 * MiB)
    glint = await startGlint({ config: config(root), databaseUrl: db.url })
    const idc = await uploadImage(glint, c)
    t.equal((await glint.request('PUT', `/v2/cache/${idc}`, { headers: ADMIN })).status, 202)
    t.ok(await eventually(async () => await cached(glint, idc), 300))
    t.notOk(await cached(glint, ida), 'a copy of the wrong size is dropped at start')
    t.ok(await cached(glint, idb), 'a complete copy is still listed after the restart')

    const gotA = await fetchAll(glint, ida)
    t.equal(gotA.status, 200)
    t.ok(gotA.body?.equals(a), 'A comes whole, from its store')
    const gotB = await fetchAll(glint, idb)
    t.ok(gotB.body?.equals(b), 'B comes whole')
    t.not(await hitsOf(glint, idb), 1, 'and not from the copy whose checksum is not the image\'s')

    // cut short while running: noticed at the next download, which goes to the store
    t.ok(await eventually(async () => await cached(glint, ida), 300), 'A cached again after it was served')
    truncateSync(join(root, 'cache', ida), MiB)
    const again = await fetchAll(glint, ida)
    t.ok(again.body?.equals(a), 'a truncated copy is not served: the whole image comes from the store')

    // a restart with C cached: C is served from the cache alone
    t.equal(await glint.stop(), 0)
    unlinkSync(join(root, 'images', idc))
    glint = await startGlint({ config: config(root), databaseUrl: db.url })
    const gotC = await fetchAll(glint, idc)
    t.ok(gotC.body?.equals(c), 'after a restart, served from the cache (the store has no copy)')
    t.equal(await hitsOf(glint, idc), 1)
    t.equal(statSync(join(root, 'cache', idc)).size, c.length)
  })
})

// Glance's prefetcher runs every cache_prefetcher_interval seconds: an image an admin queues
// stays listed as queued until then (tempest's cache cycle checks it is), while an image just
// served is cached at once (Glance tees that first download into the cache).
t.test('queued images wait for the prefetcher\'s run; served ones are cached at once', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'glint-cache-interval-'))
  const db = await createDatabase()
  let glint = await startGlint({ config: config(root, 40 * MiB, 3600), databaseUrl: db.url })
  t.teardown(async () => { await glint.stop(); await db.drop(); rmSync(root, { recursive: true, force: true }) })
  const queuedData = randomBytes(2 * MiB + 3)
  const servedData = randomBytes(MiB + 11)
  const queuedId = await uploadImage(glint, queuedData)
  const servedId = await uploadImage(glint, servedData)
  t.equal((await glint.request('PUT', `/v2/cache/${queuedId}`, { headers: ADMIN })).status, 202)
  t.ok((await fetchAll(glint, servedId)).body?.equals(servedData))
  t.ok(await eventually(async () => await cached(glint, servedId), 300), 'the served image is cached without waiting for the prefetcher')
  const list = await cacheList(glint)
  t.same(list.queued_images, [queuedId], 'the queued one is still listed as queued')
  t.notOk(list.cached_images.some((c) => c.image_id === queuedId), 'and not cached before the prefetcher runs')

  // the queue survives a restart and is worked at the next run (1 s here)
  await glint.stop()
  glint = await startGlint({ config: config(root, 40 * MiB, 1), databaseUrl: db.url })
  t.ok(await eventually(async () => await cached(glint, queuedId), 300), 'the prefetcher\'s run caches it')
  t.same((await cacheList(glint)).queued_images, [], 'and takes it off the queue')
  t.ok(readFileSync(join(root, 'cache', queuedId)).equals(queuedData))
})
