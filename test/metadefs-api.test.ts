// The metadata definitions API end to end (glance-v2.md section 1.13; Glance 25's
// glance/api/v2/metadef_*.py): namespaces with their objects, properties, tags and resource
// type associations; Glance's status codes and messages (each checked beside the real
// Glance 25.1 when written); visibility between two projects; protected namespaces; policy
// (writes are admin-only); paging; the ten schemas against what Glance 25.1 serves.

import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ROOT, startGlint, type Glint, type Reply } from './helpers/glint.js'
import { TRUSTED_AUTH, admin, member } from './helpers/identities.js'

const GLANCE_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/
const ADMIN = admin()
const ALICE = member('alice-project')
const BOB = member('bob-project')
const NS = '/v2/metadefs/namespaces'

const message = (reply: Reply): string => String(reply.json?.message ?? '').replace(/<br \/><br \/>\n\n\n$/, '')

for (const database of ['postgres', 'embedded'] as const) {
  t.test(`metadefs on ${database} registry`, async (t) => {
    const glint: Glint = await startGlint({ database, config: TRUSTED_AUTH })
    t.teardown(() => glint.stop())
    const req = (method: string, path: string, who = ADMIN, json?: unknown, headers: Record<string, string> = {}) =>
      glint.request(method, path, { headers: { ...who, ...headers }, json })
    const created = async (body: Record<string, unknown>): Promise<any> => {
      const reply = await req('POST', NS, ADMIN, body)
      if (reply.status !== 201) throw new Error(`create ${reply.status} ${reply.text}`)
      return reply.json
    }

    t.test('a namespace with everything in it: create, show, list, resource-type prefixes', async (t) => {
      const reply = await req('POST', NS, ADMIN, {
        namespace: 'T::Full',
        display_name: 'Full',
        description: 'all of it',
        resource_type_associations: [{ name: 'OS::Glance::Image', prefix: 'hw_' }, { name: 'T::NewType', properties_target: 'image' }],
        properties: { cpu: { title: 'CPU', type: 'integer', minimum: 1, maximum: 2.7, default: 2 } },
        objects: [{ name: 'obj', required: ['a'], properties: { a: { title: 'A', type: 'string', enum: ['x', 'y'] } } }],
        tags: [{ name: 't1' }, { name: 't2' }]
      })
      t.equal(reply.status, 201)
      t.match(reply.headers.get('location'), /^http:\/\/127\.0\.0\.1:\d+\/v2\/metadefs\/namespaces\/T::Full$/)
      const body = reply.json
      t.same(Object.keys(body), ['namespace', 'display_name', 'description', 'visibility', 'protected', 'owner', 'created_at', 'updated_at',
        'resource_type_associations', 'properties', 'objects', 'tags', 'self', 'schema'])
      t.match(body, { visibility: 'private', protected: false, owner: 'admin-project', self: `${NS}/T::Full`, schema: '/v2/schemas/metadefs/namespace' })
      t.match(body.created_at, GLANCE_TIME)
      t.same(body.properties, { cpu: { type: 'integer', title: 'CPU', default: '2', minimum: 1, maximum: 2 } }, "WSME's coercions: default a string, integers truncated")
      t.same(body.objects, [{ name: 'obj', required: ['a'], properties: { a: { type: 'string', title: 'A', enum: ['x', 'y'] } } }])

      const shown = (await req('GET', `${NS}/T::Full`)).json
      t.same(shown.resource_type_associations.map((a: any) => [a.name, a.prefix, a.properties_target]), [['OS::Glance::Image', 'hw_', undefined], ['T::NewType', undefined, 'image']])
      t.same(shown.properties, body.properties)
      t.same(Object.keys(shown.objects[0]), ['name', 'required', 'properties', 'created_at', 'updated_at', 'self', 'schema'])
      t.equal(shown.objects[0].self, `${NS}/T::Full/objects/obj`)
      t.same(shown.tags.map((x: any) => Object.keys(x)), [['name'], ['name']], 'tags shown by name only')
      t.same(shown.tags.map((x: any) => x.name).sort(), ['t1', 't2'])

      const asImage = (await req('GET', `${NS}/T::Full?resource_type=OS::Glance::Image`)).json
      t.same(Object.keys(asImage.properties), ['hw_cpu'], 'names take the resource type\'s prefix')
      t.same(asImage.objects[0].required, ['hw_a'])
      t.same(Object.keys(asImage.objects[0].properties), ['hw_a'])
      const asNew = (await req('GET', `${NS}/T::Full?resource_type=T::NewType`)).json
      t.same(Object.keys(asNew.properties), ['cpu'], 'no prefix, no change')
      const property = await req('GET', `${NS}/T::Full/properties/hw_cpu?resource_type=OS::Glance::Image`)
      t.equal(property.status, 200)
      t.same(property.json, { name: 'cpu', type: 'integer', title: 'CPU', default: '2', minimum: 1, maximum: 2 })
      const unprefixed = await req('GET', `${NS}/T::Full/properties/cpu?resource_type=OS::Glance::Image`)
      t.equal(unprefixed.status, 404)
      t.equal(message(unprefixed), "Property cpu does not start with the expected resource type association prefix of 'hw_'.")

      const types = (await req('GET', '/v2/metadefs/resource_types')).json.resource_types.map((r: any) => r.name)
      t.ok(types.includes('T::NewType'), 'associating an unknown resource type creates it')
      const listed = (await req('GET', `${NS}?resource_types=T::NewType`)).json
      t.same(listed.namespaces.map((n: any) => n.namespace), ['T::Full'])
      t.same(Object.keys(listed.namespaces[0]), ['namespace', 'display_name', 'description', 'visibility', 'protected', 'owner', 'created_at', 'updated_at', 'resource_type_associations', 'self', 'schema'])
      t.equal(listed.first, '/v2/metadefs/namespaces?resource_types=T%3A%3ANewType')
    })

    t.test('bad bodies and duplicates: Glance\'s answers, nothing stored', async (t) => {
      let reply = await req('POST', NS, ADMIN, { display_name: 'no name' })
      t.equal(reply.status, 400)
      t.equal(message(reply), "Provided object does not match schema 'namespace': 'namespace' is a required property")
      reply = await req('POST', NS, ADMIN, { namespace: 'T::Bad', visibility: 'shared' })
      t.equal(message(reply), "Provided object does not match schema 'namespace': 'shared' is not one of ['public', 'private']")
      reply = await req('POST', NS, ADMIN, { namespace: 'T::Bad', foo: 1 })
      t.equal(message(reply), "Provided object does not match schema 'namespace': Additional properties are not allowed ('foo' was unexpected)")
      reply = await req('POST', NS, ADMIN, { namespace: 'T::Bad', created_at: 'now' })
      t.equal(reply.status, 403)
      t.equal(message(reply), "Attribute 'created_at' is read-only.")
      reply = await req('POST', NS, ADMIN, { namespace: 'T::Bad', properties: { p: { title: 'no type' } } })
      t.equal(reply.status, 400)
      t.match(message(reply), /'type' is a required property/)
      t.equal((await req('GET', `${NS}/T::Bad`)).status, 404)

      await created({ namespace: 'T::Dup' })
      reply = await req('POST', NS, ADMIN, { namespace: 'T::Dup' })
      t.equal(reply.status, 409)
      t.equal(message(reply), 'The metadata definition namespace=T::Dup already exists.')
      reply = await req('POST', NS, ADMIN, { namespace: 'T::DupObjects', objects: [{ name: 'o' }, { name: 'o' }] })
      t.equal(reply.status, 409)
      t.equal(message(reply), 'A metadata definition object with name=o already exists in namespace=T::DupObjects.')
      t.equal((await req('GET', `${NS}/T::DupObjects`)).status, 404, 'the namespace went with the failed create')
      reply = await req('GET', `${NS}/nope`)
      t.equal(reply.status, 404)
      t.equal(message(reply), 'Metadata definition namespace=nope was not found.')
    })

    t.test('objects: create, show, update, rename conflicts, delete', async (t) => {
      await created({ namespace: 'T::Objects' })
      const base = `${NS}/T::Objects/objects`
      let reply = await req('POST', base, ADMIN, { name: 'o1', description: 'first' })
      t.equal(reply.status, 201)
      t.same(Object.keys(reply.json), ['name', 'description', 'created_at', 'updated_at', 'self', 'schema'])
      reply = await req('POST', base, ADMIN, { name: 'o2', properties: { p: { title: 'P', type: 'string', foo: 1 } } })
      t.equal(reply.status, 400, 'each property is checked against the property schema')
      t.match(message(reply), /^Provided object does not match schema 'property': Additional properties are not allowed/)
      reply = await req('POST', base, ADMIN, { name: 'o1' })
      t.equal(reply.status, 409)
      t.equal((await req('POST', base, ADMIN, { name: 'o2' })).status, 201)
      reply = await req('GET', `${base}/o1`)
      t.same(reply.json, { ...reply.json, name: 'o1', required: [], description: 'first', properties: {}, self: `${base}/o1`, schema: '/v2/schemas/metadefs/object' })
      reply = await req('PUT', `${base}/o2`, ADMIN, { name: 'o3', required: ['q'], properties: { q: { title: 'Q', type: 'string' } } })
      t.equal(reply.status, 200)
      t.match(reply.json, { name: 'o3', required: ['q'], self: `${base}/o3` })
      reply = await req('PUT', `${base}/o3`, ADMIN, { name: 'o1' })
      t.equal(reply.status, 409)
      t.equal(message(reply), 'Invalid update. It would result in a duplicate metadata definition object with the same name=o3 in namespace=T::Objects.')
      const list = (await req('GET', base)).json
      t.same(list.objects.map((o: any) => o.name), ['o1', 'o3'])
      t.equal(list.schema, 'v2/schemas/metadefs/objects', 'Glance\'s link, without its leading slash')
      t.equal((await req('DELETE', `${base}/o3`)).status, 204)
      reply = await req('GET', `${base}/o3`)
      t.equal(reply.status, 404)
      t.equal(message(reply), 'Could not find metadata object o3')
      t.equal((await req('DELETE', base)).status, 204, 'delete them all')
      t.same((await req('GET', base)).json.objects, [])
    })

    t.test('properties: create, show, update, delete', async (t) => {
      await created({ namespace: 'T::Props' })
      const base = `${NS}/T::Props/properties`
      let reply = await req('POST', base, ADMIN, { name: 'y', title: 'Y', type: 'boolean', default: false })
      t.equal(reply.status, 201)
      t.same(reply.json, { name: 'y', type: 'boolean', title: 'Y', default: 'False' })
      reply = await req('POST', base, ADMIN, { title: 'Y', type: 'boolean' })
      t.equal(message(reply), "Provided object does not match schema 'property': 'name' is a required property")
      reply = await req('POST', base, ADMIN, { name: 'y', title: 'Y', type: 'boolean' })
      t.equal(reply.status, 409)
      t.equal(message(reply), 'A metadata definition property with name=y already exists in namespace=T::Props.')
      // definitions Glance's model cannot hold (Glance answers 500): a clear 400, nothing stored
      reply = await req('POST', base, ADMIN, { name: 'e', title: 'E', type: 'array', required: ['x'] })
      t.equal(reply.status, 400)
      t.equal(message(reply), "Invalid property definition e: unknown attribute 'required'")
      reply = await req('POST', base, ADMIN, { name: 'e', title: 'E', type: 'array', items: { type: 'string', foo: 1 } })
      t.equal(message(reply), "Invalid property definition e: unknown attribute 'items.foo'")
      reply = await req('POST', base, ADMIN, { name: 'e', title: 'E', type: 'array', items: { enum: ['a'] } })
      t.equal(message(reply), "Invalid property definition e: 'items' needs a 'type'")
      reply = await req('POST', NS, ADMIN, { namespace: 'T::BadDefinition', objects: [{ name: 'o', properties: { p: { title: 'P', type: 'string', colour: 'red' } } }] })
      t.equal(message(reply), "Invalid property definition o.p: unknown attribute 'colour'")
      t.equal((await req('GET', `${base}/e`)).status, 404)
      t.equal((await req('GET', `${NS}/T::BadDefinition`)).status, 404)
      reply = await req('PUT', `${base}/y`, ADMIN, { name: 'z', title: 'Z', type: 'string', enum: ['a'] })
      t.same(reply.json, { name: 'z', type: 'string', title: 'Z', enum: ['a'] })
      t.same((await req('GET', base)).json, { properties: { z: { type: 'string', title: 'Z', enum: ['a'] } } })
      t.equal((await req('GET', `${base}/y`)).status, 404)
      t.equal((await req('DELETE', `${base}/z`)).status, 204)
      t.same((await req('GET', base)).json, { properties: {} })
    })

    t.test('tags: one, several (replacing or appending), paging, rename, delete', async (t) => {
      await created({ namespace: 'T::Tags', tags: [{ name: 'a' }] })
      const base = `${NS}/T::Tags/tags`
      let reply = await req('POST', `${base}/b`)
      t.equal(reply.status, 201)
      t.same(Object.keys(reply.json), ['name', 'created_at', 'updated_at'])
      reply = await req('POST', `${base}/b`)
      t.equal(reply.status, 409)
      t.equal(message(reply), 'A metadata tag with name=b already exists in namespace=T::Tags. (Please note that metadata tag names are case insensitive).')
      reply = await req('POST', base, ADMIN, { tags: [{ name: 'c' }, { name: 'd' }] }, { 'X-Openstack-Append': 'True' })
      t.equal(reply.status, 201)
      t.same(reply.json, { tags: [{ name: 'c' }, { name: 'd' }] })
      const names = async (query = ''): Promise<string[]> => (await req('GET', `${base}${query}`)).json.tags.map((x: any) => x.name)
      t.same(await names('?sort_key=name&sort_dir=asc'), ['a', 'b', 'c', 'd'], 'appended')
      t.same(await names('?sort_key=name&sort_dir=asc&limit=2'), ['a', 'b'])
      t.same(await names('?sort_key=name&sort_dir=asc&marker=b'), ['c', 'd'])
      reply = await req('POST', base, ADMIN, { tags: [{ name: 'e' }, { name: 'e' }] })
      t.equal(reply.status, 409)
      t.same(await names('?sort_key=name&sort_dir=asc'), ['a', 'b', 'c', 'd'], 'a failed replace changes nothing')
      t.equal((await req('POST', base, ADMIN, { tags: [{ name: 'e' }, { name: 'f' }] })).status, 201)
      t.same(await names('?sort_key=name&sort_dir=asc'), ['e', 'f'], 'without the header the list replaces the tags')
      reply = await req('POST', base, ADMIN, { tags: [{ nom: 'x' }] })
      t.equal(reply.status, 400)
      reply = await req('PUT', `${base}/e`, ADMIN, { name: 'g' })
      t.equal(reply.status, 200)
      t.equal(reply.json.name, 'g')
      t.equal((await req('GET', `${base}/g`)).status, 200)
      t.equal((await req('DELETE', `${base}/g`)).status, 204)
      reply = await req('GET', `${base}/g`)
      t.equal(message(reply), 'Could not find metadata tag g')
      reply = await req('POST', `${base}/${'x'.repeat(81)}`)
      t.equal(reply.status, 400)
      t.match(message(reply), /^Provided object does not match schema 'tag': 'x+' is too long$/)
    })

    t.test('resource type associations', async (t) => {
      await created({ namespace: 'T::Types' })
      const base = `${NS}/T::Types/resource_types`
      let reply = await req('POST', base, ADMIN, { name: 'OS::Nova::Flavor', prefix: 'f:' })
      t.equal(reply.status, 201)
      t.same(Object.keys(reply.json), ['name', 'prefix', 'created_at', 'updated_at'])
      reply = await req('POST', base, ADMIN, { name: 'OS::Nova::Flavor', prefix: 'f:' })
      t.equal(reply.status, 409)
      t.equal(message(reply), 'The metadata definition resource-type association of resource-type=OS::Nova::Flavor to namespace=T::Types already exists.')
      t.same((await req('GET', base)).json.resource_type_associations.map((a: any) => a.name), ['OS::Nova::Flavor'])
      t.equal((await req('DELETE', `${base}/OS::Nova::Flavor`)).status, 204)
      reply = await req('DELETE', `${base}/OS::Nova::Flavor`)
      t.equal(reply.status, 404)
      t.equal(message(reply), 'Failed to find resource type OS::Nova::Flavor to delete')
      t.ok((await req('GET', '/v2/metadefs/resource_types')).json.resource_types.some((r: any) => r.name === 'OS::Nova::Flavor'), 'the resource type stays')
    })

    t.test('protected namespaces: nothing in them can be deleted until unprotected', async (t) => {
      await created({
        namespace: 'T::Protected',
        protected: true,
        resource_type_associations: [{ name: 'OS::Glance::Image' }],
        properties: { p: { title: 'P', type: 'string' } },
        objects: [{ name: 'o' }],
        tags: [{ name: 't' }]
      })
      const base = `${NS}/T::Protected`
      const refusals: Array<[string, string]> = [
        [base, 'Metadata definition namespace T::Protected is protected and cannot be deleted.'],
        [`${base}/objects/o`, 'Metadata definition object o is protected and cannot be deleted.'],
        [`${base}/properties/p`, 'Metadata definition property p is protected and cannot be deleted.'],
        [`${base}/tags/t`, 'Metadata definition tag t is protected and cannot be deleted.'],
        [`${base}/resource_types/OS::Glance::Image`, 'Metadata definition resource-type-association OS::Glance::Image is protected and cannot be deleted.'],
        [`${base}/objects`, 'Metadata definition namespace T::Protected is protected and cannot be deleted.'],
        [`${base}/properties`, 'Metadata definition namespace T::Protected is protected and cannot be deleted.'],
        [`${base}/tags`, 'Metadata definition namespace T::Protected is protected and cannot be deleted.']
      ]
      for (const [path, why] of refusals) {
        const reply = await req('DELETE', path)
        t.equal(reply.status, 403, path)
        t.equal(message(reply), why)
      }
      const shown = (await req('GET', base)).json
      t.equal(shown.objects.length, 1)
      t.same(Object.keys(shown.properties), ['p'])
      t.equal(shown.tags.length, 1)
      t.equal(shown.resource_type_associations.length, 1)

      const update = await req('PUT', base, ADMIN, { namespace: 'T::Protected', protected: false, description: 'now open' })
      t.equal(update.status, 200)
      t.match(update.json, { namespace: 'T::Protected', protected: false, description: 'now open', visibility: 'private' })
      t.equal((await req('DELETE', base)).status, 204)
      t.equal((await req('GET', base)).status, 404)
      t.equal((await req('GET', '/v2/metadefs/resource_types')).status, 200)
    })

    t.test('visibility between two projects, and writes for admins only', async (t) => {
      await created({ namespace: 'T::AlicePrivate', owner: 'alice-project', objects: [{ name: 'o' }], tags: [{ name: 't' }] })
      await created({ namespace: 'T::AlicePublic', owner: 'alice-project', visibility: 'public' })
      const visible = async (who: Record<string, string>): Promise<string[]> =>
        (await req('GET', `${NS}?limit=1000`, who)).json.namespaces.map((n: any) => n.namespace).filter((n: string) => n.startsWith('T::Alice')).sort()
      t.same(await visible(ALICE), ['T::AlicePrivate', 'T::AlicePublic'], 'the owner sees both')
      t.same(await visible(BOB), ['T::AlicePublic'], 'another project only the public one')
      t.same(await visible(ADMIN), ['T::AlicePrivate', 'T::AlicePublic'])
      const bobPublic = (await req('GET', `${NS}?visibility=public&limit=1000`, BOB)).json.namespaces.map((n: any) => n.namespace)
      t.ok(bobPublic.includes('T::AlicePublic'))
      t.equal((await req('GET', `${NS}?visibility=shared`, BOB)).status, 400)

      let reply = await req('GET', `${NS}/T::AlicePrivate`, BOB)
      t.equal(reply.status, 404)
      t.equal(message(reply), 'The resource could not be found.')
      for (const path of ['objects', 'objects/o', 'tags', 'properties', 'resource_types']) {
        reply = await req('GET', `${NS}/T::AlicePrivate/${path}`, BOB)
        t.equal(reply.status, 404, path)
        t.equal(message(reply), 'Namespace T::AlicePrivate not found')
      }
      reply = await req('DELETE', `${NS}/T::AlicePrivate`, BOB)
      t.equal(reply.status, 404, 'not even told it exists')
      reply = await req('GET', `${NS}?marker=T::AlicePrivate`, BOB)
      t.equal(reply.status, 403)
      t.equal(message(reply), 'Forbidding request, metadata definition namespace=T::AlicePrivate is not visible.')
      t.equal((await req('GET', `${NS}/T::AlicePrivate`, ALICE)).status, 200)

      reply = await req('POST', NS, ALICE, { namespace: 'T::ByMember' })
      t.equal(reply.status, 403)
      t.equal(message(reply), 'You are not authorized to complete add_metadef_namespace action.')
      const writes: Array<[string, string, unknown, string]> = [
        ['DELETE', `${NS}/T::AlicePublic`, undefined, 'delete_metadef_namespace'],
        ['PUT', `${NS}/T::AlicePublic`, { namespace: 'T::AlicePublic' }, 'modify_metadef_namespace'],
        ['POST', `${NS}/T::AlicePublic/objects`, { name: 'x' }, 'add_metadef_object'],
        ['POST', `${NS}/T::AlicePublic/properties`, { name: 'x', title: 'X', type: 'string' }, 'add_metadef_property'],
        ['POST', `${NS}/T::AlicePublic/tags/x`, undefined, 'add_metadef_tag'],
        ['POST', `${NS}/T::AlicePublic/tags`, { tags: [{ name: 'x' }] }, 'add_metadef_tags'],
        ['POST', `${NS}/T::AlicePublic/resource_types`, { name: 'OS::Glance::Image' }, 'add_metadef_resource_type_association']
      ]
      for (const [method, path, body, action] of writes) {
        for (const who of [ALICE, BOB]) {
          reply = await req(method, path, who, body)
          t.equal(reply.status, 403, `${method} ${path}`)
          t.equal(message(reply), `You are not authorized to complete ${action} action.`)
        }
      }
      t.equal((await req('GET', `${NS}/T::AlicePublic`, BOB)).status, 200, 'still there')
    })

    t.test('paging and sorting the namespace list', async (t) => {
      for (const n of ['T::Page1', 'T::Page2', 'T::Page3']) await created({ namespace: n, resource_type_associations: [{ name: 'T::PageType' }] })
      const query = 'resource_types=T::PageType&sort_key=namespace&sort_dir=asc&limit=2'
      const first = (await req('GET', `${NS}?${query}`)).json
      t.same(first.namespaces.map((n: any) => n.namespace), ['T::Page1', 'T::Page2'])
      t.equal(first.first, '/v2/metadefs/namespaces?resource_types=T%3A%3APageType&sort_key=namespace&sort_dir=asc&limit=2')
      t.equal(first.next, '/v2/metadefs/namespaces?resource_types=T%3A%3APageType&sort_key=namespace&sort_dir=asc&limit=2&marker=T%3A%3APage2')
      const second = (await req('GET', first.next)).json
      t.same(second.namespaces.map((n: any) => n.namespace), ['T::Page3'])
      t.notOk('next' in second)
      const desc = (await req('GET', `${NS}?resource_types=T::PageType&sort_key=namespace&sort_dir=desc`)).json
      t.same(desc.namespaces.map((n: any) => n.namespace), ['T::Page3', 'T::Page2', 'T::Page1'])
      t.equal(message(await req('GET', `${NS}?sort_dir=up`)), 'Invalid sort direction: up')
      t.equal(message(await req('GET', `${NS}?limit=-1`)), 'limit param must be positive')
      t.equal(message(await req('GET', `${NS}?sort_key=bogus`)), 'Invalid sort key: bogus')
      t.equal(message(await req('GET', `${NS}?marker=nope`)), 'Metadata definition namespace=nope was not found.')
    })

    t.test('the ten schemas are the ones Glance 25.1 serves', async (t) => {
      for (const name of ['namespace', 'namespaces', 'resource_type', 'resource_types', 'property', 'properties', 'object', 'objects', 'tag', 'tags']) {
        const reply = await req('GET', `/v2/schemas/metadefs/${name}`)
        t.equal(reply.status, 200, name)
        const expected = JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', 'glance-25.1', `schema-metadefs-${name}.json`), 'utf8'))
        t.same(reply.json, expected, name)
      }
    })
  })
}

t.test('NUL characters are refused with 400 or not found, never reach PostgreSQL', async (t) => {
  const glint = await startGlint({ database: 'postgres' })
  t.teardown(() => glint.stop())
  let reply = await glint.request('POST', NS, { json: { namespace: 'T::Nul\u0000' } })
  t.equal(reply.status, 400)
  t.equal(message(reply), "Namespace can't contain the NUL character.")
  reply = await glint.request('POST', NS, { json: { namespace: 'T::Nul', objects: [{ name: 'o', properties: { 'p\u0000': { title: 'P', type: 'string' } } }] } })
  t.equal(reply.status, 400)
  t.equal(message(reply), "Property names can't contain the NUL character.")
  t.equal((await glint.request('GET', `${NS}/T::Nul`)).status, 404, 'nothing was stored')
  t.equal((await glint.request('POST', NS, { json: { namespace: 'T::Nul' } })).status, 201)
  for (const path of [`${NS}/T%00`, `${NS}/T::Nul/objects/o%00`, `${NS}/T::Nul/properties/p%00`, `${NS}/T::Nul/tags/t%00`, `${NS}?marker=x%00`]) {
    t.equal((await glint.request('GET', path)).status, 404, path)
  }
  t.equal((await glint.request('POST', `${NS}/T::Nul/tags/t%00`)).status, 400)
  t.same((await glint.request('GET', `${NS}?resource_types=x%00`)).json.namespaces, [])
  t.equal((await glint.request('GET', `${NS}/T::Nul/properties/p?resource_type=x%00`)).status, 404)
})

t.test('an operator\'s policy file decides the metadefs rules too', async (t) => {
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs')
  const { tmpdir } = await import('node:os')
  const dir = mkdtempSync(join(tmpdir(), 'glint-metadef-policy-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  // members may manage tags; only admins may see other projects' public namespaces
  writeFileSync(join(dir, 'policy.yaml'), [
    'add_metadef_tag: "role:admin or role:member"',
    'get_metadef_namespace: "role:admin or project_id:%(project_id)s"',
    ''
  ].join('\n'))
  const glint = await startGlint({ database: 'postgres', config: `${TRUSTED_AUTH}[oslo_policy]\npolicy_file = ${join(dir, 'policy.yaml')}\n` })
  t.teardown(() => glint.stop())
  const req = (method: string, path: string, who: Record<string, string>, json?: unknown) => glint.request(method, path, { headers: who, json })
  t.equal((await req('POST', NS, ADMIN, { namespace: 'T::Alice', owner: 'alice-project', visibility: 'public' })).status, 201)

  t.equal((await req('POST', `${NS}/T::Alice/tags/mine`, ALICE)).status, 201, 'a member may add a tag now')
  let reply = await req('POST', `${NS}/T::Alice/objects`, ALICE, { name: 'o' })
  t.equal(reply.status, 403, 'but not an object')
  t.equal(message(reply), 'You are not authorized to complete add_metadef_object action.')

  reply = await req('GET', `${NS}/T::Alice`, BOB)
  t.equal(reply.status, 404, 'public, yet hidden from another project by the rule')
  t.equal(message(reply), 'The resource could not be found.')
  reply = await req('POST', `${NS}/T::Alice/objects`, BOB, { name: 'o' })
  t.equal(reply.status, 404, 'a refused write on a namespace one may not see is a 404, not a 403')
  t.equal(message(reply), 'The resource could not be found.')
  const listed = (await req('GET', NS, BOB)).json.namespaces.map((n: any) => n.namespace)
  t.notOk(listed.includes('T::Alice'), 'and the list leaves it out')
  t.ok((await req('GET', NS, ALICE)).json.namespaces.some((n: any) => n.namespace === 'T::Alice'), 'its owner still sees it')
})
