// The metadata definitions API through Debian's python3-glanceclient 4.1 (`glance md-*`), as an
// operator or Horizon's tooling drives it: namespaces, objects, properties, tags, resource
// types, and what another project sees (through a trusted-headers proxy). glanceclient 4.1's
// `md-tag-create-multiple --append` fails in the client itself ("quote_from_bytes() expected
// bytes", the same against the real Glance 25.1), so appending is covered over HTTP in
// metadefs-api.test.ts.

import t from 'tap'
import { startGlint } from './helpers/glint.js'
import { TRUSTED_AUTH, admin, member } from './helpers/identities.js'
import { clients, clientsMissing, identityProxy, parseProperties, parseTable } from './helpers/clients.js'

const missing = clientsMissing()

t.test('glance md-* commands', { skip: missing ?? false }, async (t) => {
  const glint = await startGlint({ database: 'postgres', config: TRUSTED_AUTH })
  t.teardown(() => glint.stop())
  // the client as an admin of one project, and as a member of another
  const asAdmin = await identityProxy(glint.url, admin('ops-project'))
  t.teardown(() => asAdmin.close())
  const asOther = await identityProxy(glint.url, member('other-project'))
  t.teardown(() => asOther.close())
  const mine = clients(asAdmin.url)
  const other = clients(asOther.url)
  t.teardown(() => { mine.cleanup(); other.cleanup() })
  const { glance } = mine

  const ok = async (...args: string[]): Promise<string> => {
    const run = await glance(...args)
    if (run.code !== 0) throw new Error(`${run.command}: exit ${run.code}\n${run.output}`)
    return run.stdout
  }

  t.test('namespaces', async (t) => {
    const made = parseProperties(await ok('md-namespace-create', 'GC::Ns', '--display-name', 'GC namespace', '--description', 'from glanceclient', '--visibility', 'public'))
    t.match(made, { namespace: 'GC::Ns', display_name: 'GC namespace', description: 'from glanceclient', visibility: 'public', protected: 'False', owner: 'ops-project' })
    await ok('md-namespace-create', 'GC::Private', '--protected', 'True')
    const shown = parseProperties(await ok('md-namespace-show', 'GC::Ns'))
    t.equal(shown.namespace, 'GC::Ns')
    const updated = parseProperties(await ok('md-namespace-update', 'GC::Ns', '--description', 'changed', '--visibility', 'public'))
    t.equal(updated.description, 'changed')
    const names = parseTable(await ok('md-namespace-list')).map((r) => r.namespace)
    t.ok(names.includes('GC::Ns') && names.includes('GC::Private'))
    const seenByOther = parseTable((await other.glance('md-namespace-list')).stdout).map((r) => r.namespace)
    t.ok(seenByOther.includes('GC::Ns'), 'the public namespace is listed for another project')
    t.notOk(seenByOther.includes('GC::Private'), 'the private one is not')
    const hidden = await other.glance('md-namespace-show', 'GC::Private')
    t.not(hidden.code, 0)
    t.match(hidden.output, /HTTP 404 Not Found/)
    const refused = await glance('md-namespace-delete', 'GC::Private')
    t.not(refused.code, 0)
    t.match(refused.output, /HTTP 403 Forbidden: Metadata definition namespace GC::Private is protected and cannot be deleted\./)
  })

  t.test('objects', async (t) => {
    const made = parseProperties(await ok('md-object-create', 'GC::Ns', '--name', 'obj1', '--schema',
      JSON.stringify({ description: 'an object', required: ['a'], properties: { a: { title: 'A', type: 'string' } } })))
    t.match(made, { name: 'obj1', description: 'an object', required: '["a"]', properties: '["a"]' })
    t.same(parseTable(await ok('md-object-list', 'GC::Ns')), [{ name: 'obj1', description: 'an object' }])
    t.match(parseProperties(await ok('md-object-show', 'GC::Ns', 'obj1')), { name: 'obj1', required: '["a"]' })
    t.same(parseProperties(await ok('md-object-property-show', 'GC::Ns', 'obj1', 'a')), { name: 'a', title: 'A', type: 'string' })
    t.equal(parseProperties(await ok('md-object-update', 'GC::Ns', 'obj1', '--name', 'obj2')).name, 'obj2')
    await ok('md-object-delete', 'GC::Ns', 'obj2')
    const gone = await glance('md-object-show', 'GC::Ns', 'obj2')
    t.match(gone.output, /HTTP 404 Not Found: Could not find metadata object obj2/)
  })

  t.test('properties', async (t) => {
    t.same(parseProperties(await ok('md-property-create', 'GC::Ns', '--name', 'p1', '--title', 'P1', '--schema', '{"type": "integer", "minimum": 1}')),
      { name: 'p1', title: 'P1', type: 'integer', minimum: '1' })
    t.same(parseTable(await ok('md-property-list', 'GC::Ns')), [{ name: 'p1', title: 'P1', type: 'integer' }])
    t.equal(parseProperties(await ok('md-property-show', 'GC::Ns', 'p1')).minimum, '1')
    t.match(parseProperties(await ok('md-property-update', 'GC::Ns', 'p1', '--name', 'p2', '--title', 'P2', '--schema', '{"type": "string"}')),
      { name: 'p2', title: 'P2', type: 'string' })
    await ok('md-property-delete', 'GC::Ns', 'p2')
    t.match((await glance('md-property-show', 'GC::Ns', 'p2')).output, /HTTP 404 Not Found: Could not find property p2/)
  })

  t.test('tags', async (t) => {
    t.equal(parseProperties(await ok('md-tag-create', 'GC::Ns', '--name', 't1')).name, 't1')
    t.same(parseTable(await ok('md-tag-create-multiple', 'GC::Ns', '--names', 'a,b', '--delim', ',')).map((r) => r.name), ['a', 'b'])
    t.same(parseTable(await ok('md-tag-list', 'GC::Ns')).map((r) => r.name).sort(), ['a', 'b'], 'several tags replace the others')
    t.equal(parseProperties(await ok('md-tag-show', 'GC::Ns', 'a')).name, 'a')
    t.equal(parseProperties(await ok('md-tag-update', 'GC::Ns', 'a', '--name', 'c')).name, 'c')
    await ok('md-tag-delete', 'GC::Ns', 'c')
    t.same(parseTable(await ok('md-tag-list', 'GC::Ns')).map((r) => r.name), ['b'])
    await ok('md-namespace-tags-delete', 'GC::Ns')
    t.same(parseTable(await ok('md-tag-list', 'GC::Ns')), [])
  })

  t.test('resource types', async (t) => {
    t.match(parseProperties(await ok('md-resource-type-associate', 'GC::Ns', '--name', 'OS::Nova::Flavor', '--prefix', 'gc:')), { name: 'OS::Nova::Flavor', prefix: 'gc:' })
    t.same(parseTable(await ok('md-namespace-resource-type-list', 'GC::Ns')), [{ name: 'OS::Nova::Flavor', prefix: 'gc:', properties_target: '' }])
    t.ok(parseTable(await ok('md-resource-type-list')).some((r) => r.name === 'OS::Nova::Flavor'))
    t.same(parseTable(await ok('md-namespace-list', '--resource-types', 'OS::Nova::Flavor')).map((r) => r.namespace), ['GC::Ns'])
    await ok('md-resource-type-deassociate', 'GC::Ns', 'OS::Nova::Flavor')
    t.same(parseTable(await ok('md-namespace-resource-type-list', 'GC::Ns')), [])
  })

  t.test('deleting a namespace\'s contents, then the namespace', async (t) => {
    await ok('md-object-create', 'GC::Ns', '--name', 'o', '--schema', '{}')
    await ok('md-property-create', 'GC::Ns', '--name', 'p', '--title', 'P', '--schema', '{"type": "string"}')
    await ok('md-namespace-objects-delete', 'GC::Ns')
    await ok('md-namespace-properties-delete', 'GC::Ns')
    t.same(parseTable(await ok('md-object-list', 'GC::Ns')), [])
    t.same(parseTable(await ok('md-property-list', 'GC::Ns')), [])
    await ok('md-namespace-delete', 'GC::Ns')
    t.match((await glance('md-namespace-show', 'GC::Ns')).output, /HTTP 404 Not Found: Metadata definition namespace=GC::Ns was not found\./)
  })
})
