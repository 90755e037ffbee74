// POST /v2/images and the image as Glance shows it (glance-v2.md sections 1.2, 1.4, 1.7) on
// both registries: every field and default, and every refusal, each checked to create nothing.

import t, { type Test } from 'tap'
import { randomUUID } from 'node:crypto'
import { startGlint, type Glint, type Reply } from './helpers/glint.js'
import { TRUSTED_AUTH, admin, member } from './helpers/identities.js'

const P1 = member('p1')
const ADMIN = admin()

/** Every key Glance puts in an image on create/show when no locations are shown. */
const IMAGE_KEYS = ['checksum', 'container_format', 'created_at', 'disk_format', 'file', 'id', 'min_disk', 'min_ram', 'name',
  'os_hash_algo', 'os_hash_value', 'os_hidden', 'owner', 'protected', 'schema', 'self', 'size', 'status', 'tags', 'updated_at',
  'virtual_size', 'visibility']
const ISO_SECONDS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/

function create (glint: Glint, body: unknown, as = P1): Promise<Reply> {
  return glint.request('POST', '/v2/images', { json: body, headers: as })
}

async function status (glint: Glint, id: string): Promise<number> {
  return (await glint.request('GET', `/v2/images/${id}`, { headers: ADMIN })).status
}

async function imageCount (glint: Glint): Promise<number> {
  const visible = await glint.request('GET', '/v2/images?limit=1000', { headers: ADMIN })
  const hidden = await glint.request('GET', '/v2/images?limit=1000&os_hidden=true', { headers: ADMIN })
  return visible.json.images.length + hidden.json.images.length
}

/** A create that must fail with `status`/`message`; it carries a fresh id, which must not exist after. */
async function refused (t: Test, glint: Glint, fields: Record<string, unknown>, code: number, message: RegExp, as = P1): Promise<void> {
  const id = randomUUID()
  const label = JSON.stringify(fields).slice(0, 120)
  const reply = await create(glint, { id, name: 'refused', ...fields }, as)
  t.equal(reply.status, code, label)
  t.match(reply.json?.message, message, label)
  t.equal(await status(glint, id), 404, `${label}: nothing created`)
}

for (const database of ['embedded', 'postgres'] as const) {
  t.test(`POST /v2/images on ${database} registry`, async (t) => {
    const glint = await startGlint({ database, config: TRUSTED_AUTH })
    t.teardown(() => glint.stop())

    t.test('an empty body: every field of section 1.2, with Glance\'s defaults; 201 + Location + store ids', async (t) => {
      const reply = await create(glint, {})
      t.equal(reply.status, 201)
      const image = reply.json
      t.same(Object.keys(image).sort(), IMAGE_KEYS, 'exactly the always-present keys (no locations, direct_url or stores)')
      t.match(image.id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
      t.same(image, {
        id: image.id,
        name: null,
        status: 'queued',
        visibility: 'shared',
        size: null,
        virtual_size: null,
        checksum: null,
        protected: false,
        min_ram: 0,
        min_disk: 0,
        owner: 'p1',
        os_hidden: false,
        os_hash_algo: null,
        os_hash_value: null,
        disk_format: null,
        container_format: null,
        created_at: image.created_at,
        updated_at: image.created_at,
        tags: [],
        self: `/v2/images/${image.id}`,
        file: `/v2/images/${image.id}/file`,
        schema: '/v2/schemas/image'
      })
      t.match(image.created_at, ISO_SECONDS)
      t.equal(reply.headers.get('location'), `${glint.url}/v2/images/${image.id}`, 'absolute Location')
      t.match(reply.headers.get('openstack-image-store-ids'), /^[\w-]+(,[\w-]+)*$/)
      t.match(reply.headers.get('content-type'), /^application\/json/)
      const shown = await glint.request('GET', `/v2/images/${image.id}`, { headers: P1 })
      t.equal(shown.status, 200)
      t.same(shown.json, image, 'GET shows what create answered')
    })

    t.test('every writable field is kept as given', async (t) => {
      const id = randomUUID()
      const fields = {
        id,
        name: 'everything',
        visibility: 'private',
        protected: true,
        os_hidden: true,
        tags: ['b', 'a', 'b'],
        disk_format: 'qcow2',
        container_format: 'bare',
        min_disk: 10,
        min_ram: 1024,
        owner: 'p1',
        kernel_id: randomUUID(),
        os_distro: 'debian',
        description: 'ünïcode ✓',
        'x/with~odd chars': 'ok'
      }
      const reply = await create(glint, fields)
      t.equal(reply.status, 201)
      const { tags, ...rest } = fields
      t.match(reply.json, rest)
      t.same(reply.json.tags.slice().sort(), ['a', 'b'], 'tags are a set')
      t.equal(reply.json.id, id)
      t.same((await glint.request('GET', `/v2/images/${id}`, { headers: P1 })).json, reply.json)
      // protected: delete is refused until protection is lifted
      const del = await glint.request('DELETE', `/v2/images/${id}`, { headers: P1 })
      t.equal(del.status, 403)
      t.match(del.json.message, new RegExp(`^Image ${id} is protected and cannot be deleted\\.`))
      t.equal(await status(glint, id), 200, 'still there')
    })

    t.test('null kernel_id/ramdisk_id (as Nova snapshots send them) are accepted and mean "not set"', async (t) => {
      const reply = await create(glint, { name: 'snapshot', kernel_id: null, ramdisk_id: null })
      t.equal(reply.status, 201)
      t.equal(reply.json.kernel_id ?? null, null)
      t.equal(reply.json.ramdisk_id ?? null, null)
      t.same((await glint.request('GET', `/v2/images/${reply.json.id}`, { headers: P1 })).json, reply.json)
    })

    t.test('a given id: a duplicate is 409, also of a deleted image; a non-UUID is 400', async (t) => {
      const id = randomUUID()
      t.equal((await create(glint, { id, name: 'first' })).status, 201)
      const again = await create(glint, { id, name: 'second' })
      t.equal(again.status, 409)
      t.match(again.json.message, new RegExp(`^An image with identifier ${id} already exists`))
      t.equal((await glint.request('GET', `/v2/images/${id}`, { headers: P1 })).json.name, 'first', 'the first is untouched')
      t.equal((await glint.request('DELETE', `/v2/images/${id}`, { headers: P1 })).status, 204)
      t.equal((await create(glint, { id, name: 'third' })).status, 409, 'ids are never reused')
      t.equal(await status(glint, id), 404)

      for (const bad of ['not-a-uuid', '12345678-1234-1234-1234-12345678901', 42, null]) {
        const before = await imageCount(glint)
        const reply = await create(glint, { id: bad, name: 'bad id' })
        t.equal(reply.status, 400, `id ${JSON.stringify(bad)}`)
        t.match(reply.json.message, /^Provided object does not match schema 'image': [^]*\['id'\]/)
        t.equal(await imageCount(glint), before, 'nothing created')
      }
    })

    t.test('read-only and reserved attributes: 403 each', async (t) => {
      for (const name of ['status', 'checksum', 'size', 'virtual_size', 'created_at', 'updated_at', 'os_hash_algo', 'os_hash_value',
        'direct_url', 'self', 'file', 'schema', 'stores']) {
        await refused(t, glint, { [name]: 'x' }, 403, new RegExp(`^Attribute '${name}' is read-only\\.`))
      }
      for (const name of ['location', 'locations', 'deleted', 'deleted_at', 'os_glance_foo', 'os_glance_import_task']) {
        await refused(t, glint, { [name]: 'x' }, 403, new RegExp(`^Attribute '${name}' is reserved\\.`))
      }
    })

    t.test('values the schema refuses: 400 naming the field', async (t) => {
      const cases: Array<[string, unknown]> = [
        ['min_ram', 'x'], ['min_disk', '1'], ['name', 42], ['name', 'n'.repeat(256)], ['visibility', 'x'], ['disk_format', 'foo'],
        ['container_format', 'foo'], ['protected', 'yes'], ['os_hidden', 'no'], ['tags', 'a'], ['tags', ['t'.repeat(256)]],
        ['owner', 42], ['kernel_id', 'abc'], ['min_disk', -1], ['min_ram', -5], ['color', 42], ['color', true], ['color', null],
        ['color', { nested: 'x' }]
      ]
      for (const [name, value] of cases) {
        await refused(t, glint, { [name]: value }, 400, new RegExp(`^Provided object does not match schema 'image': [^]*\\['${name}'\\]`))
      }
      await refused(t, glint, { ['k'.repeat(256)]: 'v' }, 400, /longer than 255 characters/)
    })

    t.test('quotas: more than 128 extra properties or tags is 413; 128 is fine', async (t) => {
      const props = (n: number): Record<string, string> => Object.fromEntries(Array.from({ length: n }, (_, i) => [`p${i}`, 'v']))
      const tags = (n: number): string[] => Array.from({ length: n }, (_, i) => `t${i}`)
      await refused(t, glint, props(129), 413, /number of allowed image properties\. Attempted: 129, Maximum: 128/)
      await refused(t, glint, { tags: tags(129) }, 413, /number of allowed image tags\. Attempted: 129, Maximum: 128/)
      const full = await create(glint, { ...props(128), tags: [...tags(128), 't0'] })
      t.equal(full.status, 201, 'exactly at both quotas (a repeated tag counts once)')
      t.equal(full.json.tags.length, 128)
    })

    t.test('visibility and ownership: publicize is admin-only, a foreign owner too', async (t) => {
      await refused(t, glint, { visibility: 'public' }, 403, /^You are not authorized to complete publicize_image action\./)
      await refused(t, glint, { owner: 'p2' }, 403, /^You are not permitted to create images owned by 'p2'\./)
      for (const visibility of ['private', 'shared', 'community']) {
        const reply = await create(glint, { visibility })
        t.equal(reply.status, 201, visibility)
        t.equal(reply.json.visibility, visibility)
      }
      const byAdmin = await create(glint, { visibility: 'public', owner: 'p2' }, ADMIN)
      t.equal(byAdmin.status, 201)
      t.match(byAdmin.json, { visibility: 'public', owner: 'p2' })
      t.equal((await create(glint, {}, ADMIN)).json.owner, 'admin-project', 'the owner defaults to the caller\'s project')
    })

    t.test('protected images: 403 on delete until unprotected; deleted images are 404 everywhere', async (t) => {
      const image = (await create(glint, { name: 'guarded', protected: true })).json
      const refusedDelete = await glint.request('DELETE', `/v2/images/${image.id}`, { headers: ADMIN })
      t.equal(refusedDelete.status, 403, 'even for an admin')
      t.equal(await status(glint, image.id), 200)
      const unprotect = await glint.request('PATCH', `/v2/images/${image.id}`, {
        body: JSON.stringify([{ op: 'replace', path: '/protected', value: false }]),
        headers: { 'Content-Type': 'application/openstack-images-v2.1-json-patch', ...P1 }
      })
      t.equal(unprotect.status, 200)
      t.equal((await glint.request('DELETE', `/v2/images/${image.id}`, { headers: P1 })).status, 204)
      for (const as of [P1, ADMIN]) {
        const get = await glint.request('GET', `/v2/images/${image.id}`, { headers: as })
        t.equal(get.status, 404)
        t.match(get.json.message, new RegExp(`^No image found with ID ${image.id}`))
        t.equal((await glint.request('DELETE', `/v2/images/${image.id}`, { headers: as })).status, 404)
      }
    })

    t.test('delete: owner or admin only', async (t) => {
      const image = (await create(glint, { name: 'community', visibility: 'community' })).json
      const other = await glint.request('DELETE', `/v2/images/${image.id}`, { headers: member('p2') })
      t.equal(other.status, 403)
      t.match(other.json.message, /^You do not own this image/)
      t.equal(await status(glint, image.id), 200)
      const hidden = (await create(glint, { name: 'private', visibility: 'private' })).json
      t.equal((await glint.request('DELETE', `/v2/images/${hidden.id}`, { headers: member('p2') })).status, 404, 'invisible: 404, not 403')
      t.equal((await glint.request('DELETE', `/v2/images/${image.id}`, { headers: ADMIN })).status, 204)
    })
  })
}
