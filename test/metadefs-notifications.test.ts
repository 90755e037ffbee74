// Metadefs notifications (issue 13), read from the real RabbitMQ: each change to a namespace,
// object, property or tag is published with Glance's event type and payload
// (glance/notifier.py format_metadef_*), `*_old` naming what an update renamed, and a delete
// saying so. A server with no notifier configured sends nothing and answers the same.

import t from 'tap'
import { randomBytes } from 'node:crypto'
import { startGlint, type Glint } from './helpers/glint.js'
import { brokerMissing, listen, TRANSPORT } from './helpers/amqp.js'

const missing = await brokerMissing()
const unwrap = (r: { body: any }): any => JSON.parse(r.body['oslo.message'])

/** A Glint publishing to a topic of its own, and a queue bound to that topic. */
async function notifyingGlint (t: Tap.Test): Promise<{ glint: Glint, listener: Awaited<ReturnType<typeof listen>> }> {
  const topic = `glint_metadefs_${randomBytes(4).toString('hex')}`
  const listener = await listen(topic)
  t.teardown(() => listener.close())
  const glint = await startGlint({
    database: 'postgres',
    config: `[oslo_messaging_notifications]\ndriver = messagingv2\ntransport_url = ${TRANSPORT}\ntopics = ${topic}\n`
  })
  t.teardown(() => glint.stop())
  return { glint, listener }
}

t.test('metadef_* notifications', { skip: missing }, async (t) => {
  const { glint, listener } = await notifyingGlint(t)
  const ns = `glint-notify-${randomBytes(3).toString('hex')}`
  const base = `/v2/metadefs/namespaces`
  const steps: Array<[string, string, unknown, number]> = [
    ['POST', base, { namespace: ns, display_name: 'N', visibility: 'public', description: 'd' }, 201],
    ['PUT', `${base}/${ns}`, { namespace: `${ns}-2`, display_name: 'N2', visibility: 'public' }, 200],
    ['POST', `${base}/${ns}-2/objects`, { name: 'obj', required: ['p'], properties: { p: { type: 'string', title: 'P' } } }, 201],
    ['PUT', `${base}/${ns}-2/objects/obj`, { name: 'obj2', properties: { p: { type: 'integer', title: 'P', minimum: 1 } } }, 200],
    ['POST', `${base}/${ns}-2/properties`, { name: 'prop', type: 'string', title: 'Prop', enum: ['a', 'b'] }, 201],
    ['PUT', `${base}/${ns}-2/properties/prop`, { name: 'prop2', type: 'string', title: 'Prop' }, 200],
    ['POST', `${base}/${ns}-2/tags/t1`, undefined, 201],
    ['PUT', `${base}/${ns}-2/tags/t1`, { name: 't2' }, 200],
    ['DELETE', `${base}/${ns}-2/tags/t2`, undefined, 204],
    ['DELETE', `${base}/${ns}-2/properties/prop2`, undefined, 204],
    ['DELETE', `${base}/${ns}-2/objects/obj2`, undefined, 204],
    ['DELETE', `${base}/${ns}-2`, undefined, 204]
  ]
  for (const [method, path, json, status] of steps) {
    const reply = await glint.request(method, path, json === undefined ? {} : { json })
    t.equal(reply.status, status, `${method} ${path}: ${reply.text.slice(0, 200)}`)
  }
  const received = (await listener.waitFor(steps.length)).map(unwrap)
  t.same(received.map((m) => m.event_type), [
    'metadef_namespace.create', 'metadef_namespace.update',
    'metadef_object.create', 'metadef_object.update',
    'metadef_property.create', 'metadef_property.update',
    'metadef_tag.create', 'metadef_tag.update', 'metadef_tag.delete',
    'metadef_property.delete', 'metadef_object.delete', 'metadef_namespace.delete'
  ], 'one notification per change, in order, with Glance\'s event types')
  const [nsCreate, nsUpdate, objCreate, objUpdate, propCreate, propUpdate, tagCreate, tagUpdate, tagDelete, , , nsDelete] = received
  t.match(nsCreate.payload, { namespace: ns, namespace_old: ns, display_name: 'N', visibility: 'public', protected: false, owner: 'admin', description: 'd', deleted: false, deleted_at: null })
  t.match(nsCreate.payload.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, 'times as Glance\'s isotime')
  t.match(nsUpdate.payload, { namespace: `${ns}-2`, namespace_old: ns, display_name: 'N2' }, 'an update names the old namespace')
  t.match(objCreate.payload, { namespace: `${ns}-2`, name: 'obj', name_old: 'obj', required: ['p'], deleted: false })
  t.match(objCreate.payload.properties, [{ name: 'p', type: 'string', title: 'P', minimum: null }])
  t.match(objUpdate.payload, { name: 'obj2', name_old: 'obj' })
  t.match(objUpdate.payload.properties, [{ name: 'p', type: 'integer', minimum: 1 }])
  t.match(propCreate.payload, { namespace: `${ns}-2`, name: 'prop', name_old: 'prop', type: 'string', title: 'Prop', enum: ['a', 'b'], deleted: false })
  t.match(propUpdate.payload, { name: 'prop2', name_old: 'prop' })
  t.match(tagCreate.payload, { namespace: `${ns}-2`, name: 't1', name_old: 't1', deleted: false })
  t.match(tagUpdate.payload, { name: 't2', name_old: 't1' })
  t.match(tagDelete.payload, { name: 't2', deleted: true })
  t.match(tagDelete.payload.deleted_at, /^\d{4}-\d\d-\d\dT/, 'a delete says when')
  t.match(nsDelete.payload, { namespace: `${ns}-2`, deleted: true })
  for (const m of received) {
    t.equal(m.priority, 'INFO')
    t.match(m.publisher_id, /^image\./)
  }
})

// A namespace created with its contents is announced part by part, in Glance's order
// (glance/api/v2/metadef_namespaces.py create: resource types, objects, tags, properties), and a
// resource type association on its own is metadef_resource_type.create / .delete.
t.test('metadef_resource_type.* and a namespace created with its contents', { skip: missing }, async (t) => {
  const { glint, listener } = await notifyingGlint(t)
  const ns = `glint-rt-${randomBytes(3).toString('hex')}`
  const created = await glint.request('POST', '/v2/metadefs/namespaces', {
    json: {
      namespace: ns,
      visibility: 'public',
      resource_type_associations: [{ name: 'OS::Glance::Image', prefix: 'hw_' }],
      objects: [{ name: 'obj', required: ['p'], properties: { p: { type: 'string', title: 'P' } } }],
      tags: [{ name: 'tag1' }],
      properties: { speed: { type: 'integer', title: 'Speed', minimum: 1 } }
    }
  })
  t.equal(created.status, 201, created.text.slice(0, 200))
  const added = await glint.request('POST', `/v2/metadefs/namespaces/${ns}/resource_types`, { json: { name: 'OS::Nova::Flavor', properties_target: 'flavor' } })
  t.equal(added.status, 201, added.text.slice(0, 200))
  t.equal((await glint.request('DELETE', `/v2/metadefs/namespaces/${ns}/resource_types/OS::Nova::Flavor`)).status, 204)
  t.equal((await glint.request('DELETE', `/v2/metadefs/namespaces/${ns}/resource_types/OS::Nova::Flavor`)).status, 404, 'a second delete finds nothing')
  const received = (await listener.waitFor(7)).map(unwrap)
  t.same(received.map((m) => m.event_type), [
    'metadef_namespace.create', 'metadef_resource_type.create', 'metadef_object.create', 'metadef_tag.create',
    'metadef_property.create', 'metadef_resource_type.create', 'metadef_resource_type.delete'
  ], 'each part, and nothing for the refused delete')
  const [, rtInNs, obj, tag, prop, rtAdded, rtDeleted] = received
  t.match(rtInNs.payload, { namespace: ns, name: 'OS::Glance::Image', name_old: 'OS::Glance::Image', prefix: 'hw_', properties_target: null, deleted: false, deleted_at: null })
  t.match(rtInNs.payload.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
  t.match(obj.payload, { namespace: ns, name: 'obj', required: ['p'] })
  t.match(obj.payload.properties, [{ name: 'p', type: 'string', title: 'P' }])
  t.match(tag.payload, { namespace: ns, name: 'tag1' })
  t.match(prop.payload, { namespace: ns, name: 'speed', type: 'integer', minimum: 1 })
  t.match(rtAdded.payload, { namespace: ns, name: 'OS::Nova::Flavor', prefix: null, properties_target: 'flavor', deleted: false })
  t.match(rtDeleted.payload, { namespace: ns, name: 'OS::Nova::Flavor', properties_target: 'flavor', deleted: true })
  t.match(rtDeleted.payload.deleted_at, /^\d{4}-\d\d-\d\dT/)
  t.equal((await glint.request('DELETE', `/v2/metadefs/namespaces/${ns}`)).status, 204)
})
