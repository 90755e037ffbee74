// Debian's glanceclient and openstackclient against a Glint with flavor = keystone, logging in
// to the real test Keystone (test/keystone/keystone.sh) with a user's password, as people do:
// create, list, show, update, tags, members, delete; a user of another project sees what
// Glance would show it.

import t from 'tap'
import { startGlint } from './helpers/glint.js'
import { KEYSTONE_URL, createAccount, deleteAccount, keystoneConfig, keystoneMissing, type Account } from './helpers/keystone.js'
import { clients, clientsMissing, parseProperties, parseTable, type KeystoneLogin } from './helpers/clients.js'

const missing = await keystoneMissing()

t.test('glanceclient and openstackclient through Keystone, logging in with a password', { skip: missing ?? clientsMissing() }, async (t) => {
  const glint = await startGlint({ config: keystoneConfig() })
  t.teardown(() => glint.stop())
  const alice = await createAccount('member')
  const bob = await createAccount('member')
  t.teardown(async () => { await deleteAccount(alice); await deleteAccount(bob) })
  const login = (a: Account): KeystoneLogin => ({ authUrl: KEYSTONE_URL, username: a.username, password: a.password, projectName: a.projectName })
  const a = clients(glint.url, { keystone: login(alice) })
  const b = clients(glint.url, { keystone: login(bob) })
  t.teardown(() => { a.cleanup(); b.cleanup() })

  const [created, osc] = await Promise.all([
    a.glance('image-create', '--name', 'k-glance', '--disk-format', 'raw', '--container-format', 'bare', '--property', 'os_distro=cirros', '--tags', 'red'),
    a.openstack('image', 'create', '--disk-format', 'raw', '--container-format', 'bare', '--shared', '--property', 'foo=bar', '-f', 'json', 'k-osc')
  ])
  t.equal(created.code, 0, created.output)
  const shown = parseProperties(created.stdout)
  t.match(shown, { name: 'k-glance', owner: alice.projectId, os_distro: 'cirros', status: 'queued' })
  t.equal(osc.code, 0, osc.output)
  const oscImage = JSON.parse(osc.stdout)
  t.equal(oscImage.owner, alice.projectId)

  const [listed, oscList, updated, set, tagged, bobList, notFound, added] = await Promise.all([
    a.glance('image-list'),
    a.openstack('image', 'list', '-f', 'json'),
    a.glance('image-update', '--min-ram', '64', shown.id),
    a.openstack('image', 'set', '--property', 'suite=keystone', oscImage.id),
    a.glance('image-tag-update', shown.id, 'blue'),
    b.glance('image-list'),
    b.glance('image-show', shown.id),
    a.openstack('image', 'add', 'project', oscImage.id, bob.projectId)
  ])
  t.same(parseTable(listed.stdout).map((r) => r.Name).sort(), ['k-glance', 'k-osc'])
  t.same(JSON.parse(oscList.stdout).map((i: any) => i.Name).sort(), ['k-glance', 'k-osc'])
  t.equal(updated.code, 0, updated.output)
  t.equal(set.code, 0, set.output)
  t.equal(tagged.code, 0, tagged.output)
  t.equal(bobList.code, 0, bobList.output)
  t.equal(bobList.stdout.includes('k-'), false, 'bob lists none of them')
  t.not(notFound.code, 0, 'bob: image-show of alice\'s private image fails')
  t.match(notFound.output, /404|No image with/)
  t.equal(added.code, 0, 'openstack image add project')

  const [again, oscShown, members] = await Promise.all([
    a.glance('image-show', shown.id),
    a.openstack('image', 'show', '-f', 'json', oscImage.id),
    a.glance('member-list', '--image-id', oscImage.id)
  ])
  const againProps = parseProperties(again.stdout)
  t.match(againProps, { min_ram: '64' })
  t.same(JSON.parse(againProps.tags).sort(), ['blue', 'red'])
  t.match(JSON.parse(oscShown.stdout).properties, { suite: 'keystone', foo: 'bar' })
  t.match(parseTable(members.stdout), [{ 'Member ID': bob.projectId, Status: 'pending' }])

  t.equal((await b.glance('member-update', oscImage.id, bob.projectId, 'accepted')).code, 0, 'bob accepts')
  const [bobLists, bobDeletes] = await Promise.all([b.glance('image-list'), b.openstack('image', 'delete', oscImage.id)])
  t.same(parseTable(bobLists.stdout).map((r) => r.Name), ['k-osc'], 'and lists it')
  t.not(bobDeletes.code, 0, 'bob may not delete it')

  const [d1, d2] = await Promise.all([a.glance('image-delete', shown.id), a.openstack('image', 'delete', oscImage.id)])
  t.equal(d1.code, 0, d1.output)
  t.equal(d2.code, 0, d2.output)
  t.same(parseTable((await a.glance('image-list')).stdout).map((r) => r.Name), [])
})
