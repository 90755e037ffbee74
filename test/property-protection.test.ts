// property_protection_file in both rule formats (issue 11): a matrix of roles x create /
// read / update / delete over protected property names, sections matched in file order.

import t from 'tap'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { tmpdir } from 'node:os'
import { createImage, startGlint, type Glint } from './helpers/glint.js'
import { TRUSTED_AUTH, admin, member } from './helpers/identities.js'

// What each role may do with a property of each prefix ('' = nothing).
const MATRIX: Record<string, Record<'admin' | 'member', string>> = {
  x_open_: { admin: 'crud', member: 'crud' },
  x_admin_: { admin: 'crud', member: '' },
  x_readonly_: { admin: 'crud', member: 'r' },
  x_none_: { admin: '', member: '' },
  // matches the catch-all `^x_` section, which comes after the ones above
  x_other: { admin: '', member: '' }
}

const ROLES_FILE = `
[^x_open_.*]
create = admin,member
read = admin,member
update = admin,member
delete = admin,member

[^x_admin_.*]
create = admin
read = admin
update = admin
delete = admin

[^x_readonly_.*]
create = admin
read = admin, member
update = admin
delete = admin

[^x_none_.*]
create = !
read = !
update = !
delete = !

[^x_]
create =
read = !
update = !
delete = !

[.*]
create = @
read = @
update = @
delete = @
`

// The same protections as policy rules named in the policies format.
const POLICIES_FILE = `
[^x_open_.*]
create = prop_anyone_known
read = prop_anyone_known
update = prop_anyone_known
delete = prop_anyone_known

[^x_admin_.*]
create = prop_admin
read = prop_admin
update = prop_admin
delete = prop_admin

[^x_readonly_.*]
create = prop_admin
read = prop_anyone_known
update = prop_admin
delete = prop_admin

[^x_none_.*]
create = !
read = !
update = !
delete = !

[^x_]
create = !
read = !
update = !
delete = !

[.*]
create = @
read = @
update = @
delete = @
`
const POLICY_YAML = 'prop_admin: "role:admin"\nprop_anyone_known: "role:admin or role:member"\n'

const PATCH = 'application/openstack-images-v2.1-json-patch'

async function start (t: Tap.Test, format: 'roles' | 'policies'): Promise<Glint> {
  const dir = mkdtempSync(join(tmpdir(), 'glint-protect-'))
  writeFileSync(join(dir, 'protections.conf'), format === 'roles' ? ROLES_FILE : POLICIES_FILE)
  writeFileSync(join(dir, 'policy.yaml'), POLICY_YAML)
  const glint = await startGlint({
    database: 'postgres',
    config: `${TRUSTED_AUTH}[DEFAULT]\nproperty_protection_file = ${dir}/protections.conf\nproperty_protection_rule_format = ${format}\n[oslo_policy]\npolicy_file = ${dir}/policy.yaml\n`
  })
  t.teardown(() => glint.stop())
  return glint
}

for (const format of ['roles', 'policies'] as const) {
  t.test(`${format} format: roles x CRUD`, async (t) => {
    const glint = await start(t, format)
    const who = { admin: admin('p1'), member: member('p1') }
    const patch = async (id: string, headers: Record<string, string>, ops: unknown[]): Promise<{ status: number, json: any }> =>
      await glint.request('PATCH', `/v2/images/${id}`, { headers: { ...headers, 'Content-Type': PATCH }, body: JSON.stringify(ops) })
    // an image holding `name`, created by an admin; undefined when no role may create it
    const holding = async (name: string): Promise<string | undefined> => {
      const reply = await glint.request('POST', '/v2/images', { headers: who.admin, json: { name: 'holder', [name]: 'v' } })
      return reply.status === 201 ? reply.json.id : undefined
    }

    for (const [prefix, allowed] of Object.entries(MATRIX)) {
      const name = prefix.endsWith('_') ? `${prefix}a` : prefix
      for (const role of ['admin', 'member'] as const) {
        const can = allowed[role]
        const label = `${role} on ${name}`

        const created = await glint.request('POST', '/v2/images', { headers: who[role], json: { name: 'c', [name]: 'v' } })
        t.equal(created.status, can.includes('c') ? 201 : 403, `${label}: create`)
        if (!can.includes('c')) t.match(created.json?.message, new RegExp(`^Attribute '${name}' is reserved\\.`), `${label}: Glance's message`)

        const id = await holding(name)
        if (id === undefined) continue // nobody may create it: nothing to read, update or delete
        const shown = (await glint.request('GET', `/v2/images/${id}`, { headers: who[role] })).json
        t.equal(shown[name], can.includes('r') ? 'v' : undefined, `${label}: read (show)`)
        const listed = (await glint.request('GET', '/v2/images?name=holder', { headers: who[role] })).json.images.find((i: any) => i.id === id)
        t.equal(listed?.[name], can.includes('r') ? 'v' : undefined, `${label}: read (list)`)

        const updated = await patch(id, who[role], [{ op: 'replace', path: `/${name}`, value: 'w' }])
        // replacing a property one cannot read is replacing one that does not exist (409)
        t.equal(updated.status, can.includes('u') ? 200 : can.includes('r') ? 403 : 409, `${label}: update`)

        const removed = await patch(id, who[role], [{ op: 'remove', path: `/${name}` }])
        t.equal(removed.status, can.includes('d') ? 200 : can.includes('r') ? 403 : 409, `${label}: delete`)
        const after = (await glint.request('GET', `/v2/images/${id}`, { headers: who.admin })).json
        t.equal(after[name] === undefined, can.includes('d'), `${label}: the property is gone only when delete was allowed`)
      }
    }

    // adding a property one may not read but that exists is a create (Glance's proxy cannot see it)
    const hidden = await createImage(glint, { name: 'hidden', x_admin_a: 'secret' }, who.admin)
    const overwrite = await patch(hidden.id, who.member, [{ op: 'add', path: '/x_admin_a', value: 'mine' }])
    t.equal(overwrite.status, 403, 'member: add over an unreadable property is a refused create')
    t.equal((await glint.request('GET', `/v2/images/${hidden.id}`, { headers: who.admin })).json.x_admin_a, 'secret', 'unchanged')
    const unprotected = await patch(hidden.id, who.member, [{ op: 'add', path: '/plain', value: 'ok' }])
    t.equal(unprotected.status, 200, 'an unprotected property is free')
    t.equal(unprotected.json.x_admin_a, undefined, 'the answer hides what the member may not read')
    t.equal((await glint.request('GET', `/v2/images/${hidden.id}`, { headers: who.admin })).json.x_admin_a, 'secret', 'and the update kept it')
  })
}

t.test('a malformed property protection file stops the start', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'glint-protect-'))
  writeFileSync(join(dir, 'missing-op.conf'), '[^x_.*]\ncreate = admin\nread = admin\nupdate = admin\n')
  writeFileSync(join(dir, 'both.conf'), '[^x_.*]\ncreate = @,!\nread = @\nupdate = @\ndelete = @\n')
  for (const [file, why] of [['missing-op.conf', /has no 'delete'/], ['both.conf', /mutually exclusive/], ['absent.conf', /does not exist/]] as const) {
    await t.rejects(startGlint({ config: `[DEFAULT]\nproperty_protection_file = ${dir}/${file}\n` }), why, file)
  }
})
