// Loading Debian's shipped metadata definitions (/etc/glance/metadefs, glance-common 25.1) with
// `glint metadefs load` gives what the real Glance 25.1 serves after its own
// `glance-manage db_load_metadefs` of the same files (test/fixtures/glance-25.1/
// metadefs-loaded.json, made by capture-metadefs.sh there): every namespace as listed and shown
// (also shown per resource type, with prefixed property names), its objects, properties, tags
// and resource type associations, and the resource type list, field by field. Timestamps
// differ by nature and are compared by presence and format; lists whose order Glance leaves to
// the database (associations, and namespaces loaded within the same second) are compared sorted.
// Then the merge / prefer-new / overwrite options, unload and export.

import t from 'tap'
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { ROOT, createDatabase, startGlint } from './helpers/glint.js'

const run = promisify(execFile)
const SHIPPED = '/etc/glance/metadefs'
const GLANCE_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/
const fixture = JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', 'glance-25.1', 'metadefs-loaded.json'), 'utf8'))

async function metadefs (databaseUrl: string, ...args: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['bin/glint.js', 'metadefs', ...args], { cwd: ROOT, env: { ...process.env, DATABASE_URL: databaseUrl } })
    return { code: 0, stdout, stderr }
  } catch (err: any) {
    return { code: err.code, stdout: err.stdout, stderr: err.stderr }
  }
}

/** Timestamps replaced by a marker once checked for Glance's format; association lists sorted by name. */
function comparable (value: any, path = ''): any {
  if (Array.isArray(value)) {
    const items = value.map((v) => comparable(v, path))
    return path.endsWith('resource_type_associations') ? items.sort((a, b) => a.name < b.name ? -1 : 1) : items
  }
  if (typeof value !== 'object' || value === null) return value
  const out: any = {}
  for (const [key, v] of Object.entries(value)) {
    if ((key === 'created_at' || key === 'updated_at') && typeof v === 'string') {
      out[key] = GLANCE_TIME.test(v) ? '<time>' : `bad time ${v}`
    } else {
      out[key] = comparable(v, `${path}.${key}`)
    }
  }
  return out
}

t.test('loading the shipped definitions', { skip: existsSync(SHIPPED) ? false : `${SHIPPED} is missing (apt-get install glance-common)` }, async (t) => {
  const db = await createDatabase()
  t.teardown(() => db.drop())
  const loaded = await metadefs(db.url, 'load', SHIPPED)
  t.equal(loaded.code, 0, loaded.stderr)
  t.match(loaded.stdout, /loaded 33 namespaces, skipped 0/)
  const glint = await startGlint({ databaseUrl: db.url })
  t.teardown(() => glint.stop())
  const get = async (path: string): Promise<any> => {
    const reply = await glint.request('GET', path)
    if (reply.status !== 200) throw new Error(`${path}: ${reply.status} ${reply.text}`)
    return reply.json
  }
  const enc = encodeURIComponent

  t.test('the namespace list: same namespaces, same fields', async (t) => {
    const list = await get('/v2/metadefs/namespaces?limit=1000')
    t.equal(list.first, '/v2/metadefs/namespaces?limit=1000')
    t.equal(list.schema, '/v2/schemas/metadefs/namespaces')
    t.notOk('next' in list, 'one page holds them all')
    const byName = (l: any[]): any[] => comparable(l).sort((a: any, b: any) => a.namespace < b.namespace ? -1 : 1)
    t.same(list.namespaces.map((n: any) => n.namespace).sort(), fixture.list.namespaces.map((n: any) => n.namespace).sort())
    t.same(byName(list.namespaces), byName(fixture.list.namespaces))
  })

  t.test('the resource types', async (t) => {
    const types = await get('/v2/metadefs/resource_types')
    const names = (l: any): string[] => l.resource_types.map((r: any) => r.name).sort()
    t.same(names(types), names(fixture.resource_types))
    t.same(comparable(types.resource_types).sort((a: any, b: any) => a.name < b.name ? -1 : 1),
      comparable(fixture.resource_types.resource_types).sort((a: any, b: any) => a.name < b.name ? -1 : 1))
  })

  for (const name of Object.keys(fixture.namespace)) {
    t.test(name, async (t) => {
      const base = `/v2/metadefs/namespaces/${enc(name)}`
      t.same(comparable(await get(base)), comparable(fixture.namespace[name]), 'shown')
      t.same(comparable(await get(`${base}/objects`)), comparable(fixture.objects[name]), 'objects')
      t.same(comparable(await get(`${base}/properties`)), comparable(fixture.properties[name]), 'properties')
      t.same(comparable(await get(`${base}/tags`)), comparable(fixture.tags[name]), 'tags')
      t.same(comparable(await get(`${base}/resource_types`)), comparable(fixture.resource_type_associations[name]), 'resource type associations')
      for (const [rt, shown] of Object.entries(fixture.shown_as[name])) {
        t.same(comparable(await get(`${base}?resource_type=${enc(rt)}`)), comparable(shown), `shown for ${rt}`)
      }
    })
  }
})

t.test('merge, prefer-new, overwrite, unload and export', async (t) => {
  const db = await createDatabase()
  t.teardown(() => db.drop())
  const dir = mkdtempSync(join(tmpdir(), 'glint-metadefs-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const write = (doc: unknown): void => writeFileSync(join(dir, 'ns.json'), JSON.stringify(doc))
  const first = {
    namespace: 'Test::Load',
    display_name: 'Test Load',
    description: 'first',
    visibility: 'public',
    protected: true,
    resource_type_associations: [{ name: 'OS::Glance::Image', prefix: 'a_' }],
    properties: { p1: { title: 'P1', type: 'string' } },
    objects: [{ name: 'o1', properties: { x: { title: 'X', type: 'integer' } } }],
    tags: [{ name: 't1' }]
  }
  write(first)
  t.equal((await metadefs(db.url, 'load', dir)).code, 0)

  const glint = await startGlint({ databaseUrl: db.url })
  t.teardown(() => glint.stop())
  const show = async (): Promise<any> => (await glint.request('GET', '/v2/metadefs/namespaces/Test::Load')).json

  const second = {
    ...first,
    description: 'second',
    resource_type_associations: [{ name: 'OS::Glance::Image', prefix: 'b_' }],
    properties: { p1: { title: 'P1 new', type: 'string' }, p2: { title: 'P2', type: 'boolean' } },
    tags: [{ name: 't2' }]
  }
  write(second)
  t.match((await metadefs(db.url, 'load', dir)).stdout, /skipped 1/, 'present already: skipped')
  t.equal((await show()).description, 'first')

  t.equal((await metadefs(db.url, 'load', dir, '--merge')).code, 0)
  let shown = await show()
  t.equal(shown.description, 'first', 'merge keeps what is there')
  t.same(Object.keys(shown.properties), ['p1', 'p2'], 'merge adds what is missing')
  t.equal(shown.properties.p1.title, 'P1')
  t.same(shown.tags.map((x: any) => x.name).sort(), ['t1', 't2'])
  t.equal(shown.resource_type_associations[0].prefix, 'a_')

  t.equal((await metadefs(db.url, 'load', dir, '--merge', '--prefer-new')).code, 0)
  shown = await show()
  t.equal(shown.description, 'second', 'prefer-new replaces')
  t.equal(shown.properties.p1.title, 'P1 new')
  t.equal(shown.resource_type_associations[0].prefix, 'b_')
  t.match(shown.updated_at, GLANCE_TIME, 'and marks the namespace updated')

  t.equal((await metadefs(db.url, 'load', dir, '--merge', '--overwrite')).code, 0)
  shown = await show()
  t.same(shown.tags.map((x: any) => x.name), ['t2'], 'overwrite starts the namespace afresh')
  t.notOk('updated_at' in shown)

  const refused = await metadefs(db.url, 'load', dir, '--overwrite')
  t.equal(refused.code, 2)
  t.match(refused.stderr, /^glint: To use --prefer_new or --overwrite you need to combine of these options with --merge option\./)
  t.equal((await metadefs(db.url, 'load', dir, '--merge', '--overwrite', '--prefer-new')).code, 2)

  const out = mkdtempSync(join(tmpdir(), 'glint-metadefs-export-'))
  t.teardown(() => rmSync(out, { recursive: true, force: true }))
  const exported = await metadefs(db.url, 'export', out)
  t.equal(exported.code, 0, exported.stderr)
  t.same(readdirSync(out), ['TestLoad.json'], 'named after the display name')
  const doc = JSON.parse(readFileSync(join(out, 'TestLoad.json'), 'utf8'))
  t.same(doc, {
    namespace: 'Test::Load',
    display_name: 'Test Load',
    description: 'second',
    visibility: 'public',
    protected: true,
    resource_type_associations: [{ name: 'OS::Glance::Image', prefix: 'b_', properties_target: null }],
    properties: second.properties,
    objects: [{ name: 'o1', description: null, properties: first.objects[0].properties }],
    tags: [{ name: 't2' }]
  }, 'the file holds the definitions as loaded')

  t.equal((await metadefs(db.url, 'unload')).code, 0)
  t.equal((await glint.request('GET', '/v2/metadefs/namespaces/Test::Load')).status, 404)
  t.same((await glint.request('GET', '/v2/metadefs/resource_types')).json, { resource_types: [] })

  t.equal((await metadefs(db.url, 'load', join(out, 'TestLoad.json'))).code, 0, 'an exported file loads back')
  t.equal((await show()).description, 'second')
})

t.test('loading into the embedded registry, then serving it', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'glint-metadefs-embedded-'))
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
  const file = join(dataDir, 'one.json')
  writeFileSync(file, JSON.stringify({ namespace: 'Test::Embedded', visibility: 'public', properties: { p: { title: 'P', type: 'string' } } }))
  const env = { ...process.env, GLINT_DATA_DIR: dataDir } as Record<string, string>
  delete env.DATABASE_URL
  const { stdout } = await run(process.execPath, ['bin/glint.js', 'metadefs', 'load', file], { cwd: ROOT, env })
  t.match(stdout, /loaded 1 namespaces/)
  const glint = await startGlint({ env: { GLINT_DATA_DIR: dataDir } })
  t.teardown(() => glint.stop())
  const shown = await glint.request('GET', '/v2/metadefs/namespaces/Test::Embedded')
  t.equal(shown.status, 200)
  t.same(shown.json.properties, { p: { type: 'string', title: 'P' } })
})
