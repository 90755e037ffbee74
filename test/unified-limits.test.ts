// Glance's unified limits (use_keystone_limits) against the real test Keystone: limits
// registered and set with the `openstack` CLI on a service and endpoint of this test's own
// (so nothing else using the shared Keystone is touched), read by Glint as oslo.limit reads
// them, enforced where Glance enforces them with Glance's 413, and GET /v2/info/usage.

import t, { type Test } from 'tap'
import http from 'node:http'
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { promisify } from 'node:util'
import { startGlint, type Glint } from './helpers/glint.js'
import { KEYSTONE_URL, createAccount, deleteAccount, keystoneConfig, keystoneMissing, passwordToken, type Account } from './helpers/keystone.js'

const run = promisify(execFile)
const MiB = 1024 * 1024
const missing = await keystoneMissing()

/** The openstack CLI as Keystone's admin; the answer's value(s) (`-f value`). */
async function openstack (...args: string[]): Promise<string> {
  const { stdout } = await run('/usr/bin/openstack', [...args], {
    timeout: 60_000,
    env: {
      ...process.env, OS_AUTH_URL: KEYSTONE_URL, OS_USERNAME: 'admin', OS_PASSWORD: 'admin', OS_PROJECT_NAME: 'admin',
      OS_USER_DOMAIN_ID: 'default', OS_PROJECT_DOMAIN_ID: 'default', OS_IDENTITY_API_VERSION: '3'
    }
  })
  return stdout.trim()
}

/** A service of its own with a public endpoint in RegionOne; removed (limits first) at teardown. */
async function limitedService (t: Test, type: string): Promise<{ id: string, endpointId: string }> {
  const id = await openstack('service', 'create', '--name', `glint-${type}`, '-f', 'value', '-c', 'id', type)
  const endpointId = await openstack('endpoint', 'create', '-f', 'value', '-c', 'id', '--region', 'RegionOne', id, 'public', 'http://127.0.0.1:9/')
  t.teardown(async () => {
    for (const kind of ['limit', 'registered limit']) {
      const ids = (await openstack(...kind.split(' '), 'list', '--service', id, '-f', 'value', '-c', 'ID')).split('\n').filter(Boolean)
      if (ids.length > 0) await openstack(...kind.split(' '), 'delete', ...ids)
    }
    await openstack('service', 'delete', id)
  })
  return { id, endpointId }
}

async function registeredLimit (service: string, resource: string, limit: number): Promise<void> {
  await openstack('registered', 'limit', 'create', '--service', service, '--region', 'RegionOne', '--default-limit', String(limit), resource)
}

/** A project's own limit; setting it again changes it. */
const projectLimits = new Map<string, string>()
async function projectLimit (service: string, project: string, resource: string, limit: number): Promise<void> {
  const key = `${service} ${project} ${resource}`
  const id = projectLimits.get(key)
  if (id !== undefined) await openstack('limit', 'set', '--resource-limit', String(limit), id)
  else projectLimits.set(key, await openstack('limit', 'create', '-f', 'value', '-c', 'id', '--service', service, '--region', 'RegionOne', '--project', project, '--resource-limit', String(limit), resource))
}

function limitsConfig (oslo: string, extra = ''): string {
  return keystoneConfig(KEYSTONE_URL, '') + `[DEFAULT]
use_keystone_limits = true
enabled_backends = one:file, two:file
${extra}
[glance_store]
default_backend = one
[one]
filesystem_store_datadir = {dataDir}/one
[two]
filesystem_store_datadir = {dataDir}/two
[image_format]
require_image_format_match = false
[oslo_limit]
auth_type = password
auth_url = ${KEYSTONE_URL.replace(/\/v3$/, '')}
username = admin
password = admin
user_domain_id = default
system_scope = all
${oslo}
`
}

function overLimit (project: string, resource: string, limit: number, usage: number, delta: number): string {
  return 'The request returned a 413 Request Entity Too Large. This generally means that rate limiting or a quota threshold was breached.' +
    `\n\nThe response body:\nProject ${project} is over a limit for [Resource ${resource} is over limit of ${limit} due to current usage ${usage} and delta ${delta}]`
}

interface Caller { account: Account, headers: () => Promise<Record<string, string>> }

async function caller (t: Test, role = 'member'): Promise<Caller> {
  const account = await createAccount(role)
  t.teardown(async () => await deleteAccount(account))
  let token: string | undefined
  return {
    account,
    headers: async () => {
      token ??= (await passwordToken(account.username, account.password, account.projectName)).token
      return { 'X-Auth-Token': token, Accept: 'application/json' }
    }
  }
}

t.test('use_keystone_limits against Keystone', { skip: missing }, async (t) => {
  const service = await limitedService(t, `image-limits-${randomBytes(4).toString('hex')}`)
  // generous defaults; each test's project gets its own limits, which override them
  for (const resource of ['image_size_total', 'image_stage_total', 'image_count_total', 'image_count_uploading']) await registeredLimit(service.id, resource, 1000)
  // limits_cache_time = 0: every check reads Keystone (as Glance does), so a limit changed here applies at once
  const glint: Glint = await startGlint({ database: 'postgres', config: limitsConfig(`endpoint_id = ${service.endpointId}\nlimits_cache_time = 0`, 'user_storage_quota = 1') })
  t.teardown(() => glint.stop())

  const create = async (c: Caller, name = 'img'): Promise<{ status: number, json: any }> =>
    await glint.request('POST', '/v2/images', { headers: await c.headers(), json: { name, disk_format: 'raw', container_format: 'bare' } })
  const upload = async (c: Caller, id: string, bytes: number): Promise<{ status: number, json: any }> =>
    await glint.request('PUT', `/v2/images/${id}/file`, { headers: { ...await c.headers(), 'Content-Type': 'application/octet-stream' }, body: Buffer.alloc(bytes, 1) })
  const show = async (c: Caller, id: string): Promise<any> => (await glint.request('GET', `/v2/images/${id}`, { headers: await c.headers() })).json
  const mine = async (c: Caller): Promise<any[]> => (await glint.request('GET', '/v2/images', { headers: await c.headers() })).json.images
  const usage = async (c: Caller): Promise<any> => {
    const reply = await glint.request('GET', '/v2/info/usage', { headers: await c.headers() })
    if (reply.status !== 200) throw new Error(`usage: ${reply.status} ${reply.text}`)
    return reply.json.usage
  }
  const copy = async (c: Caller, id: string, store: string): Promise<number> =>
    (await glint.request('POST', `/v2/images/${id}/import`, { headers: await c.headers(), json: { method: { name: 'copy-image' }, stores: [store] } })).status
  const settled = async (c: Caller, id: string): Promise<any> => {
    for (let i = 0; i < 300; i++) {
      const tasks = (await glint.request('GET', `/v2/images/${id}/tasks`, { headers: await c.headers() })).json.tasks
      const last = tasks.sort((a: any, b: any) => a.created_at.localeCompare(b.created_at)).at(-1)
      if (last !== undefined && last.status !== 'pending' && last.status !== 'processing') return last
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    throw new Error('the import task did not finish')
  }

  t.test('image_count_total: the project limit overrides the registered one; the create over it is refused', async (t) => {
    const alice = await caller(t)
    const bob = await caller(t)
    await projectLimit(service.id, alice.account.projectId, 'image_count_total', 2)
    const first = await create(alice, 'a1')
    t.equal(first.status, 201)
    t.equal((await create(alice, 'a2')).status, 201, 'at the limit')
    const third = await create(alice, 'a3')
    t.equal(third.status, 413)
    t.equal(third.json.message, `${overLimit(alice.account.projectId, 'image_count_total', 2, 2, 1)}<br /><br />\n\n\n`, 'Glance\'s message')
    t.same((await mine(alice)).map((i) => i.name).sort(), ['a1', 'a2'], 'nothing was created')
    for (let i = 0; i < 3; i++) t.equal((await create(bob, `b${i}`)).status, 201, 'another project has the registered limit (1000)')
    t.same((await usage(bob)).image_count_total, { usage: 3, limit: 1000 })
    t.same((await usage(alice)).image_count_total, { usage: 2, limit: 2 })
    t.equal((await glint.request('DELETE', `/v2/images/${first.json.id}`, { headers: await alice.headers() })).status, 204)
    t.equal((await create(alice, 'a3')).status, 201, 'under the limit again after a delete')
    // (openstackclient's `limit set` skips a resource limit of 0)
    await projectLimit(service.id, alice.account.projectId, 'image_count_total', 1)
    t.equal((await create(alice, 'a4')).json.message.split('<br />')[0], overLimit(alice.account.projectId, 'image_count_total', 1, 2, 1), 'a lowered limit applies at once (limits_cache_time = 0)')
  })

  t.test('image_size_total: checked before each upload and import, in MiB; user_storage_quota is not applied', async (t) => {
    const alice = await caller(t, 'admin')
    await projectLimit(service.id, alice.account.projectId, 'image_size_total', 1)
    const a = (await create(alice)).json
    t.equal((await upload(alice, a.id, 1.5 * MiB)).status, 204, 'usage 0 before: allowed (user_storage_quota = 1 byte is ignored)')
    const b = (await create(alice)).json
    t.equal((await upload(alice, b.id, MiB / 2)).status, 204, 'usage 1 MiB (floored) is not over 1: allowed, and leaves it over')
    t.same((await usage(alice)).image_size_total, { usage: 2, limit: 1 })
    const c = (await create(alice)).json
    const refused = await upload(alice, c.id, 1000)
    t.equal(refused.status, 413)
    t.equal(refused.json.message.split('<br />')[0], overLimit(alice.account.projectId, 'image_size_total', 1, 2, 0))
    const after = await show(alice, c.id)
    t.same([after.status, after.size, after.stores], ['queued', null, undefined], 'the refused image stays queued, without data')
    t.equal(await copy(alice, a.id, 'two'), 413, 'a copy-image import is refused at the request')
    t.equal((await glint.request('GET', `/v2/images/${a.id}/tasks`, { headers: await alice.headers() })).json.tasks.length, 0, 'and no task was made')
    t.equal((await glint.request('DELETE', `/v2/images/${a.id}`, { headers: await alice.headers() })).status, 204)
    t.equal((await upload(alice, c.id, 1000)).status, 204, 'under the limit again after a delete')
  })

  t.test('image_count_uploading: an upload in flight counts; the second is refused and left queued', async (t) => {
    const alice = await caller(t, 'admin')
    await projectLimit(service.id, alice.account.projectId, 'image_count_uploading', 1)
    const slow = (await create(alice, 'slow')).json
    const other = (await create(alice, 'other')).json
    const active = (await create(alice, 'active')).json
    t.equal((await upload(alice, active.id, 1000)).status, 204)
    // an upload held open: its body is sent in part, the rest at the end
    const size = 2 * MiB
    const inFlight = http.request(`${glint.url}/v2/images/${slow.id}/file`, {
      method: 'PUT', headers: { ...await alice.headers(), 'Content-Type': 'application/octet-stream', 'Content-Length': String(size) }
    })
    const answered = new Promise<number>((resolve, reject) => {
      inFlight.on('response', (res) => { res.resume(); resolve(res.statusCode!) })
      inFlight.on('error', reject)
    })
    inFlight.write(Buffer.alloc(MiB, 2))
    for (let i = 0; i < 300 && (await show(alice, slow.id)).status !== 'saving'; i++) await new Promise((resolve) => setTimeout(resolve, 50))
    t.equal((await show(alice, slow.id)).status, 'saving')
    t.same((await usage(alice)).image_count_uploading, { usage: 1, limit: 1 }, 'the upload in flight is counted')

    const refused = await upload(alice, other.id, 1000)
    t.equal(refused.status, 413)
    t.equal(refused.json.message.split('<br />')[0], overLimit(alice.account.projectId, 'image_count_uploading', 1, 2, 0), 'it counts itself too, as in Glance')
    const left = await show(alice, other.id)
    t.same([left.status, left.size], ['queued', null], 'the refused image is back to queued')

    t.equal(await copy(alice, active.id, 'two'), 202, 'a copy is accepted ...')
    const task = await settled(alice, active.id)
    t.equal(task.status, 'failure', '... and its task refused by the limit')
    t.equal(task.message, overLimit(alice.account.projectId, 'image_count_uploading', 1, 2, 0))
    const image = await show(alice, active.id)
    t.same([image.stores, image.os_glance_importing_to_stores, image.os_glance_failed_import ?? ''], ['one', '', ''], 'nothing copied, nothing left importing or failed')

    inFlight.end(Buffer.alloc(MiB, 2))
    t.equal(await answered, 204, 'the upload in flight completes')
    t.equal((await upload(alice, other.id, 1000)).status, 204, 'then the other may upload')
    t.equal(await copy(alice, active.id, 'two'), 202, 'the copy is accepted again (the failed one dropped its lock)')
    t.equal((await settled(alice, active.id)).status, 'success', 'and now succeeds')
  })

  t.test('image_stage_total: a copy counts its own image in staging, plus its size as the delta', async (t) => {
    const alice = await caller(t, 'admin')
    await projectLimit(service.id, alice.account.projectId, 'image_stage_total', 1)
    const image = (await create(alice)).json
    t.equal((await upload(alice, image.id, 1.5 * MiB)).status, 204)
    t.equal(await copy(alice, image.id, 'two'), 202)
    const task = await settled(alice, image.id)
    t.equal(task.status, 'failure')
    t.equal(task.message, overLimit(alice.account.projectId, 'image_stage_total', 1, 1, 1))
    const after = await show(alice, image.id)
    t.same([after.stores, after.os_glance_importing_to_stores], ['one', ''], 'nothing copied, nothing left importing')
    t.same((await usage(alice)).image_stage_total, { usage: 0, limit: 1 }, 'the refused copy no longer counts')
    await projectLimit(service.id, alice.account.projectId, 'image_stage_total', 2)
    t.equal(await copy(alice, image.id, 'two'), 202)
    t.equal((await settled(alice, image.id)).status, 'success', '1 + 1 is not over 2')
    t.equal((await show(alice, image.id)).stores, 'one,two')
  })

  t.test('/v2/info/usage follows creates, uploads, copies and deletes; another project sees its own', async (t) => {
    const alice = await caller(t, 'admin')
    const bob = await caller(t)
    await projectLimit(service.id, alice.account.projectId, 'image_count_total', 7)
    const all = (size: number, stage: number, count: number, uploading: number, countLimit = 7): unknown => ({
      image_size_total: { usage: size, limit: 1000 },
      image_stage_total: { usage: stage, limit: 1000 },
      image_count_total: { usage: count, limit: countLimit },
      image_count_uploading: { usage: uploading, limit: 1000 }
    })
    t.same(await usage(alice), all(0, 0, 0, 0), 'nothing yet; the project limit and the registered ones')
    const a = (await create(alice)).json
    t.same(await usage(alice), all(0, 0, 1, 0))
    t.equal((await upload(alice, a.id, 2 * MiB)).status, 204)
    t.same(await usage(alice), all(2, 0, 1, 0))
    t.equal(await copy(alice, a.id, 'two'), 202)
    t.equal((await settled(alice, a.id)).status, 'success')
    t.same(await usage(alice), all(4, 0, 1, 0), 'each copy counts')
    const b = (await create(alice)).json
    t.equal((await upload(alice, b.id, 3 * MiB + 5)).status, 204)
    t.same(await usage(alice), all(7, 0, 2, 0))
    t.same(await usage(bob), all(0, 0, 0, 0, 1000), 'bob\'s project: none of it')
    t.equal((await glint.request('DELETE', `/v2/images/${a.id}`, { headers: await alice.headers() })).status, 204)
    t.same(await usage(alice), all(3, 0, 1, 0))
  })
})

t.test('missing limits are 0; the endpoint found by service type; limits cached for limits_cache_time', { skip: missing }, async (t) => {
  const type = `image-nolimits-${randomBytes(4).toString('hex')}`
  const service = await limitedService(t, type)
  const glint = await startGlint({ database: 'postgres', config: limitsConfig(`endpoint_service_type = ${type}\nendpoint_region_name = RegionOne\nendpoint_interface = publicURL\nlimits_cache_time = 3600`) })
  t.teardown(() => glint.stop())
  const alice = await caller(t)
  const headers = await alice.headers()
  const reply = await glint.request('POST', '/v2/images', { headers, json: { name: 'x' } })
  t.equal(reply.status, 413, 'no registered limit: nothing may be created')
  t.equal(reply.json.message.split('<br />')[0], overLimit(alice.account.projectId, 'image_count_total', 0, 0, 1))
  const zero = { usage: 0, limit: 0 }
  t.same((await glint.request('GET', '/v2/info/usage', { headers })).json.usage,
    { image_size_total: zero, image_stage_total: zero, image_count_total: zero, image_count_uploading: zero })
  await registeredLimit(service.id, 'image_count_total', 5)
  t.equal((await glint.request('POST', '/v2/images', { headers, json: { name: 'x' } })).status, 413, 'the limits read are kept (limits_cache_time = 3600)')
})

t.test('use_keystone_limits needs [oslo_limit]\'s user and endpoint', async (t) => {
  await t.rejects(startGlint({ config: '[DEFAULT]\nuse_keystone_limits = true\n' }), /use_keystone_limits = true needs \[oslo_limit\] auth_type = password/)
  await t.rejects(startGlint({ config: '[DEFAULT]\nuse_keystone_limits = true\n[oslo_limit]\nauth_type = password\nauth_url = http://127.0.0.1:5000\nusername = u\npassword = p\n' }),
    /needs \[oslo_limit\] endpoint_id \(or endpoint_service_type/)
})

t.test('without use_keystone_limits, /v2/info/usage is empty and nothing is limited', async (t) => {
  const glint = await startGlint({ database: 'postgres' })
  t.teardown(() => glint.stop())
  const reply = await glint.request('GET', '/v2/info/usage')
  t.equal(reply.status, 200)
  t.same(reply.json, { usage: {} })
})
