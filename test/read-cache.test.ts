// The registry read cache (src/registry/read-cache.ts): show and list come from memory while
// the registry is unchanged, and a change made through another gateway over the same database
// is seen by the very next request. Two gateways over one PostgreSQL database: every read goes
// to B after a warm-up that filled B's cache, every change goes through A.

import t from 'tap'
import { createDatabase, startGlint, type Glint } from './helpers/glint.js'
import { TRUSTED_AUTH, admin, member } from './helpers/identities.js'

const OWNER = member('owner-project')
const ALICE = member('alice-project')
const ADMIN = admin()
/** Parallel requests: some arrive while another's round trip on the listener is under way. */
const SPREAD = 8

t.test('a change through one gateway is seen at once through the other', async (t) => {
  const db = await createDatabase()
  t.teardown(() => db.drop())
  const config = `[DEFAULT]\n${TRUSTED_AUTH}`
  const a: Glint = await startGlint({ config, databaseUrl: db.url })
  const b: Glint = await startGlint({ config, databaseUrl: db.url })
  t.teardown(async () => { await a.stop(); await b.stop() })

  /** The same GET through B on SPREAD connections at once: every answer, status and JSON. */
  const throughB = async (path: string, who: Record<string, string>): Promise<Array<{ status: number, json: any }>> =>
    await Promise.all(Array.from({ length: SPREAD }, async () => {
      const res = await fetch(b.url + path, { headers: { Accept: 'application/json', Connection: 'close', ...who } })
      const text = await res.text()
      return { status: res.status, json: text === '' ? undefined : JSON.parse(text) }
    }))
  const warm = async (path: string, who: Record<string, string>): Promise<void> => { for (let i = 0; i < 3; i++) await throughB(path, who) }
  const create = async (fields: Record<string, unknown>, who = OWNER): Promise<string> => {
    const r = await a.request('POST', '/v2/images', { json: { disk_format: 'raw', container_format: 'bare', ...fields }, headers: who })
    if (r.status !== 201) throw new Error(`create: ${r.status} ${r.text}`)
    return r.json.id
  }
  const patch = async (id: string, ops: unknown[], who = OWNER) => await a.request('PATCH', `/v2/images/${id}`,
    { body: JSON.stringify(ops), headers: { ...who, 'Content-Type': 'application/openstack-images-v2.1-json-patch' } })

  t.test('show: an update', async (t) => {
    const id = await create({ name: 'before' })
    await warm(`/v2/images/${id}`, OWNER)
    t.equal((await patch(id, [{ op: 'replace', path: '/name', value: 'after' }])).status, 200)
    const seen = await throughB(`/v2/images/${id}`, OWNER)
    t.same(seen.map((r) => r.json.name), Array(SPREAD).fill('after'), 'every answer of B shows the new name')
  })

  t.test('show: a tag, an extra property', async (t) => {
    const id = await create({ name: 'tagged' })
    await warm(`/v2/images/${id}`, OWNER)
    t.equal((await a.request('PUT', `/v2/images/${id}/tags/fresh`, { headers: OWNER })).status, 204)
    t.same((await throughB(`/v2/images/${id}`, OWNER)).map((r) => r.json.tags), Array(SPREAD).fill(['fresh']))
    t.equal((await patch(id, [{ op: 'add', path: '/hw_disk_bus', value: 'scsi' }])).status, 200)
    t.same((await throughB(`/v2/images/${id}`, OWNER)).map((r) => r.json.hw_disk_bus), Array(SPREAD).fill('scsi'))
  })

  t.test('list: a new image, then its delete', async (t) => {
    const path = '/v2/images?limit=1000&sort=name:asc'
    await create({ name: 'listed-0' })
    await warm(path, OWNER)
    const id = await create({ name: 'listed-1' })
    for (const r of await throughB(path, OWNER)) t.ok(r.json.images.some((i: any) => i.id === id), 'the new image is listed')
    t.equal((await a.request('DELETE', `/v2/images/${id}`, { headers: OWNER })).status, 204)
    for (const r of await throughB(path, OWNER)) t.notOk(r.json.images.some((i: any) => i.id === id), 'the deleted image is not')
    t.same((await throughB(`/v2/images/${id}`, OWNER)).map((r) => r.status), Array(SPREAD).fill(404), 'and show says 404')
  })

  t.test('visibility: a membership, then its removal', async (t) => {
    const id = await create({ name: 'shared', visibility: 'shared' })
    await warm(`/v2/images/${id}`, ALICE)
    await warm('/v2/images?member_status=all', ALICE)
    t.same((await throughB(`/v2/images/${id}`, ALICE)).map((r) => r.status), Array(SPREAD).fill(404), 'not a member: 404')
    t.equal((await a.request('POST', `/v2/images/${id}/members`, { json: { member: 'alice-project' }, headers: OWNER })).status, 200)
    t.same((await throughB(`/v2/images/${id}`, ALICE)).map((r) => r.status), Array(SPREAD).fill(200), 'a member sees it at once')
    for (const r of await throughB('/v2/images?member_status=all', ALICE)) t.ok(r.json.images.some((i: any) => i.id === id), 'and lists it')
    t.equal((await a.request('DELETE', `/v2/images/${id}/members/alice-project`, { headers: OWNER })).status, 204)
    t.same((await throughB(`/v2/images/${id}`, ALICE)).map((r) => r.status), Array(SPREAD).fill(404), 'no longer a member: 404 again')
  })

  t.test('status: an admin deactivates an image', async (t) => {
    const id = await create({ name: 'to-deactivate' })
    // only an active image can be deactivated: give it data through A
    const up = await a.request('PUT', `/v2/images/${id}/file`, { body: Buffer.alloc(4096, 7), headers: { ...OWNER, 'Content-Type': 'application/octet-stream' } })
    t.equal(up.status, 204)
    await warm(`/v2/images/${id}`, OWNER)
    t.equal((await a.request('POST', `/v2/images/${id}/actions/deactivate`, { headers: ADMIN })).status, 204)
    t.same((await throughB(`/v2/images/${id}`, OWNER)).map((r) => r.json.status), Array(SPREAD).fill('deactivated'))
  })
})
