// Single-tag routes and deactivate/reactivate (glance-v2.md sections 1.1, 1.3, 1.11, 4.4) on
// both registries: answers, idempotency, quotas, who may, and that refusals change nothing.

import t from 'tap'
import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { createImage, startGlint, type Glint, type Reply } from './helpers/glint.js'
import { TRUSTED_AUTH, admin, member } from './helpers/identities.js'

const P1 = member('p1')
const P2 = member('p2')
const ADMIN = admin()

async function show (glint: Glint, id: string): Promise<any> {
  return (await glint.request('GET', `/v2/images/${id}`, { headers: ADMIN })).json
}

function tag (glint: Glint, method: 'PUT' | 'DELETE', id: string, value: string, as = P1): Promise<Reply> {
  return glint.request(method, `/v2/images/${id}/tags/${encodeURIComponent(value)}`, { headers: as })
}

function action (glint: Glint, id: string, name: 'deactivate' | 'reactivate', as = P1): Promise<Reply> {
  return glint.request('POST', `/v2/images/${id}/actions/${name}`, { headers: as })
}

async function uploaded (glint: Glint, fields: Record<string, unknown>, data: Buffer): Promise<any> {
  const image = await createImage(glint, fields, P1)
  const reply = await glint.request('PUT', `/v2/images/${image.id}/file`, { body: data, headers: { 'Content-Type': 'application/octet-stream', ...P1 } })
  if (reply.status !== 204) throw new Error(`upload failed: ${reply.status} ${reply.text}`)
  return await show(glint, image.id)
}

for (const database of ['embedded', 'postgres'] as const) {
  t.test(`tags and actions on ${database} registry`, async (t) => {
    const glint = await startGlint({ database, config: TRUSTED_AUTH })
    t.teardown(() => glint.stop())

    // updated_at has second precision: saves after this pause show as updated_at > created_at
    const tagged = await createImage(glint, { name: 'tagged', tags: ['old'], visibility: 'community' }, P1)
    const untouched = await createImage(glint, { name: 'untouched', tags: ['keep'], visibility: 'community' }, P1)
    const data = Buffer.from('bytes of a tiny image')
    const active = await uploaded(glint, { name: 'active', visibility: 'community' }, data)
    await sleep(1100)

    t.test('PUT tag: 204, idempotent, a save of the image', async (t) => {
      const reply = await tag(glint, 'PUT', tagged.id, 'new')
      t.equal(reply.status, 204)
      t.equal(reply.text, '')
      const image = await show(glint, tagged.id)
      t.same(image.tags.slice().sort(), ['new', 'old'])
      t.ok(image.updated_at > image.created_at, 'updated_at moved')
      t.equal((await tag(glint, 'PUT', tagged.id, 'new')).status, 204, 'again')
      t.same((await show(glint, tagged.id)).tags.slice().sort(), ['new', 'old'], 'still once')
      t.equal((await tag(glint, 'PUT', tagged.id, 'with space ✓')).status, 204)
      t.ok((await show(glint, tagged.id)).tags.includes('with space ✓'), 'the tag is the decoded path segment')
      t.equal((await tag(glint, 'PUT', tagged.id, 'x'.repeat(255))).status, 204, '255 characters are allowed')
    })

    t.test('DELETE tag: 204; an unknown tag is 404', async (t) => {
      t.equal((await tag(glint, 'DELETE', tagged.id, 'new')).status, 204)
      t.notOk((await show(glint, tagged.id)).tags.includes('new'))
      const again = await tag(glint, 'DELETE', tagged.id, 'new')
      t.equal(again.status, 404)
      t.match(again.json.message, /^Tag new not found\./)
      t.ok((await show(glint, tagged.id)).tags.includes('old'), 'other tags stay')
    })

    t.test('refusals change nothing: 400 too long, 404 image, 403 not owner', async (t) => {
      const before = await show(glint, untouched.id)
      const long = await tag(glint, 'PUT', untouched.id, 'x'.repeat(256))
      t.equal(long.status, 400)
      t.match(long.json.message, /^Provided object does not match schema 'image': [^]*is too long[^]*\['tags'\]/)
      for (const method of ['PUT', 'DELETE'] as const) {
        const foreign = await tag(glint, method, untouched.id, 'keep', P2)
        t.equal(foreign.status, 403, `${method} by another project`)
        t.match(foreign.json.message, /^You do not own this image/)
        t.equal((await tag(glint, method, randomUUID(), 'keep')).status, 404, `${method} on an unknown image`)
        t.equal((await tag(glint, method, 'not-a-uuid', 'keep')).status, 404, `${method} on a malformed id`)
      }
      const privateImage = await createImage(glint, { name: 'private', visibility: 'private' }, P1)
      t.equal((await tag(glint, 'PUT', privateImage.id, 'x', P2)).status, 404, 'an image the caller cannot see is 404')
      t.same(await show(glint, untouched.id), before, 'untouched is unchanged (updated_at too)')
      t.equal((await tag(glint, 'PUT', untouched.id, 'by-admin', ADMIN)).status, 204, 'an admin may')
    })

    t.test('tag quota: 413 past 128, and a tag already there still answers 204', async (t) => {
      const tags = Array.from({ length: 128 }, (_, i) => `t${i}`)
      const full = await createImage(glint, { name: 'full', tags }, P1)
      const before = await show(glint, full.id)
      const over = await tag(glint, 'PUT', full.id, 'one-more')
      t.equal(over.status, 413)
      t.match(over.json.message, /number of allowed image tags\. Attempted: 129, Maximum: 128/)
      t.same(await show(glint, full.id), before, 'nothing changed')
      t.equal((await tag(glint, 'PUT', full.id, 't5')).status, 204)
      t.equal((await tag(glint, 'DELETE', full.id, 't5')).status, 204)
      t.equal((await tag(glint, 'PUT', full.id, 'one-more')).status, 204, 'room again after a delete')
      t.equal((await show(glint, full.id)).tags.length, 128)
    })

    t.test('deleted images: 404 for tags', async (t) => {
      const doomed = await createImage(glint, { name: 'doomed', tags: ['a'] }, P1)
      t.equal((await glint.request('DELETE', `/v2/images/${doomed.id}`, { headers: P1 })).status, 204)
      t.equal((await tag(glint, 'PUT', doomed.id, 'b')).status, 404)
      t.equal((await tag(glint, 'DELETE', doomed.id, 'a')).status, 404)
    })

    t.test('deactivate/reactivate: only from active/deactivated, each idempotent', async (t) => {
      const queued = await createImage(glint, { name: 'queued' }, P1)
      for (const name of ['deactivate', 'reactivate'] as const) {
        const reply = await action(glint, queued.id, name)
        t.equal(reply.status, 403, `${name} a queued image`)
        t.match(reply.json.message, new RegExp(`^Not allowed to ${name} image in status 'queued'`))
      }
      t.equal((await show(glint, queued.id)).status, 'queued')

      t.equal((await action(glint, active.id, 'reactivate')).status, 204, 'reactivating an active image is a no-op')
      t.equal((await show(glint, active.id)).updated_at, active.updated_at, 'the no-op saved nothing')
      const reply = await action(glint, active.id, 'deactivate')
      t.equal(reply.status, 204)
      t.equal(reply.text, '')
      const deactivated = await show(glint, active.id)
      t.equal(deactivated.status, 'deactivated')
      t.ok(deactivated.updated_at > active.updated_at, 'updated_at moved')
      t.equal((await action(glint, active.id, 'deactivate')).status, 204, 'deactivating again is a no-op')
      t.equal((await show(glint, active.id)).status, 'deactivated')
    })

    t.test('a deactivated image: data is 403 for everyone but admins; still listed and shown', async (t) => {
      for (const as of [P1, P2]) {
        const download = await glint.request('GET', `/v2/images/${active.id}/file`, { headers: as })
        t.equal(download.status, 403)
        t.match(download.json.message, /^The requested image has been deactivated\. Image data download is forbidden\./)
      }
      const byAdmin = await glint.request('GET', `/v2/images/${active.id}/file`, { headers: ADMIN })
      t.equal(byAdmin.status, 200)
      t.equal(byAdmin.text, data.toString())
      t.equal((await glint.request('GET', `/v2/images/${active.id}`, { headers: P2 })).json.status, 'deactivated')
    })

    t.test('actions: owner or admin; invisible or unknown images are 404', async (t) => {
      for (const name of ['deactivate', 'reactivate'] as const) {
        const foreign = await action(glint, active.id, name, P2)
        t.equal(foreign.status, 403, `${name} by another project`)
        t.match(foreign.json.message, /^You do not own this image/)
        t.equal((await action(glint, randomUUID(), name)).status, 404)
        t.equal((await action(glint, 'not-a-uuid', name)).status, 404)
      }
      t.equal((await show(glint, active.id)).status, 'deactivated', 'refusals changed nothing')
      const hidden = await uploaded(glint, { name: 'hidden', visibility: 'private' }, data)
      t.equal((await action(glint, hidden.id, 'deactivate', P2)).status, 404)
      t.equal((await show(glint, hidden.id)).status, 'active')
      t.equal((await action(glint, hidden.id, 'deactivate', ADMIN)).status, 204, 'an admin may')
      t.equal((await action(glint, hidden.id, 'reactivate', ADMIN)).status, 204)
      t.equal((await glint.request('GET', `/v2/images/${active.id}/actions/deactivate`, { headers: P1 })).status, 405)
    })

    t.test('reactivate: data is served again', async (t) => {
      t.equal((await action(glint, active.id, 'reactivate')).status, 204)
      t.equal((await show(glint, active.id)).status, 'active')
      const download = await glint.request('GET', `/v2/images/${active.id}/file`, { headers: P2 })
      t.equal(download.status, 200)
      t.equal(download.text, data.toString())
      t.equal((await action(glint, active.id, 'reactivate')).status, 204, 'reactivating again is a no-op')
    })
  })
}
