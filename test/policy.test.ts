// [oslo_policy]: Glance 25.1's default rules and an operator's policy file, through one
// enforce() for every action (issue 11). Identities come from trusted headers.

import t from 'tap'
import { createImage, startGlint, type Glint } from './helpers/glint.js'
import { TRUSTED_AUTH, admin, member } from './helpers/identities.js'

const withPolicy = (file: string, text: string, extra = ''): string =>
  `${TRUSTED_AUTH}[oslo_policy]\npolicy_file = {dataDir}/${file}\n${extra}\n`

async function startWith (t: Tap.Test, config: string, files: Record<string, string>): Promise<Glint> {
  // the policy file must exist when the server starts: write it through an env-free hook
  const { mkdtempSync, writeFileSync } = await import('node:fs')
  const { join } = await import('node:path')
  const { tmpdir } = await import('node:os')
  const dir = mkdtempSync(join(tmpdir(), 'glint-policy-'))
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text)
  const glint = await startGlint({ config: config.replaceAll('{dataDir}', dir), database: 'postgres' })
  t.teardown(() => glint.stop())
  return glint
}

const yes = (reply: { status: number }, status: number): boolean => reply.status === status

t.test('a policy file that forbids delete_image for members (YAML and JSON)', async (t) => {
  for (const [file, text] of [
    ['policy.yaml', '# members may not delete\ndelete_image: "role:admin"\n'],
    ['policy.json', JSON.stringify({ delete_image: 'role:admin' })]
  ]) {
    const glint = await startWith(t, withPolicy(file, text), { [file]: text })
    const mine = await createImage(glint, { name: 'member-made' }, member('p1'))
    const refused = await glint.request('DELETE', `/v2/images/${mine.id}`, { headers: member('p1') })
    t.equal(refused.status, 403, `${file}: the owning member may not delete`)
    t.match(refused.json?.message, /^You are not authorized to complete delete_image action\./, `${file}: Glance's message`)
    t.equal((await glint.request('GET', `/v2/images/${mine.id}`, { headers: member('p1') })).status, 200, 'still there')
    // other actions keep their defaults
    const patched = await glint.request('PATCH', `/v2/images/${mine.id}`, {
      headers: { ...member('p1'), 'Content-Type': 'application/openstack-images-v2.1-json-patch' },
      body: JSON.stringify([{ op: 'replace', path: '/name', value: 'renamed' }])
    })
    t.equal(patched.status, 200, `${file}: modify_image is untouched`)
    t.ok(yes(await glint.request('DELETE', `/v2/images/${mine.id}`, { headers: admin('p1') }), 204), `${file}: an admin may`)
  }
})

t.test('publicize_image: admin only by default, allowed to members by a policy file', async (t) => {
  const defaults = await startGlint({ config: TRUSTED_AUTH, database: 'postgres' })
  t.teardown(() => defaults.stop())
  const refused = await defaults.request('POST', '/v2/images', { headers: member('p1'), json: { name: 'pub', visibility: 'public' } })
  t.equal(refused.status, 403, 'default: a member may not create a public image')
  t.match(refused.json?.message, /^You are not authorized to complete publicize_image action\./)

  const text = 'publicize_image: "role:member"\n'
  const glint = await startWith(t, withPolicy('policy.yaml', text), { 'policy.yaml': text })
  const created = await glint.request('POST', '/v2/images', { headers: member('p1'), json: { name: 'pub', visibility: 'public' } })
  t.equal(created.status, 201, 'a member may create a public image')
  t.equal(created.json.visibility, 'public')
  const other = await createImage(glint, { name: 'later' }, member('p1'))
  const patched = await glint.request('PATCH', `/v2/images/${other.id}`, {
    headers: { ...member('p1'), 'Content-Type': 'application/openstack-images-v2.1-json-patch' },
    body: JSON.stringify([{ op: 'replace', path: '/visibility', value: 'public' }])
  })
  t.equal(patched.status, 200, 'and make one public')
  t.equal((await glint.request('GET', `/v2/images/${other.id}`, { headers: member('p2') })).json.visibility, 'public', 'another project sees it')
})

t.test('the rule language: rule:, not, parentheses, %(owner)s, @ and !', async (t) => {
  const text = [
    'is_owner: "project_id:%(owner)s"',
    'modify_image: "rule:is_owner and not (role:auditor or role:observer)"',
    'download_image: "!"',
    'get_images: "@"'
  ].join('\n') + '\n'
  const glint = await startWith(t, withPolicy('policy.yaml', text), { 'policy.yaml': text })
  const image = await createImage(glint, { name: 'rules' }, member('p1'))
  const patch = async (headers: Record<string, string>): Promise<number> => (await glint.request('PATCH', `/v2/images/${image.id}`, {
    headers: { ...headers, 'Content-Type': 'application/openstack-images-v2.1-json-patch' },
    body: JSON.stringify([{ op: 'replace', path: '/name', value: 'x' }])
  })).status
  t.equal(await patch(member('p1')), 200, 'the owner may modify')
  t.equal(await patch({ ...member('p1'), 'X-Roles': 'member,auditor' }), 403, 'not an auditor')
  t.equal(await patch({ ...member('p1'), 'X-Roles': 'member,Observer' }), 403, 'nor an observer (roles compare without case)')
  const admins = await patch(admin('p9'))
  t.equal(admins, 403, 'an admin of another project is not the owner: the file replaced the default')
  const download = await glint.request('GET', `/v2/images/${image.id}/file`, { headers: member('p1') })
  t.equal(download.status, 403, '"!" refuses everyone')
  t.match(download.json?.message, /download_image/)
  t.equal((await glint.request('GET', '/v2/images', { headers: member('p1') })).status, 200, '"@" allows everyone')
})

t.test('enforce_new_defaults: the secure-RBAC personas replace the legacy owner checks', async (t) => {
  const legacy = await startGlint({ config: TRUSTED_AUTH, database: 'postgres' })
  t.teardown(() => legacy.stop())
  const reader = { ...member('p1'), 'X-Roles': 'reader' }
  const a = await createImage(legacy, { name: 'legacy' }, member('p1'))
  t.equal((await legacy.request('DELETE', `/v2/images/${a.id}`, { headers: reader })).status, 204,
    'legacy defaults: anyone of the owning project may delete (rule:default, then the owner check)')
  const b = await createImage(legacy, { name: 'legacy-2' }, member('p1'))
  const stranger = await legacy.request('DELETE', `/v2/images/${b.id}`, { headers: member('p2') })
  t.equal(stranger.status, 404, 'another project does not even see a private image')

  const secure = await startGlint({ config: `${TRUSTED_AUTH}[DEFAULT]\nenforce_secure_rbac = true\n[oslo_policy]\nenforce_new_defaults = true\n`, database: 'postgres' })
  t.teardown(() => secure.stop())
  const c = await createImage(secure, { name: 'secure' }, member('p1'))
  const refused = await secure.request('DELETE', `/v2/images/${c.id}`, { headers: reader })
  t.equal(refused.status, 403, 'new defaults: a reader may not delete')
  t.match(refused.json?.message, /^You are not authorized to complete delete_image action\./)
  t.equal((await secure.request('GET', `/v2/images/${c.id}`, { headers: reader })).status, 200, 'but may read')
  const create = await secure.request('POST', '/v2/images', { headers: reader, json: { name: 'r' } })
  t.equal(create.status, 403, 'nor create (add_image needs member)')
  t.equal((await secure.request('DELETE', `/v2/images/${c.id}`, { headers: member('p1') })).status, 204, 'a member may')
})

t.test('context_is_admin decides who is admin', async (t) => {
  const text = 'context_is_admin: "role:superuser"\n'
  const glint = await startWith(t, withPolicy('policy.yaml', text), { 'policy.yaml': text })
  const hidden = await createImage(glint, { name: 'private', visibility: 'private' }, member('p1'))
  const superuser = { ...member('p9'), 'X-Roles': 'superuser' }
  t.equal((await glint.request('GET', `/v2/images/${hidden.id}`, { headers: superuser })).status, 200, 'a superuser sees every image')
  t.equal((await glint.request('GET', `/v2/images/${hidden.id}`, { headers: admin('p9') })).status, 404, 'the admin role alone no longer does')
})

t.test('a policy file that cannot be read or parsed, or mismatched RBAC switches, stop the start', async (t) => {
  await t.rejects(startWith(t, withPolicy('policy.yaml', ''), { 'policy.yaml': 'delete_image: [unclosed\n' }), /neither YAML nor JSON/)
  await t.rejects(startWith(t, withPolicy('missing.yaml', ''), {}), /policy_file .* does not exist/)
  await t.rejects(startGlint({ config: `${TRUSTED_AUTH}[oslo_policy]\nenforce_new_defaults = true\n` }), /enforce_secure_rbac does not match/)
})
