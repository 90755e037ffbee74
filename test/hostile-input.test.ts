// Input that once got a 500 or froze the server (issue 9, section 5), on PostgreSQL and on
// the embedded registry: NUL characters, integers past 4 bytes, long property values, deep
// nesting, list requests asking for a thousand filters, an empty project id, and a
// /healthcheck that tells the truth about the registry.

import t from 'tap'
import postgres from 'postgres'
import { createImage, startGlint, type Glint } from './helpers/glint.js'
import { TRUSTED_AUTH, admin, member } from './helpers/identities.js'

const PATCH = { 'Content-Type': 'application/openstack-images-v2.1-json-patch' }
const patch = async (glint: Glint, id: string, ops: unknown[]) => await glint.request('PATCH', `/v2/images/${id}`, { body: JSON.stringify(ops), headers: PATCH })
/** Random printable text of `n` characters (not compressible, several UTF-8 widths). */
function randomText (n: number, seed: number): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789 !#$%&()*+,-./:;<=>?@[]^_{|}~éßøΩжक中文😀'
  const chars = [...alphabet]
  let x = seed
  let out = ''
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2147483648
    out += chars[x % chars.length]
  }
  return out
}

for (const database of ['postgres', 'embedded'] as const) {
  t.test(`${database} registry`, async (t) => {
    const glint = await startGlint({ database })
    t.teardown(() => glint.stop())
    const image = await createImage(glint, { visibility: 'shared' })

    t.test('NUL in a name, property, tag or member is a 400 (or matches nothing), never a 500', async (t) => {
      const create = async (json: unknown) => await glint.request('POST', '/v2/images', { json })
      for (const [fields, message] of [
        [{ name: 'a\u0000b' }, /^Name can't contain the NUL character\./],
        [{ os_distro: 'x\u0000' }, /^Os_Distro can't contain the NUL character\./],
        [{ 'a\u0000b': 'x' }, /^Property names can't contain the NUL character\./],
        [{ tags: ['ok', 'a\u0000b'] }, /^Tags can't contain the NUL character\./]
      ] as const) {
        const reply = await create(fields)
        t.equal(reply.status, 400, JSON.stringify(fields))
        t.match(reply.json?.message, message)
      }
      const changed = await patch(glint, image.id, [{ op: 'add', path: '/x', value: 'a\u0000' }])
      t.equal(changed.status, 400, 'PATCH with a NUL value')
      t.equal((await patch(glint, image.id, [{ op: 'add', path: '/a\u0000b', value: 'x' }])).status, 400, 'PATCH of a NUL name')
      t.equal((await glint.request('PUT', `/v2/images/${image.id}/tags/a%00b`)).status, 400, 'PUT tag')
      t.equal((await glint.request('DELETE', `/v2/images/${image.id}/tags/a%00b`)).status, 404, 'DELETE tag')
      const added = await glint.request('POST', `/v2/images/${image.id}/members`, { json: { member: 'a\u0000b' } })
      t.equal(added.status, 400, 'add member')
      t.match(added.json?.message, /^Member can't contain the NUL character\./)
      for (const method of ['GET', 'DELETE']) t.equal((await glint.request(method, `/v2/images/${image.id}/members/a%00b`)).status, 404, `${method} member`)
      t.equal((await glint.request('PUT', `/v2/images/${image.id}/members/a%00b`, { json: { status: 'accepted' } })).status, 404, 'PUT member')
      for (const query of ['name=%00', 'name=in:a,%00', 'foo=%00', '%00=x', 'tag=%00', 'owner=a%00', 'os_hash_value=%00']) {
        const list = await glint.request('GET', `/v2/images?${query}`)
        t.equal(list.status, 200, query)
        t.same(list.json?.images, [], `${query} matches nothing`)
      }
      const after = await glint.request('GET', `/v2/images/${image.id}`)
      t.same([after.json.tags, after.json.x], [[], undefined], 'nothing was stored')
    })

    t.test('min_ram/min_disk of 2^31 or more: 400 on create and PATCH, a plain comparison as a filter', async (t) => {
      for (const field of ['min_ram', 'min_disk']) {
        const reply = await glint.request('POST', '/v2/images', { json: { [field]: 2 ** 31 } })
        t.equal(reply.status, 400, `create ${field}`)
        t.match(reply.json?.message, new RegExp(`^'${field}' value out of range, must not exceed 2147483647\\.`))
        t.equal((await patch(glint, image.id, [{ op: 'replace', path: `/${field}`, value: 3000000000 }])).status, 400, `PATCH ${field}`)
      }
      const largest = await createImage(glint, { min_ram: 2 ** 31 - 1 })
      t.equal(largest.min_ram, 2 ** 31 - 1, 'the largest 4-byte value is stored')
      const ids = async (query: string): Promise<string[]> => {
        const reply = await glint.request('GET', `/v2/images?${query}`)
        t.equal(reply.status, 200, query)
        return (reply.json?.images ?? []).map((i: any) => i.id)
      }
      t.same(await ids('min_disk=3000000000'), [], 'equal to nothing')
      t.same(await ids('min_disk_min=3000000000'), [], 'nothing as large')
      t.ok((await ids('min_ram_max=3000000000')).includes(largest.id), 'everything smaller')
      t.same(await ids('min_ram=2147483647'), [largest.id])
    })

    t.test('a property value of 65,535 characters is stored; a longer one is refused', async (t) => {
      const value = randomText(65535, 7)
      const created = await glint.request('POST', '/v2/images', { json: { long_value: value } })
      t.equal(created.status, 201)
      t.equal(created.json?.long_value, value)
      const changed = await patch(glint, image.id, [{ op: 'add', path: '/long_value', value: randomText(65535, 8) }])
      t.equal(changed.status, 200, 'and by PATCH')
      const findable = 'v'.repeat(3000)
      const other = await createImage(glint, { long_value: findable })
      const found = await glint.request('GET', `/v2/images?long_value=${findable}`)
      t.same(found.json?.images.map((i: any) => i.id), [other.id], 'a value past the old index limit is found by a filter')
      const tooLong = await glint.request('POST', '/v2/images', { json: { long_value: value + 'x' } })
      t.equal(tooLong.status, 400)
      t.match(tooLong.json?.message, /longer than 65535 characters/)
    })

    t.test('a value nested 5,000 levels deep is refused cleanly', async (t) => {
      const deep = '['.repeat(5000) + ']'.repeat(5000)
      const created = await glint.request('POST', '/v2/images', { body: `{"name": "x", "deep": ${deep}}`, headers: { 'Content-Type': 'application/json' } })
      t.equal(created.status, 400, 'create')
      t.match(created.json?.message, /nested deeper than/)
      const changed = await glint.request('PATCH', `/v2/images/${image.id}`, { body: `[{"op": "add", "path": "/deep", "value": ${deep}}]`, headers: PATCH })
      t.equal(changed.status, 400, 'PATCH')
      const member = await glint.request('POST', `/v2/images/${image.id}/members`, { body: `{"member": ${deep}}`, headers: { 'Content-Type': 'application/json' } })
      t.equal(member.status, 400, 'members')
      // brackets inside strings are text, not depth
      const text = await glint.request('POST', '/v2/images', { json: { name: 'x', brackets: '['.repeat(5000) } })
      t.equal(text.status, 201, 'brackets in a string are fine')
    })

    t.test('1,000 property filters or 500 tags: a prompt 400, the server serving throughout', async (t) => {
      const many = Array.from({ length: 1000 }, (_, i) => `p${i}=v`).join('&')
      const tags = Array.from({ length: 500 }, (_, i) => `tag=t${i}`).join('&')
      const replies = await Promise.all([
        glint.request('GET', `/v2/images?${many}`),
        glint.request('GET', `/v2/images?${tags}`),
        glint.request('GET', '/healthcheck'),
        glint.request('GET', `/v2/images/${image.id}`)
      ])
      t.same(replies.map((r) => r.status), [400, 400, 200, 200])
      t.match(replies[0].json?.message, /^Too many filters: 1000 given, at most 32 are accepted/)
      const inList = Array.from({ length: 300 }, (_, i) => `n${i}`).join(',')
      t.equal((await glint.request('GET', `/v2/images?name=in:${inList}`)).status, 400, 'a 300-value in: list')
      // the most a request may ask for is answered
      const most = Array.from({ length: 16 }, (_, i) => `p${i}=v`).concat(Array.from({ length: 16 }, (_, i) => `tag=t${i}`)).join('&')
      const sort = 'sort=name:asc,status,size,id,created_at,updated_at,disk_format,container_format,name,status'
      const answered = await glint.request('GET', `/v2/images?${most}&${sort}&marker=${image.id}`)
      t.equal(answered.status, 200, '32 filters, every sort key, a marker')
      t.same(answered.json.images, [])
    })

    t.test('tag and property filters together select exactly the images holding all of them', async (t) => {
      const both = await createImage(glint, { tags: ['red', 'blue'], color: 'red', size_class: 'xl' })
      await createImage(glint, { tags: ['red'], color: 'red', size_class: 'xl' })
      await createImage(glint, { tags: ['red', 'blue'], color: 'blue', size_class: 'xl' })
      const ids = async (query: string) => (await glint.request('GET', `/v2/images?${query}`)).json.images.map((i: any) => i.id)
      t.same(await ids('tag=red&tag=blue&color=red&size_class=xl'), [both.id])
      t.same(await ids('tag=red&tag=red&tag=blue&color=red'), [both.id], 'a repeated tag counts once')
      t.same(await ids('tag=red&tag=blue&color=red&size_class=s'), [])
    })
  })
}

t.test('/healthcheck fails when the registry does not answer, and recovers', async (t) => {
  const glint = await startGlint({ database: 'postgres' })
  t.teardown(() => glint.stop())
  t.equal((await glint.request('GET', '/healthcheck')).status, 200)
  // Stop the database from accepting Glint's queries: terminate its connections and refuse new ones.
  const admin = postgres(glint.databaseUrl!.replace(/\/[^/]*$/, '/postgres'), { max: 1, onnotice: () => {} })
  t.teardown(() => admin.end())
  const name = glint.databaseUrl!.split('/').pop()!
  await admin.unsafe(`alter database ${name} allow_connections false`)
  await admin`select pg_terminate_backend(pid) from pg_stat_activity where datname = ${name}`
  const down = await glint.request('GET', '/healthcheck')
  t.equal(down.status, 503, 'unhealthy while the registry is unreachable')
  t.equal(down.text, 'Registry unavailable')
  await admin.unsafe(`alter database ${name} allow_connections true`)
  let status = 0
  for (let i = 0; i < 50 && status !== 200; i++) {
    status = (await glint.request('GET', '/healthcheck')).status
    if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 200))
  }
  t.equal(status, 200, 'healthy again once it answers')
})

t.test('a statement past [database] query_timeout is cancelled: 503, and the server goes on', async (t) => {
  const glint = await startGlint({ database: 'postgres', config: '[database]\nquery_timeout = 1\n' })
  t.teardown(() => glint.stop())
  const image = await createImage(glint)
  // Another session holds the image's row lock, so the tag write waits on it.
  const other = postgres(glint.databaseUrl!, { max: 1, onnotice: () => {} })
  t.teardown(() => other.end())
  let release!: () => void
  const released = new Promise<void>((resolve) => { release = resolve })
  let locked!: () => void
  const isLocked = new Promise<void>((resolve) => { locked = resolve })
  const holder = other.begin(async (tx) => {
    await tx`select id from images where id = ${image.id} for update`
    locked()
    await released
  })
  await isLocked
  const waited = await glint.request('PUT', `/v2/images/${image.id}/tags/blocked`)
  release()
  await holder
  t.equal(waited.status, 503)
  t.match(waited.json?.message, /^The image registry did not answer in time/)
  t.equal((await glint.request('PUT', `/v2/images/${image.id}/tags/free`)).status, 204, 'the next request is served')
})

t.test('trusted headers: an empty X-Project-Id is no identity', async (t) => {
  const glint = await startGlint({ config: TRUSTED_AUTH })
  t.teardown(() => glint.stop())
  const nobody = { ...member(''), 'X-Project-Id': '' }
  const created = await glint.request('POST', '/v2/images', { json: { name: 'x' }, headers: nobody })
  t.equal(created.status, 403, 'no project: no image of its own')
  const blank = await glint.request('POST', '/v2/images', { json: { name: 'x' }, headers: { ...nobody, 'X-Project-Id': '  ' } })
  t.equal(blank.status, 403, 'nor with a blank one')
  const owned = await createImage(glint, { visibility: 'public', owner: 'p1' }, admin())
  const changed = await patch(glint, owned.id, [{ op: 'replace', path: '/name', value: 'y' }])
  t.equal(changed.status, 401, 'sanity: without headers nothing')
  const other = await glint.request('PATCH', `/v2/images/${owned.id}`, { body: JSON.stringify([{ op: 'replace', path: '/name', value: 'y' }]), headers: { ...PATCH, ...nobody } })
  t.equal(other.status, 403, 'and no right to change what others own')
  const list = await glint.request('GET', '/v2/images', { headers: nobody })
  t.equal(list.status, 200, 'public images are still listed')
  t.same(list.json.images.map((i: any) => i.id), [owned.id])
})
