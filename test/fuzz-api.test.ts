// A seeded, bounded fuzz of the JSON API (issue 9 s.5, issue 15): creates, PATCHes, lists,
// tags and members with hostile JSON, strings, numbers, unicode, deep nesting, huge values
// and query strings, against PostgreSQL and the embedded registry. No answer may be a 5xx,
// every request must be answered, and the server must still serve afterwards. The same seed
// sends the same requests: GLINT_FUZZ_SEED=<n> replays another sequence.

import t, { type Test } from 'tap'
import { createImage, startGlint, type Glint } from './helpers/glint.js'

const SEED = Number(process.env.GLINT_FUZZ_SEED ?? 20261129)
const REQUESTS = Number(process.env.GLINT_FUZZ_REQUESTS ?? 600)
/**
 * Bounds on each part's run (two JSON parts, one of headers), so a slow machine shortens the
 * fuzz rather than hitting tap's 600 s per file: 2 x 120 s + 60 s + three server starts.
 */
const BUDGET_MS = 120_000
const HEADERS_BUDGET_MS = 60_000
/** Any request unanswered this long counts as a hang (and fails the test). */
const REQUEST_TIMEOUT_MS = 60_000

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
function prng (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let x = a
    x = Math.imul(x ^ (x >>> 15), x | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

function generators (random: () => number) {
  const int = (n: number): number => Math.floor(random() * n)
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]
  const chance = (p: number): boolean => random() < p

  const SPECIAL_STRINGS = [
    '', ' ', '\u0000', 'a\u0000b', '\ud800', '\udfff', 'x\ud83d', '😀', '𝒳'.repeat(64), '\u202eevil', 'e\u0301', '\ufeff',
    '%00', '%', '%zz', '../../etc/passwd', '\'; drop table images; --', '"', '\\', '/', '~0~1', '__proto__', 'constructor',
    'null', 'true', '0', '-1', '1e400', 'NaN', '\r\n', '\t', '<script>', '${x}', 'in:a,"b', 'eq:', 'gt:2020-01-01T00:00:00Z',
    'active', 'public', 'shared', 'raw', 'bare', 'kernel_id', 'os_glance_x', 'locations', 'a'.repeat(255), 'a'.repeat(256)
  ]
  const KEYS = [
    'name', 'visibility', 'protected', 'os_hidden', 'disk_format', 'container_format', 'min_ram', 'min_disk', 'owner', 'tags',
    'id', 'status', 'checksum', 'size', 'locations', 'location', 'self', 'file', 'schema', 'kernel_id', 'ramdisk_id',
    'os_distro', 'description', 'os_glance_foo', 'hw_disk_bus', 'direct_url', 'deleted', 'created_at', '', ' ', '__proto__'
  ]
  const NUMBERS = [0, -1, 1, 1.5, -0.5, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 53, -(2 ** 53), 1e308, -1e308, 5e-324]

  const text = (): string => {
    switch (int(6)) {
      case 0: return pick(SPECIAL_STRINGS)
      case 1: return String.fromCodePoint(...Array.from({ length: 1 + int(20) }, () => int(0x10ffff) & ~0x800 /* no lone surrogates here */))
      case 2: return 'x'.repeat(int(4) === 0 ? 70_000 : 1 + int(3000))
      case 3: return pick(SPECIAL_STRINGS) + pick(SPECIAL_STRINGS)
      case 4: return `v${int(1000)}`
      default: return Array.from({ length: int(12) }, () => String.fromCharCode(int(128))).join('')
    }
  }
  const nested = (depth: number): unknown => depth === 0 ? text() : (chance(0.5) ? [nested(depth - 1)] : { k: nested(depth - 1) })
  const value = (depth = 0): unknown => {
    switch (int(depth > 2 ? 5 : 9)) {
      case 0: case 1: case 2: return text()
      case 3: return pick(NUMBERS)
      case 4: return pick([true, false, null])
      // one big array at the top at most, of short values: the bodies stay around 1 MiB or less
      case 5: return depth === 0 && int(4) === 0 ? Array.from({ length: 1000 }, () => pick(SPECIAL_STRINGS)) : Array.from({ length: int(4) }, () => value(depth + 1))
      case 6: return Object.fromEntries(Array.from({ length: int(4) }, () => [key(), value(depth + 1)]))
      case 7: return nested(1 + int(int(4) === 0 ? 200 : 20))
      default: return pick(SPECIAL_STRINGS)
    }
  }
  const key = (): string => chance(0.6) ? pick(KEYS) : text().slice(0, chance(0.9) ? 40 : 400)
  /** A path or query component: usually encoded, sometimes raw percent sequences. */
  const component = (): string => {
    if (chance(0.15)) return pick(['%00', '%', '%zz', '%ff%fe', '%ED%A0%80', '..', '%2F', '+', '%20'])
    try { return encodeURIComponent(text().slice(0, chance(0.9) ? 200 : 3000)) } catch { return '%ED%A0%80' }
  }
  return { int, pick, chance, text, value, key, component }
}

interface Request { method: string, path: string, body?: string, headers: Record<string, string> }

function requestMaker (random: () => number, ids: () => string[]) {
  const g = generators(random)
  const JSON_TYPE = { 'Content-Type': 'application/json' }
  const PATCH_TYPES = ['application/openstack-images-v2.1-json-patch', 'application/openstack-images-v2.0-json-patch', 'application/json', 'text/plain']
  const imageId = (): string => g.chance(0.85) && ids().length > 0 ? g.pick(ids()) : g.pick(['not-a-uuid', '00000000-0000-0000-0000-000000000000', g.component()])
  const json = (value: unknown): string => {
    if (g.chance(0.05)) return g.pick(['{', '[1,', '{"a":}', '', 'null', '"x"', '1', '{"a":1}garbage', '\u0000'])
    if (g.chance(0.03)) return '['.repeat(5000) + ']'.repeat(5000)
    const text = JSON.stringify(value)
    // past the 1 MiB body limit is worth a few tries, not a test that runs out of memory
    return text.length > 1_200_000 ? text.slice(0, 1_200_000) : text
  }
  const body = (): Record<string, unknown> => Object.fromEntries(Array.from({ length: g.int(6) }, () => [g.key(), g.value()]))
  const patchOp = (): unknown => {
    if (g.chance(0.1)) return g.value()
    const op: Record<string, unknown> = { op: g.pick(['add', 'replace', 'remove', 'move', 'test', g.text()]), path: g.pick([`/${g.key()}`, `/${g.key()}/${g.key()}`, g.text(), '/locations/-', '/tags']) }
    if (g.chance(0.9)) op.value = g.value()
    return op
  }
  const FILTER_KEYS = ['name', 'status', 'visibility', 'member_status', 'owner', 'tag', 'limit', 'marker', 'sort', 'sort_key', 'sort_dir',
    'size_min', 'size_max', 'min_disk', 'min_ram', 'protected', 'os_hidden', 'created_at', 'updated_at', 'checksum', 'os_hash_value',
    'container_format', 'disk_format', 'id', 'changes-since', 'deleted_at', 'foo']
  const query = (): string => Array.from({ length: g.chance(0.05) ? 40 + g.int(200) : g.int(6) },
    () => `${g.chance(0.7) ? g.pick(FILTER_KEYS) : g.component()}=${g.component()}`).join('&')

  return function next (): Request {
    const id = imageId()
    switch (g.int(12)) {
      case 0: case 1: return { method: 'POST', path: '/v2/images', body: json(body()), headers: JSON_TYPE }
      case 2: case 3: return {
        method: 'PATCH',
        path: `/v2/images/${id}`,
        body: json(Array.from({ length: g.int(4) }, patchOp)),
        headers: { 'Content-Type': g.pick(PATCH_TYPES) }
      }
      case 4: case 5: return { method: 'GET', path: `/v2/images?${query()}`, headers: {} }
      case 6: return { method: g.pick(['PUT', 'DELETE']), path: `/v2/images/${id}/tags/${g.component()}`, headers: {} }
      case 7: return { method: 'POST', path: `/v2/images/${id}/members`, body: json(g.chance(0.7) ? { member: g.value() } : g.value()), headers: JSON_TYPE }
      case 8: {
        const method = g.pick(['GET', 'PUT', 'DELETE'])
        return {
          method,
          path: `/v2/images/${id}/members/${g.component()}`,
          // fetch sends no body with GET; DELETE with one must get Glance's 400
          body: method === 'GET' ? undefined : json({ status: g.chance(0.5) ? g.pick(['accepted', 'rejected', 'pending']) : g.value() }),
          headers: JSON_TYPE
        }
      }
      case 9: return { method: 'GET', path: `/v2/images/${id}${g.pick(['', '/members', '/tasks'])}`, headers: { Accept: g.pick(['application/json', 'text/html', '*/*', '']) } }
      case 10: return { method: 'POST', path: `/v2/images/${id}/import`, body: json(g.chance(0.5) ? { method: { name: g.value() }, stores: g.value() } : body()), headers: JSON_TYPE }
      default: return { method: g.pick(['GET', 'DELETE', 'POST', 'PUT', 'HEAD', 'OPTIONS']), path: `/v2/${g.pick(['images', 'schemas/image', 'stores/info', 'info/import'])}/${g.component()}`, headers: {} }
    }
  }
}

async function fuzz (t: Test, glint: Glint, label: string): Promise<void> {
  const ids: string[] = []
  for (let i = 0; i < 5; i++) ids.push((await createImage(glint, { visibility: 'shared', tags: ['a'], color: 'red' })).id)
  const random = prng(SEED)
  const next = requestMaker(random, () => ids)
  const statuses = new Map<number, number>()
  const failures: string[] = []
  const started = Date.now()
  let sent = 0
  while (sent < REQUESTS && Date.now() - started < BUDGET_MS) {
    const request = next()
    sent++
    let status: number
    try {
      const reply = await fetch(glint.url + request.path, {
        method: request.method,
        headers: request.headers,
        body: request.body,
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS)
      })
      status = reply.status
      const text = await reply.text()
      if (request.method === 'POST' && request.path === '/v2/images' && status === 201) {
        const created = JSON.parse(text)
        if (ids.length < 40) ids.push(created.id)
      }
    } catch (err) {
      // The server closing a connection on a request it will not read is an answer too
      // (uWS refuses some URLs that way); a timeout is not.
      if ((err as Error).name === 'TimeoutError') { failures.push(`#${sent} ${request.method} ${request.path.slice(0, 120)}: no answer`); continue }
      // anything but a network failure is a bug in this test
      if ((err as Error).message !== 'fetch failed') throw err
      status = 0
      if (process.env.GLINT_FUZZ_VERBOSE !== undefined) console.log(`#${sent} closed: ${request.method} ${request.path.slice(0, 200)} (${request.path.length} chars, body ${request.body?.length ?? 0})`)
    }
    statuses.set(status, (statuses.get(status) ?? 0) + 1)
    if (status >= 500) failures.push(`#${sent} ${request.method} ${request.path.slice(0, 120)} ${request.body?.slice(0, 200) ?? ''} -> ${status}`)
  }
  const counts = [...statuses.entries()].sort(([a], [b]) => a - b).map(([s, n]) => `${s === 0 ? 'closed' : s}: ${n}`).join(', ')
  const fivexx = [...statuses.entries()].filter(([s]) => s >= 500).reduce((n, [, c]) => n + c, 0)
  const summary = `fuzz (${label}, seed ${SEED}): ${sent} requests sent; statuses ${counts}; ${fivexx} 5xx`
  t.comment(summary)
  console.log(summary)
  t.same(failures, [], 'no 5xx and no request left unanswered')
  t.ok(sent >= Math.min(REQUESTS, 50), 'the fuzz ran')
  t.equal((await glint.request('GET', '/healthcheck')).status, 200, 'the server still serves')
  t.equal((await glint.request('GET', `/v2/images/${ids[0]}`)).status, 200, 'and its registry answers')
}

/**
 * Hostile headers and Range on downloads (issue 15): random Range / legacy Content-Range
 * specs, Accept, identity and store headers, request ids. Every answer is a 2xx or a 4xx;
 * every 206 carries exactly the bytes its Content-Range names.
 */
async function fuzzHeaders (t: Test, glint: Glint): Promise<void> {
  const data = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7 + (i >> 8)) & 0xff))
  const image = await createImage(glint)
  const put = await glint.request('PUT', `/v2/images/${image.id}/file`, { body: data, headers: { 'Content-Type': 'application/octet-stream' } })
  t.equal(put.status, 204, 'an image to download')
  const random = prng(SEED + 1)
  const g = generators(random)
  const number = (): string => g.pick([String(g.int(data.length * 2)), '0', '-1', String(data.length - 1), String(data.length), '99999999999999999999', '', ' 5', 'x', '1e3', '0x10'])
  const rangeSpec = (): string => g.pick([
    () => `bytes=${number()}-${number()}`, () => `bytes=-${number()}`, () => `bytes=${number()}-`,
    () => `bytes=${number()}-${number()},${number()}-${number()}`, () => `bytes ${number()}-${number()}/${number()}`,
    () => `items=${number()}-${number()}`, () => g.text().slice(0, 100), () => 'bytes=', () => 'bytes=-', () => `BYTES = ${number()} - ${number()}`
  ])()
  // header values must be printable ASCII, or fetch refuses to send them (see below)
  const headerValue = (): string => g.text().slice(0, g.chance(0.9) ? 200 : 4000)
  const statuses = new Map<number, number>()
  const failures: string[] = []
  const count = Math.max(50, Math.floor(REQUESTS / 2))
  const started = Date.now()
  let n = 0
  while (n < count && Date.now() - started < HEADERS_BUDGET_MS) {
    n++
    const headers: Record<string, string> = {}
    if (g.chance(0.7)) headers.Range = rangeSpec()
    if (g.chance(0.2)) headers['Content-Range'] = `bytes ${rangeSpec().replace(/^bytes=/, '')}`
    for (const name of ['Accept', 'X-Image-Meta-Store', 'X-Openstack-Request-Id', 'X-Roles', 'X-Project-Id', 'X-Identity-Status', 'Accept-Encoding', 'If-None-Match']) {
      if (g.chance(0.1)) headers[name] = headerValue()
    }
    for (const name in headers) headers[name] = headers[name].replace(/[^\x20-\x7e]/g, '')
    const path = g.chance(0.9) ? `/v2/images/${image.id}/file` : `/v2/images/${image.id}`
    let reply: Response
    try {
      reply = await fetch(glint.url + path, { headers, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })
    } catch (err) {
      failures.push(`#${n} ${JSON.stringify(headers).slice(0, 300)}: ${(err as Error).message}`)
      continue
    }
    const body = Buffer.from(await reply.arrayBuffer())
    statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1)
    if (reply.status >= 500) failures.push(`#${n} ${JSON.stringify(headers).slice(0, 300)} -> ${reply.status}`)
    if (reply.status === 206) {
      const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(reply.headers.get('content-range') ?? '')
      if (m === null || !body.equals(data.subarray(Number(m[1]), Number(m[2]) + 1)) || Number(m[3]) !== data.length) {
        failures.push(`#${n} ${JSON.stringify(headers)} -> 206 ${reply.headers.get('content-range')} with ${body.length} bytes that do not match`)
      }
    }
    if (reply.status === 200 && path.endsWith('/file') && !body.equals(data)) failures.push(`#${n} ${JSON.stringify(headers)} -> 200 with other bytes`)
  }
  const counts = [...statuses.entries()].sort(([a], [b]) => a - b).map(([s, c]) => `${s}: ${c}`).join(', ')
  const summary = `fuzz (headers and Range, seed ${SEED + 1}): ${n} requests sent; statuses ${counts}; ${failures.length} failures`
  t.comment(summary)
  console.log(summary)
  t.same(failures, [], 'no 5xx, every request answered, every range the right bytes')
}

t.test('fuzzing headers and Range on downloads', async (t) => {
  const glint = await startGlint({ database: 'postgres' })
  t.teardown(() => glint.stop())
  await fuzzHeaders(t, glint)
})

for (const database of ['postgres', 'embedded'] as const) {
  t.test(`fuzzing the JSON API (${database} registry)`, async (t) => {
    const glint = await startGlint({ database })
    t.teardown(() => glint.stop())
    await fuzz(t, glint, database)
  })
}
