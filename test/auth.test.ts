// Identity and authorization (glance-v2.md sections 0, 4.1, 4.4): noauth and trusted-header
// modes, 401s, and who may see and change whose image: a private image of another project
// is a 404 (never a 403), a visible image of another project a 403 to change. The matrix was
// checked against the real Glance 25.1.

import t from 'tap'
import { startGlint, type Glint } from './helpers/glint.js'
import { TRUSTED_AUTH, admin, member } from './helpers/identities.js'

const JSON_PATCH = { 'Content-Type': 'application/openstack-images-v2.1-json-patch' }
const WEBOB_401 = 'This server could not verify that you are authorized to access the document you requested. Either you supplied the wrong credentials (e.g., bad password), or your browser does not understand how to supply the credentials required.'

t.test('noauth (the default): every caller is an admin of default_project_id', async (t) => {
  const glint = await startGlint({ config: '[DEFAULT]\ndefault_project_id = ops-project\n' })
  t.teardown(() => glint.stop())

  const created = await glint.request('POST', '/v2/images', { json: { name: 'mine', visibility: 'public' } })
  t.equal(created.status, 201, 'an admin may publicize')
  t.equal(created.json.owner, 'ops-project', 'images get the default project as owner')
  const spoofed = await glint.request('POST', '/v2/images', {
    json: { name: 'spoofed' },
    headers: { 'X-Identity-Status': 'Confirmed', 'X-Project-Id': 'someone-else', 'X-Roles': 'member' }
  })
  t.equal(spoofed.json.owner, 'ops-project', 'identity headers mean nothing without trusted-auth')
  const foreign = await glint.request('POST', '/v2/images', { json: { name: 'theirs', owner: 'other-project', visibility: 'private' } })
  t.equal(foreign.json.owner, 'other-project', 'an admin may create for another project')
  t.equal((await glint.request('GET', `/v2/images/${foreign.json.id}`)).status, 200, 'and sees it')
  const listed = await glint.request('GET', '/v2/images')
  t.same(listed.json.images.map((i: any) => i.name).sort(), ['mine', 'spoofed', 'theirs'])
})

t.test('paste flavors: keystone without [keystone_authtoken] and unknown ones refuse to start', async (t) => {
  for (const [flavor, message] of [['keystone', /needs \[keystone_authtoken\] auth_url, username, password/], ['keystone+cachemanagement', /needs \[keystone_authtoken\] auth_url/],
    ['keystone+bogus', /is not one of Glance's/], ['bogus', /is not one of Glance's/]] as const) {
    await t.rejects(startGlint({ config: `[paste_deploy]\nflavor = ${flavor}\n` }), message, flavor)
  }
  const caching = await startGlint({ config: '[DEFAULT]\nimage_cache_dir = {dataDir}/cache\n[paste_deploy]\nflavor = caching\n' })
  t.teardown(() => caching.stop())
  t.equal((await caching.request('POST', '/v2/images', { json: { name: 'x', visibility: 'public' } })).status, 201,
    'Glance\'s unauthenticated caching flavor is noauth')
})

for (const database of ['embedded', 'postgres'] as const) {
  t.test(`trusted headers on ${database} registry`, async (t) => {
    const glint: Glint = await startGlint({ database, config: TRUSTED_AUTH })
    t.teardown(() => glint.stop())
    const P1 = member('p1')
    const P2 = member('p2')
    const P3 = member('p3')
    const ADMIN = admin()

    t.test('401 unless X-Identity-Status is Confirmed; anonymous routes stay open', async (t) => {
      for (const headers of [{}, { 'X-Identity-Status': 'confirmed', 'X-Project-Id': 'p1' }, { 'X-Identity-Status': 'Invalid', 'X-Project-Id': 'p1' }]) {
        for (const [method, path] of [['GET', '/v2/images'], ['POST', '/v2/images'], ['GET', '/v2/schemas/image']]) {
          const reply = await glint.request(method, path, { headers, json: method === 'POST' ? { name: 'sneaky' } : undefined })
          t.equal(reply.status, 401, `${method} ${path} with ${JSON.stringify(headers)}`)
          t.equal(reply.json.message, `${WEBOB_401}<br /><br />\n\n\n`)
        }
      }
      const all = await glint.request('GET', '/v2/images?visibility=all', { headers: ADMIN })
      t.notOk(all.json.images.some((i: any) => i.name === 'sneaky'), 'nothing was created')
      t.equal((await glint.request('GET', '/healthcheck')).status, 200)
      t.equal((await glint.request('GET', '/versions')).status, 200)
      t.equal((await glint.request('GET', '/')).status, 300)
    })

    t.test('identity headers: roles lower-cased, X-Tenant-Id when there is no X-Project-Id', async (t) => {
      const upper = await glint.request('POST', '/v2/images', { json: { name: 'by-Admin', visibility: 'public' }, headers: { ...P1, 'X-Roles': 'Member, Admin' } })
      t.equal(upper.status, 201, '"Admin" is admin')
      const tenant = await glint.request('POST', '/v2/images', { json: { name: 't' }, headers: { 'X-Identity-Status': 'Confirmed', 'X-Tenant-Id': 'tenant-x', 'X-Roles': 'member' } })
      t.equal(tenant.json.owner, 'tenant-x')
      const both = await glint.request('POST', '/v2/images', { json: { name: 'b' }, headers: { 'X-Identity-Status': 'Confirmed', 'X-Tenant-Id': 'tenant-x', 'X-Project-Id': 'project-y', 'X-Roles': 'member' } })
      t.equal(both.json.owner, 'project-y', 'X-Project-Id wins')
      const plain = await glint.request('POST', '/v2/images', { json: { name: 'p1s' }, headers: P1 })
      t.equal(plain.json.owner, 'p1', 'a member\'s image belongs to its project')
    })

    t.test('only an admin publicizes; a member may communitize its own image but not give it away', async (t) => {
      const publicized = await glint.request('POST', '/v2/images', { json: { name: 'pub', visibility: 'public' }, headers: P1 })
      t.equal(publicized.status, 403)
      t.match(publicized.json.message, 'You are not authorized to complete publicize_image action.')
      const foreign = await glint.request('POST', '/v2/images', { json: { name: 'gift', owner: 'p2' }, headers: P1 })
      t.equal(foreign.status, 403)
      const listed = await glint.request('GET', '/v2/images?visibility=all&name=in:pub,gift', { headers: ADMIN })
      t.same(listed.json.images, [], 'neither refused create made an image')

      const id = (await glint.request('POST', '/v2/images', { json: { name: 'own' }, headers: P1 })).json.id
      const patch = (value: unknown, path = '/visibility', who = P1) => glint.request('PATCH', `/v2/images/${id}`, {
        body: JSON.stringify([{ op: 'replace', path, value }]), headers: { ...who, ...JSON_PATCH }
      })
      t.equal((await patch('public')).status, 403)
      t.equal((await patch('p2', '/owner')).status, 403)
      const unchanged = (await glint.request('GET', `/v2/images/${id}`, { headers: P1 })).json
      t.equal(unchanged.visibility, 'shared')
      t.equal(unchanged.owner, 'p1')
      t.equal((await patch('community')).status, 200)
      t.equal((await patch('public', '/visibility', ADMIN)).status, 200)
      t.equal((await glint.request('GET', `/v2/images/${id}`, { headers: P3 })).json.visibility, 'public')
    })

    t.test('who may see, change, download, list members of and delete whose image', async (t) => {
      const visible: Record<string, string[]> = {
        private: ['p1', 'admin'],
        shared: ['p1', 'p2', 'admin'],
        public: ['p1', 'p2', 'p3', 'admin'],
        community: ['p1', 'p2', 'p3', 'admin']
      }
      const callers: Array<[string, Record<string, string>]> = [['p1', P1], ['p2', P2], ['p3', P3], ['admin', ADMIN]]
      for (const visibility of ['private', 'shared', 'public', 'community']) {
        // p1 owns all four; only an admin may make one public
        const created = visibility === 'public'
          ? await glint.request('POST', '/v2/images', { json: { name: 'original', visibility, owner: 'p1' }, headers: ADMIN })
          : await glint.request('POST', '/v2/images', { json: { name: 'original', visibility }, headers: P1 })
        const id = created.json.id
        if (visibility === 'shared') await glint.request('POST', `/v2/images/${id}/members`, { json: { member: 'p2' }, headers: P1 })

        for (const [name, who] of callers) {
          const sees = visible[visibility].includes(name)
          const owns = name === 'p1' || name === 'admin'
          const label = `${visibility} image, ${name}`
          t.equal((await glint.request('GET', `/v2/images/${id}`, { headers: who })).status, sees ? 200 : 404, `${label}: show`)
          t.equal((await glint.request('GET', `/v2/images/${id}/file`, { headers: who })).status, sees ? 204 : 404, `${label}: download (no data yet)`)
          const members = await glint.request('GET', `/v2/images/${id}/members`, { headers: who })
          t.equal(members.status, !sees ? 404 : visibility === 'shared' ? 200 : 403, `${label}: members`)
          if (name !== 'p1') {
            const patched = await glint.request('PATCH', `/v2/images/${id}`, {
              body: JSON.stringify([{ op: 'replace', path: '/name', value: `renamed by ${name}` }]), headers: { ...who, ...JSON_PATCH }
            })
            t.equal(patched.status, owns ? 200 : sees ? 403 : 404, `${label}: update`)
            if (!owns) {
              const deleted = await glint.request('DELETE', `/v2/images/${id}`, { headers: who })
              t.equal(deleted.status, sees ? 403 : 404, `${label}: delete`)
              if (!sees) t.match(deleted.json.message, `No image found with ID ${id}`, 'nothing says the image exists')
            }
          }
        }
        const after = await glint.request('GET', `/v2/images/${id}`, { headers: P1 })
        t.equal(after.json.name, 'renamed by admin', `${visibility}: only the admin's update took`)
        t.equal((await glint.request('DELETE', `/v2/images/${id}`, { headers: P1 })).status, 204, `${visibility}: the owner deletes`)
        t.equal((await glint.request('GET', `/v2/images/${id}`, { headers: ADMIN })).status, 404)
      }
    })
  })
}
