// PATCH /v2/images/{id} (glance-v2.md section 1.6) on both registries: both patch media
// types, every operation, every refusal, and that a refused patch changes nothing.

import t, { type Test } from 'tap'
import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { createImage, rawHttp, startGlint, type Glint, type Reply } from './helpers/glint.js'
import { TRUSTED_AUTH, admin, member } from './helpers/identities.js'

const V21 = 'application/openstack-images-v2.1-json-patch'
const V20 = 'application/openstack-images-v2.0-json-patch'
const P1 = member('p1')
const P2 = member('p2')
const ADMIN = admin()

interface PatchOptions { type?: string, as?: Record<string, string> }

function patch (glint: Glint, id: string, ops: unknown, opts: PatchOptions = {}): Promise<Reply> {
  return glint.request('PATCH', `/v2/images/${id}`, {
    body: typeof ops === 'string' ? ops : JSON.stringify(ops),
    headers: { 'Content-Type': opts.type ?? V21, ...(opts.as ?? P1) }
  })
}

async function show (glint: Glint, id: string): Promise<any> {
  const reply = await glint.request('GET', `/v2/images/${id}`, { headers: ADMIN })
  return reply.status === 200 ? reply.json : reply.status
}

/** A patch that must fail with `status` and a message matching `message`, leaving the image as it was. */
async function refused (t: Test, glint: Glint, id: string, ops: unknown, status: number, message: RegExp, opts: PatchOptions = {}): Promise<Reply> {
  const label = `${opts.type === V20 ? 'v2.0 ' : ''}${typeof ops === 'string' ? ops : JSON.stringify(ops)}`.slice(0, 160)
  const before = await show(glint, id)
  const reply = await patch(glint, id, ops, opts)
  t.equal(reply.status, status, label)
  t.match(reply.json?.message, message, label)
  t.same(await show(glint, id), before, `${label}: image unchanged`)
  return reply
}

for (const database of ['embedded', 'postgres'] as const) {
  t.test(`PATCH /v2/images/{id} on ${database} registry`, async (t) => {
    const glint = await startGlint({ database, config: TRUSTED_AUTH })
    t.teardown(() => glint.stop())

    // Images created before a pause of one second: updated_at has second precision, so any
    // save made after the pause shows as updated_at > created_at.
    const untouched = await createImage(glint, { name: 'untouched', color: 'red', tags: ['a', 'b'] }, P1)
    const edited = await createImage(glint, { name: 'edited', color: 'red' }, P1)
    const drafted = await createImage(glint, { name: 'draft4' }, P1)
    const community = await createImage(glint, { name: 'community', visibility: 'community' }, P1)
    await sleep(1100)

    t.test('v2.1: replace, add (creates or overwrites), remove; one save, full image back', async (t) => {
      const reply = await patch(glint, edited.id, [
        { op: 'replace', path: '/name', value: 'renamed' },
        { op: 'add', path: '/flavor', value: 'vanilla' },
        { op: 'add', path: '/color', value: 'blue' },
        { op: 'add', path: '/min_ram', value: 512 },
        { op: 'replace', path: '/protected', value: true },
        { op: 'replace', path: '/os_hidden', value: true },
        { op: 'replace', path: '/visibility', value: 'private' },
        { op: 'replace', path: '/tags', value: ['x', 'y', 'x'] },
        { op: 'replace', path: '/min_disk', value: 3 }
      ])
      t.equal(reply.status, 200)
      t.match(reply.headers.get('content-type'), /^application\/json/)
      const image = reply.json
      t.match(image, {
        id: edited.id, name: 'renamed', flavor: 'vanilla', color: 'blue', min_ram: 512, min_disk: 3, protected: true,
        os_hidden: true, visibility: 'private', status: 'queued', owner: 'p1', self: `/v2/images/${edited.id}`
      })
      t.same(image.tags.slice().sort(), ['x', 'y'], 'tags are a set')
      t.equal(image.created_at, edited.created_at)
      t.ok(image.updated_at > edited.updated_at, 'updated_at moved')
      t.same(await show(glint, edited.id), image, 'GET shows what PATCH answered')

      const second = await patch(glint, edited.id, [
        { op: 'replace', path: '/color', value: 'green' },
        { op: 'remove', path: '/flavor' },
        { op: 'replace', path: '/name', value: null },
        { op: 'replace', path: '/protected', value: false }
      ])
      t.equal(second.status, 200)
      t.equal(second.json.color, 'green')
      t.notOk('flavor' in second.json, 'removed property is gone')
      t.equal(second.json.name, null, 'name may be null')
    })

    t.test('v2.0 (draft 4): {"op": "/path"} form; add of anything present is 409', async (t) => {
      const reply = await patch(glint, drafted.id, [
        { replace: '/name', value: 'd4' },
        { add: '/os_distro', value: 'ubuntu' },
        { add: '/flavor', value: 'mint' },
        { remove: '/flavor' }
      ], { type: V20 })
      t.equal(reply.status, 200)
      t.match(reply.json, { name: 'd4', os_distro: 'ubuntu' })
      t.notOk('flavor' in reply.json)
      t.same(await show(glint, drafted.id), reply.json)
      await refused(t, glint, untouched.id, [{ add: '/color', value: 'blue' }], 409, /^Property color already present\./, { type: V20 })
      await refused(t, glint, untouched.id, [{ add: '/name', value: 'x' }], 409, /^Property name already present\./, { type: V20 })
      await refused(t, glint, untouched.id, [{ add: '/tags', value: ['c'] }], 409, /^Property tags already present\./, { type: V20 })
      await refused(t, glint, untouched.id, [{ op: 'replace', path: '/name', value: 'x' }], 400,
        /exactly one member named "add", "remove", or "replace"/, { type: V20 })
      await refused(t, glint, untouched.id, [{ add: '/a', remove: '/b', value: 'x' }], 400, /only one member/, { type: V20 })
    })

    t.test('415 with Accept-Patch for any other Content-Type, whatever the body', async (t) => {
      for (const [type, body] of [['application/json', '[]'], ['application/json-patch+json', '[{"op":"remove","path":"/color"}]'], ['text/plain', 'not json']]) {
        const reply = await refused(t, glint, untouched.id, body, 415, /does not support the Content-Type/, { type })
        t.equal(reply.headers.get('accept-patch'), 'application/openstack-images-v2.0-json-patch, application/openstack-images-v2.1-json-patch')
      }
      const identity = Object.entries(P1).map(([k, v]) => `${k}: ${v}\r\n`).join('')
      const none = await rawHttp(glint.port, `PATCH /v2/images/${untouched.id} HTTP/1.1\r\nHost: x\r\nAccept: application/json\r\n${identity}Content-Length: 5\r\n\r\n{"x":`)
      t.match(none, /^HTTP\/1\.1 415 /, 'no Content-Type at all')
      t.match(none, /\r\nAccept-Patch: application\/openstack-images-v2\.0-json-patch, application\/openstack-images-v2\.1-json-patch\r\n/i)
      const charset = await patch(glint, drafted.id, [{ op: 'add', path: '/charset', value: 'ok' }], { type: `${V21}; charset=UTF-8` })
      t.equal(charset.status, 200, 'parameters after the media type are ignored')
    })

    t.test('malformed documents: 400, nothing changed', async (t) => {
      const cases: Array<[unknown, RegExp]> = [
        ['', /Body expected in request/],
        ['[{"op":', /Malformed JSON/],
        [{ op: 'replace', path: '/name', value: 'x' }, /must be a JSON array of operation objects/],
        ['42', /must be a JSON array of operation objects/],
        [['replace'], /Operations must be JSON objects/],
        [[{ path: '/name', value: 'x' }], /Unable to find `op` in JSON Schema change/],
        [[{ op: 'move', path: '/name', value: 'x' }], /Invalid operation: `move`/],
        [[{ op: 'replace', value: 'x' }], /Unable to find 'path'/],
        [[{ op: 'replace', path: '/name' }], /Operation "replace" requires a member named "value"/],
        [[{ op: 'add', path: 'name', value: 'x' }], /does not start with "\/"/],
        [[{ op: 'add', path: 42, value: 'x' }], /does not start with "\/"/],
        [[{ op: 'add', path: '/a//b', value: 'x' }], /contains adjacent "\/"/],
        [[{ op: 'add', path: '/name/', value: 'x' }], /end with "\/"/],
        [[{ op: 'add', path: '/', value: 'x' }], /does not contains valid token/],
        [[{ op: 'add', path: '/a~2', value: 'x' }], /"~" not part of a recognized escape sequence/],
        [[{ op: 'add', path: '/a~', value: 'x' }], /"~" not part of a recognized escape sequence/],
        [[{ op: 'replace', path: '/name/first', value: 'x' }], /Invalid JSON pointer for this resource: '\/name\/first'/],
        [[{ op: 'add', path: '/tags/-', value: 'x' }], /Invalid JSON pointer for this resource/],
        [[{ op: 'replace', path: '/locations/0', value: {} }], /Invalid JSON pointer for this resource/],
        // one bad change spoils the whole document
        [[{ op: 'replace', path: '/name', value: 'fine' }, { op: 'frob', path: '/name', value: 'x' }], /Invalid operation/]
      ]
      for (const [ops, message] of cases) await refused(t, glint, untouched.id, ops, 400, message)
    })

    t.test('JSON pointer escapes: ~1 is "/", ~0 is "~"', async (t) => {
      const reply = await patch(glint, drafted.id, [{ op: 'add', path: '/a~1b~0c~01', value: 'escaped' }])
      t.equal(reply.status, 200)
      t.equal(reply.json['a/b~c~1'], 'escaped')
      const removed = await patch(glint, drafted.id, [{ op: 'remove', path: '/a~1b~0c~01' }])
      t.notOk('a/b~c~1' in removed.json)
    })

    t.test('null kernel_id/ramdisk_id: accepted, stored as not set', async (t) => {
      const kernel = randomUUID()
      const set = await patch(glint, drafted.id, [{ op: 'add', path: '/kernel_id', value: kernel }, { op: 'add', path: '/ramdisk_id', value: null }])
      t.equal(set.status, 200)
      t.equal(set.json.kernel_id, kernel)
      t.equal(set.json.ramdisk_id ?? null, null)
      const cleared = await patch(glint, drafted.id, [{ op: 'replace', path: '/kernel_id', value: null }])
      t.equal(cleared.status, 200)
      t.equal(cleared.json.kernel_id ?? null, null)
      t.same(await show(glint, drafted.id), cleared.json)
    })

    t.test('replace or remove of what is not there: 409; remove of an attribute: 403', async (t) => {
      await refused(t, glint, untouched.id, [{ op: 'replace', path: '/nothing', value: 'x' }], 409, /^Property nothing does not exist\./)
      await refused(t, glint, untouched.id, [{ op: 'remove', path: '/nothing' }], 409, /^Property nothing does not exist\./)
      for (const name of ['name', 'visibility', 'protected', 'os_hidden', 'min_ram', 'min_disk', 'owner', 'disk_format', 'container_format', 'tags']) {
        await refused(t, glint, untouched.id, [{ op: 'remove', path: `/${name}` }], 403, new RegExp(`^Property ${name} may not be removed\\.`))
      }
    })

    t.test('read-only and reserved attributes: 403 for every operation', async (t) => {
      for (const name of ['status', 'checksum', 'size', 'virtual_size', 'created_at', 'updated_at', 'os_hash_algo', 'os_hash_value',
        'direct_url', 'self', 'file', 'schema', 'stores', 'id']) {
        for (const op of ['add', 'replace', 'remove']) {
          await refused(t, glint, untouched.id, [{ op, path: `/${name}`, value: 'x' }], 403, new RegExp(`^Attribute '${name}' is read-only\\.`))
        }
      }
      for (const name of ['location', 'deleted', 'deleted_at', 'os_glance_import_task', 'os_glance_foo', 'os_glancefoo']) {
        for (const op of ['add', 'replace', 'remove']) {
          await refused(t, glint, untouched.id, [{ op, path: `/${name}`, value: 'x' }], 403, new RegExp(`^Attribute '${name}' is reserved\\.`))
        }
      }
    })

    t.test('values the image schema refuses: 400 naming the field', async (t) => {
      const cases: Array<[string, unknown]> = [
        ['name', 42], ['name', 'n'.repeat(256)], ['min_ram', 'x'], ['min_ram', 1.5], ['min_disk', -1], ['min_ram', -1],
        ['visibility', 'x'], ['disk_format', 'foo'], ['container_format', 'foo'], ['protected', 'yes'], ['os_hidden', 1],
        ['owner', 7], ['tags', 'a'], ['tags', [1]], ['tags', ['t'.repeat(256)]], ['kernel_id', 'not-a-uuid'],
        ['cinder_encryption_key_deletion_policy', 'sometimes'], ['color', 42], ['color', null], ['flavor', ['x']]
      ]
      for (const [name, value] of cases) {
        for (const op of ['add', 'replace']) {
          await refused(t, glint, untouched.id, [{ op, path: `/${name}`, value }], 400,
            new RegExp(`^Provided object does not match schema 'image': [^]*\\['${name}'\\]`))
        }
      }
      await refused(t, glint, untouched.id, [{ op: 'add', path: `/${'k'.repeat(256)}`, value: 'x' }], 400, /longer than 255 characters/)
    })

    t.test('who may change what: owner or admin; publicize and owner changes are admin-only', async (t) => {
      await refused(t, glint, untouched.id, [{ op: 'replace', path: '/visibility', value: 'public' }], 403,
        /^You are not authorized to complete publicize_image action\./)
      await refused(t, glint, untouched.id, [{ op: 'replace', path: '/owner', value: 'p2' }], 403, /^Owner can't be updated by non admin\./)
      await refused(t, glint, untouched.id, [{ op: 'replace', path: '/owner', value: 'p1' }], 403, /^Owner can't be updated by non admin\./)
      await refused(t, glint, untouched.id, [{ op: 'add', path: '/owner', value: 'p2' }], 403, /^Owner can't be updated by non admin\./)
      await refused(t, glint, untouched.id, [{ op: 'replace', path: '/name', value: 'mine now' }], 404, /^No image found with ID/, { as: P2 })
      await refused(t, glint, community.id, [{ op: 'replace', path: '/name', value: 'mine now' }], 403, /^You do not own this image/, { as: P2 })
      t.equal((await glint.request('GET', `/v2/images/${community.id}`, { headers: P2 })).status, 200, 'p2 can see the community image it may not change')

      const communitized = await patch(glint, drafted.id, [{ op: 'replace', path: '/visibility', value: 'community' }])
      t.equal(communitized.status, 200, 'a member may make its image community')
      const byAdmin = await patch(glint, drafted.id, [{ op: 'replace', path: '/visibility', value: 'public' }, { op: 'replace', path: '/owner', value: 'p2' }], { as: ADMIN })
      t.equal(byAdmin.status, 200)
      t.match(byAdmin.json, { visibility: 'public', owner: 'p2' })
      await refused(t, glint, drafted.id, [{ op: 'add', path: '/flavor', value: 'x' }], 403, /^You do not own this image/)
    })

    t.test('disk and container formats: changeable while queued, 403 once data arrived', async (t) => {
      const image = await createImage(glint, { name: 'formats' }, P1)
      const queued = await patch(glint, image.id, [{ op: 'replace', path: '/disk_format', value: 'qcow2' }, { op: 'replace', path: '/container_format', value: 'ovf' }])
      t.equal(queued.status, 200)
      t.match(queued.json, { disk_format: 'qcow2', container_format: 'ovf' })
      const upload = await glint.request('PUT', `/v2/images/${image.id}/file`, {
        body: Buffer.from('some image bytes'), headers: { 'Content-Type': 'application/octet-stream', ...P1 }
      })
      t.equal(upload.status, 204)
      t.equal((await show(glint, image.id)).status, 'active')
      await refused(t, glint, image.id, [{ op: 'replace', path: '/disk_format', value: 'raw' }], 403,
        /^Attribute disk_format can be only replaced for a queued image\./)
      await refused(t, glint, image.id, [{ op: 'replace', path: '/container_format', value: 'bare' }], 403,
        /^Attribute container_format can be only replaced for a queued image\./)
      const other = await patch(glint, image.id, [{ op: 'replace', path: '/name', value: 'still editable' }])
      t.equal(other.status, 200, 'other attributes of an active image stay editable')
      t.equal(other.json.status, 'active')
    })

    t.test('quotas: 128 tags, 128 extra properties (413)', async (t) => {
      const tags = Array.from({ length: 129 }, (_, i) => `tag-${i}`)
      await refused(t, glint, untouched.id, [{ op: 'replace', path: '/tags', value: tags }], 413,
        /number of allowed image tags\. Attempted: 129, Maximum: 128/)
      // untouched already has one property: 128 more make 129
      const adds = Array.from({ length: 128 }, (_, i) => ({ op: 'add', path: `/p${i}`, value: 'v' }))
      await refused(t, glint, untouched.id, adds, 413, /number of allowed image properties\. Attempted: 129, Maximum: 128/)

      const full = await createImage(glint, { name: 'full' }, P1)
      const exactly = await patch(glint, full.id, [
        { op: 'replace', path: '/tags', value: tags.slice(0, 128) },
        ...Array.from({ length: 128 }, (_, i) => ({ op: 'add', path: `/p${i}`, value: 'v' }))
      ])
      t.equal(exactly.status, 200, 'exactly at both quotas')
      t.equal(exactly.json.tags.length, 128)
      const swapped = await patch(glint, full.id, [{ op: 'remove', path: '/p0' }, { op: 'add', path: '/q0', value: 'v' }])
      t.equal(swapped.status, 200, 'remove one, add one: still at the quota')
    })

    t.test('locations are invisible here: 403 for each operation (400 first for a malformed location)', async (t) => {
      const location = { url: 'file:///etc/passwd', metadata: {} }
      await refused(t, glint, untouched.id, [{ op: 'add', path: '/locations/-', value: location }], 403, /^It's not allowed to add locations if locations are invisible\./)
      await refused(t, glint, untouched.id, [{ op: 'replace', path: '/locations', value: [location] }], 403, /^It's not allowed to update locations if locations are invisible\./)
      await refused(t, glint, untouched.id, [{ op: 'remove', path: '/locations/0' }], 403, /^It's not allowed to remove locations if locations are invisible\./)
      await refused(t, glint, untouched.id, [{ op: 'add', path: '/locations/-', value: { url: 'file:///x' } }], 400, /'metadata' is a required property/)
      await refused(t, glint, untouched.id, [{ op: 'replace', path: '/locations', value: 'file:///x' }], 400, /is not of type 'array'/)
    })

    t.test('a patch that fails part-way changes nothing (one save at the end)', async (t) => {
      await refused(t, glint, untouched.id, [
        { op: 'replace', path: '/name', value: 'half-done' },
        { op: 'add', path: '/flavor', value: 'x' },
        { op: 'replace', path: '/tags', value: ['z'] },
        { op: 'remove', path: '/color' },
        { op: 'remove', path: '/never-there' }
      ], 409, /^Property never-there does not exist\./)
      await refused(t, glint, untouched.id, [
        { op: 'replace', path: '/name', value: 'half-done' },
        { op: 'replace', path: '/visibility', value: 'public' }
      ], 403, /publicize_image/)
    })

    t.test('an empty patch answers the image and saves nothing', async (t) => {
      const before = await show(glint, untouched.id)
      const reply = await patch(glint, untouched.id, [])
      t.equal(reply.status, 200)
      t.same(reply.json, before)
    })

    t.test('unknown, malformed and deleted ids: 404', async (t) => {
      const ops = [{ op: 'replace', path: '/name', value: 'x' }]
      t.equal((await patch(glint, randomUUID(), ops)).status, 404)
      t.equal((await patch(glint, 'not-a-uuid', ops)).status, 404)
      const doomed = await createImage(glint, { name: 'doomed' }, P1)
      t.equal((await glint.request('DELETE', `/v2/images/${doomed.id}`, { headers: P1 })).status, 204)
      const reply = await patch(glint, doomed.id, ops)
      t.equal(reply.status, 404)
      t.match(reply.json.message, /^No image found with ID/)
    })

    t.test('after all the refusals the untouched image was never saved', async (t) => {
      const image = await show(glint, untouched.id)
      t.equal(image.updated_at, image.created_at)
      t.match(image, { name: 'untouched', color: 'red', visibility: 'shared', owner: 'p1' })
      t.same(image.tags, ['a', 'b'])
    })
  })
}

t.test('with show_multiple_locations: file:// and empty location lists are refused', async (t) => {
  const glint = await startGlint({ database: 'embedded', config: `${TRUSTED_AUTH}[DEFAULT]\nshow_multiple_locations = True\n` })
  t.teardown(() => glint.stop())
  const image = await createImage(glint, { name: 'loc', visibility: 'community' }, P1)
  await refused(t, glint, image.id, [{ op: 'add', path: '/locations/-', value: { url: 'file:///etc/passwd', metadata: {} } }], 400, /^Invalid location/)
  await refused(t, glint, image.id, [{ op: 'replace', path: '/locations', value: [] }], 403, /^Cannot set locations to empty list\./)
  await refused(t, glint, image.id, [{ op: 'add', path: '/locations/-', value: { url: 'file:///etc/passwd', metadata: {} } }], 403, /^You do not own this image/, { as: member('p9') })
  t.same((await show(glint, image.id)).locations, [])
})
