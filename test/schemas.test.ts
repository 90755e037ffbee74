// GET /v2/schemas/{image,images,member,members} (glance-v2.md section 1.2). glanceclient builds
// its image model from /v2/schemas/image and validates against it client-side, and Nova reads
// disk_format's enum from it, so the documents must be Glance's own: the fixtures are what
// the real Glance 25.1 (Debian's glance-api, via bench/glance/glance.sh) served.

import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ROOT, createImage, startGlint } from './helpers/glint.js'

const fixture = (name: string): any => JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', 'glance-25.1', `schema-${name}.json`), 'utf8'))

/** The subset of JSON schema Glance's schemas use, as glanceclient's validation applies it. */
function violations (value: any, schema: any, path = ''): string[] {
  const types: string[] = schema.type === undefined ? [] : [schema.type].flat()
  const typeOf = (v: unknown): string => v === null ? 'null' : Array.isArray(v) ? 'array' : Number.isInteger(v) ? 'integer' : typeof v
  if (types.length > 0 && !types.includes(typeOf(value)) && !(types.includes('number') && typeof value === 'number')) {
    return [`${path}: ${JSON.stringify(value)} is not ${types.join('/')}`]
  }
  const out: string[] = []
  if (schema.enum !== undefined && !schema.enum.includes(value)) out.push(`${path}: ${JSON.stringify(value)} not in enum`)
  if (typeof value === 'string' && schema.maxLength !== undefined && value.length > schema.maxLength) out.push(`${path}: too long`)
  if (typeof value === 'string' && schema.pattern !== undefined && !new RegExp(schema.pattern).test(value)) out.push(`${path}: does not match`)
  if (Array.isArray(value) && schema.items !== undefined) value.forEach((item, i) => out.push(...violations(item, schema.items, `${path}[${i}]`)))
  if (typeOf(value) === 'object') {
    for (const [key, item] of Object.entries(value)) {
      const sub = schema.properties?.[key] ?? schema.additionalProperties
      if (sub === false) out.push(`${path}.${key}: not allowed`)
      else if (sub !== undefined) out.push(...violations(item, sub, `${path}.${key}`))
    }
  }
  return out
}

t.test('schemas', async (t) => {
  const glint = await startGlint()
  t.teardown(() => glint.stop())

  t.test('each document is exactly what Glance 25.1 serves', async (t) => {
    for (const name of ['image', 'images', 'member', 'members']) {
      const reply = await glint.request('GET', `/v2/schemas/${name}`)
      t.equal(reply.status, 200, name)
      t.equal(reply.headers.get('content-type'), 'application/json')
      t.same(reply.json, fixture(name), name)
      t.same(Object.keys(reply.json.properties), Object.keys(fixture(name).properties), `${name}: property order`)
    }
  })

  t.test('what clients read from the image schema', async (t) => {
    const image = (await glint.request('GET', '/v2/schemas/image')).json
    t.same(image.properties.disk_format.enum, [null, 'ami', 'ari', 'aki', 'vhd', 'vhdx', 'vmdk', 'raw', 'qcow2', 'vdi', 'iso', 'ploop'], 'Nova reads this')
    t.same(image.properties.container_format.enum, [null, 'ami', 'ari', 'aki', 'bare', 'ovf', 'ova', 'docker', 'compressed'])
    t.same(image.properties.visibility.enum, ['community', 'public', 'private', 'shared'])
    t.same(image.additionalProperties, { type: 'string' }, 'extra properties are strings (PermissiveSchema)')
    t.same(image.links.map((l: any) => l.rel), ['self', 'enclosure', 'describedby'])
    const readOnly = Object.keys(image.properties).filter((k) => image.properties[k].readOnly === true).sort()
    t.same(readOnly, ['checksum', 'created_at', 'direct_url', 'file', 'os_hash_algo', 'os_hash_value', 'schema', 'self', 'size', 'status', 'stores', 'updated_at', 'virtual_size'])
    const images = (await glint.request('GET', '/v2/schemas/images')).json
    t.same(images.properties.images.items.properties, image.properties, 'images embeds the image schema')
    t.same(images.links.map((l: any) => l.rel), ['first', 'next', 'describedby'])
    const members = (await glint.request('GET', '/v2/schemas/members')).json
    const memberSchema = (await glint.request('GET', '/v2/schemas/member')).json
    t.same(members.properties.members.items, memberSchema, 'members embeds the member schema')
    t.notOk('links' in memberSchema, 'the minimal form: no links on a single member')
  })

  t.test('what the API returns validates against the schemas it serves', async (t) => {
    const imageSchema = (await glint.request('GET', '/v2/schemas/image')).json
    const imagesSchema = (await glint.request('GET', '/v2/schemas/images')).json
    const memberSchema = (await glint.request('GET', '/v2/schemas/member')).json
    const membersSchema = (await glint.request('GET', '/v2/schemas/members')).json

    const queued = await createImage(glint, { name: null, disk_format: null, container_format: null, tags: ['a'], os_distro: 'debian', kernel_id: null })
    const active = await createImage(glint, { name: 'with data', visibility: 'shared' })
    await glint.request('PUT', `/v2/images/${active.id}/file`, { body: 'some bytes', headers: { 'Content-Type': 'application/octet-stream' } })
    for (const id of [queued.id, active.id]) {
      const shown = (await glint.request('GET', `/v2/images/${id}`)).json
      t.same(violations(shown, imageSchema), [], `image ${shown.status}`)
    }
    const list = (await glint.request('GET', '/v2/images?limit=1')).json
    t.ok('next' in list, 'a full page, so next is there to check too')
    t.same(violations(list, imagesSchema), [])

    const added = (await glint.request('POST', `/v2/images/${active.id}/members`, { json: { member: 'friend' } })).json
    t.same(violations(added, memberSchema), [])
    t.same(violations((await glint.request('GET', `/v2/images/${active.id}/members`)).json, membersSchema), [])
    t.not(violations({ ...added, status: 'maybe' }, memberSchema).length, 0, 'the validator does refuse what the schema forbids')
  })
})
