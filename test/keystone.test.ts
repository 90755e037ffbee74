// Keystone auth (flavor = keystone) against the real Keystone booted by
// test/keystone/keystone.sh: tokens validated with Glint's service token, keystonemiddleware's
// 401 and 503, what a token of another project sees, the validation cache and its limits
// (never past a token's expiry). The clients through Keystone: test/keystone-clients.test.ts.

import t from 'tap'
import { startGlint, type Glint } from './helpers/glint.js'
import {
  KEYSTONE_URL, adminToken, createAccount, deleteAccount, keystoneConfig, keystoneMissing, passwordToken,
  privateKeystone, shortLivedToken, type Account
} from './helpers/keystone.js'

const KSM_401 = '{"error": {"code": 401, "title": "Unauthorized", "message": "The request you have made requires authentication."}}'
const WWW_AUTHENTICATE = `Keystone uri="${KEYSTONE_URL.replace(/\/v3$/, '')}"`

const missing = await keystoneMissing()

t.test('flavor = keystone', { skip: missing }, async (t) => {
  const glint: Glint = await startGlint({ database: 'postgres', config: keystoneConfig(KEYSTONE_URL, 'memcached_servers = 127.0.0.1:11211\n') })
  t.teardown(() => glint.stop())
  const alice: Account = await createAccount('member')
  const bob: Account = await createAccount('member')
  t.teardown(async () => { await deleteAccount(alice); await deleteAccount(bob) })
  const aliceToken = await passwordToken(alice.username, alice.password, alice.projectName)
  const bobToken = await passwordToken(bob.username, bob.password, bob.projectName)
  const as = (token: string): Record<string, string> => ({ 'X-Auth-Token': token })

  t.test('401 with WWW-Authenticate for a missing or bad token, as keystonemiddleware answers', async (t) => {
    t.match(glint.output(), /memcached_servers: ignored/, 'memcached_servers is noticed, not used')
    for (const headers of [{}, { 'X-Auth-Token': '' }, { 'X-Auth-Token': 'not-a-token' }, { 'X-Auth-Token': aliceToken.token.slice(0, -4) + 'AAAA' },
      { 'X-Identity-Status': 'Confirmed', 'X-Roles': 'admin', 'X-Project-Id': 'p' }]) {
      for (const [method, path] of [['GET', '/v2/images'], ['POST', '/v2/images'], ['GET', '/v2/schemas/image'], ['PUT', '/v2/images/x/file']]) {
        for (const accept of ['application/json', 'text/html', '*/*']) {
          const reply = await glint.request(method, path, {
            headers: { ...headers, Accept: accept, ...(method === 'PUT' ? { 'Content-Type': 'application/octet-stream' } : {}) },
            ...(method === 'POST' ? { json: { name: 'sneaky' } } : method === 'PUT' ? { body: Buffer.alloc(70_000) } : {})
          })
          t.equal(reply.status, 401, `${method} ${path} ${JSON.stringify(headers).slice(0, 60)} (${accept})`)
          t.equal(reply.headers.get('www-authenticate'), WWW_AUTHENTICATE)
          t.equal(reply.text, KSM_401)
          t.match(reply.headers.get('content-type'), /^application\/json/)
        }
      }
    }
    for (const path of ['/', '/versions', '/healthcheck']) {
      const reply = await glint.request('GET', path)
      t.ok([200, 300].includes(reply.status), `${path} needs no token (${reply.status})`)
    }
    const all = await glint.request('GET', '/v2/images?visibility=all', { headers: as((await adminToken()).token) })
    t.notOk(all.json.images.some((i: any) => i.name === 'sneaky'), 'nothing was created')
  })

  t.test('a valid token: owner is the token\'s project, and another project sees what Glance shows it', async (t) => {
    const mine = await glint.request('POST', '/v2/images', { headers: as(aliceToken.token), json: { name: 'alice-private', disk_format: 'raw', container_format: 'bare' } })
    t.equal(mine.status, 201)
    t.equal(mine.json.owner, alice.projectId, 'owner: the project of the token')
    const shared = await glint.request('POST', '/v2/images', { headers: as(aliceToken.token), json: { name: 'alice-shared', visibility: 'shared' } })
    const community = await glint.request('POST', '/v2/images', { headers: as(aliceToken.token), json: { name: 'alice-community', visibility: 'community' } })
    t.equal((await glint.request('POST', '/v2/images', { headers: as(aliceToken.token), json: { name: 'alice-public', visibility: 'public' } })).status, 403,
      'a member may not publicize')
    const put = await glint.request('PUT', `/v2/images/${mine.json.id}/file`, { headers: { ...as(aliceToken.token), 'Content-Type': 'application/octet-stream' }, body: Buffer.alloc(300_000, 7) })
    t.equal(put.status, 204, 'upload with a token')

    const bobList = await glint.request('GET', '/v2/images', { headers: as(bobToken.token) })
    t.same(bobList.json.images.map((i: any) => i.name), [], 'bob lists none of alice\'s (private, unshared, community not listed)')
    t.equal((await glint.request('GET', `/v2/images/${mine.json.id}`, { headers: as(bobToken.token) })).status, 404, 'a private image of another project is 404')
    t.equal((await glint.request('GET', `/v2/images/${community.json.id}`, { headers: as(bobToken.token) })).status, 200, 'a community image is visible')
    t.equal((await glint.request('DELETE', `/v2/images/${community.json.id}`, { headers: as(bobToken.token) })).status, 403, 'but not his to delete')
    t.equal((await glint.request('GET', `/v2/images/${shared.json.id}`, { headers: as(bobToken.token) })).status, 404, 'shared, but not with bob')
    const add = await glint.request('POST', `/v2/images/${shared.json.id}/members`, { headers: as(aliceToken.token), json: { member: bob.projectId } })
    t.equal(add.status, 200, 'alice shares with bob\'s project')
    t.equal((await glint.request('GET', `/v2/images/${shared.json.id}`, { headers: as(bobToken.token) })).status, 200, 'now bob sees it')
    const pending = await glint.request('GET', '/v2/images?member_status=pending&visibility=shared', { headers: as(bobToken.token) })
    t.same(pending.json.images.map((i: any) => i.name), ['alice-shared'])
    const download = await glint.request('GET', `/v2/images/${mine.json.id}/file`, { headers: as(aliceToken.token) })
    t.equal(download.status, 200)
    t.equal(download.text.length, 300_000)

    const admin = await adminToken()
    const seen = await glint.request('GET', `/v2/images/${mine.json.id}`, { headers: as(admin.token) })
    t.equal(seen.status, 200, 'an admin of another project sees any image')
  })
})

t.test('the validation cache: Keystone down is 503, a cached token still works, an expired one is refused', { skip: missing }, async (t) => {
  const keystone = await privateKeystone()
  t.teardown(() => keystone.stop())
  const glint = await startGlint({ config: keystoneConfig(keystone.url) })
  t.teardown(() => glint.stop())
  const account = await createAccount('member')
  t.teardown(() => deleteAccount(account))
  const list = async (token: string): Promise<number> => (await glint.request('GET', '/v2/images', { headers: { 'X-Auth-Token': token } })).status

  const cached = await passwordToken(account.username, account.password, account.projectName)
  const unseen = await passwordToken(account.username, account.password, account.projectName)
  t.equal(await list(cached.token), 200)
  // the short-lived token last, right before its first use (a loaded machine is slow to issue tokens)
  const expiring = await shortLivedToken(account, 45)
  t.ok(expiring.expiresAt < Date.now() + 46_000, 'Keystone issued a token that expires within 45 s')
  t.equal(await list(expiring.token), 200, 'the short-lived token is valid')

  await keystone.stop()
  const down = await glint.request('GET', '/v2/images', { headers: { 'X-Auth-Token': unseen.token } })
  t.equal(down.status, 503, 'Keystone unreachable: 503, not 401')
  t.match(down.text, 'The Keystone service is temporarily unavailable.')
  t.equal(await list(cached.token), 200, 'a validated token is answered from the cache while Keystone is down')

  // bounded wait for the short-lived token to pass its expiry
  for (let i = 0; i < 240 && Date.now() <= expiring.expiresAt + 1000; i++) await new Promise((resolve) => setTimeout(resolve, 500))
  t.ok(Date.now() > expiring.expiresAt, 'the token is past its expiry now')
  t.equal(await list(expiring.token), 401, 'refused from the cache: never trusted past its expiry (Keystone is down, so nothing asked it)')

  await keystone.start()
  t.equal(await list(unseen.token), 200, 'Keystone back: the token it could not validate before is accepted')
  t.equal(await list(expiring.token), 401, 'still refused')
})
