// Glance's own glance-api.conf taken as it is (issue 9, section 4): hashing_algorithm,
// SQLAlchemy database URLs, oslo.config's file syntax, and every option of Glance 25.1's
// sample either honoured or reported once at start.

import t from 'tap'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ROOT, createDatabase, createImage, startGlint, type Glint } from './helpers/glint.js'

async function uploadBytes (glint: Glint, id: string, data: Buffer): Promise<number> {
  const reply = await glint.request('PUT', `/v2/images/${id}/file`, { body: data, headers: { 'Content-Type': 'application/octet-stream' } })
  return reply.status
}

async function waitFor<T> (what: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  let value = await what()
  for (let i = 0; i < 100 && !done(value); i++) {
    await new Promise((resolve) => setTimeout(resolve, 200))
    value = await what()
  }
  return value
}

t.test('hashing_algorithm is honoured for os_hash_algo/os_hash_value', async (t) => {
  for (const [algorithm, node] of [['sha256', 'sha256'], ['sha3_256', 'sha3-256'], ['blake2b', 'blake2b512']]) {
    const glint = await startGlint({ database: 'postgres', config: `[DEFAULT]\nhashing_algorithm = ${algorithm}\n` })
    const image = await createImage(glint)
    const data = randomBytes(300_000)
    t.equal(await uploadBytes(glint, image.id, data), 204, `upload with ${algorithm}`)
    const shown = (await glint.request('GET', `/v2/images/${image.id}`)).json
    t.equal(shown.os_hash_algo, algorithm, 'os_hash_algo names the algorithm as Glance (hashlib) does')
    t.equal(shown.os_hash_value, createHash(node).update(data).digest('hex'), 'os_hash_value is that digest')
    t.equal(shown.checksum, createHash('md5').update(data).digest('hex'), 'checksum stays md5')
    await glint.stop()
  }
})

t.test('an algorithm Glint cannot compute as Glance does stops the start', async (t) => {
  await t.rejects(startGlint({ config: '[DEFAULT]\nhashing_algorithm = sha257\n' }),
    /line 2: \[DEFAULT\] hashing_algorithm = sha257: not a hash algorithm Glint can compute as Glance does; use one of .*sha256/)
  // hashlib has it, but its hexdigest needs a length Glance never gives
  await t.rejects(startGlint({ config: '[DEFAULT]\nhashing_algorithm = shake_128\n' }), /hashing_algorithm = shake_128: not a hash algorithm/)
})

t.test('copy-image hashes with the algorithm the image recorded, not the current option', async (t) => {
  const db = await createDatabase()
  const dir = mkdtempSync(join(tmpdir(), 'glint-hash-'))
  t.teardown(async () => { await db.drop(); rmSync(dir, { recursive: true, force: true }) })
  const config = (algorithm: string): string => `[DEFAULT]\nenabled_backends = one:file, two:file\nhashing_algorithm = ${algorithm}\n` +
    `[glance_store]\ndefault_backend = one\n[one]\nfilesystem_store_datadir = ${dir}/one\n[two]\nfilesystem_store_datadir = ${dir}/two\n`
  const first = await startGlint({ databaseUrl: db.url, config: config('sha256') })
  const image = await createImage(first)
  const data = randomBytes(100_000)
  t.equal(await uploadBytes(first, image.id, data), 204)
  await first.stop()

  const second = await startGlint({ databaseUrl: db.url, config: config('sha512') })
  t.teardown(() => second.stop())
  const imported = await second.request('POST', `/v2/images/${image.id}/import`, { json: { method: { name: 'copy-image' }, stores: ['two'] } })
  t.equal(imported.status, 202)
  const shown = await waitFor(async () => (await second.request('GET', `/v2/images/${image.id}`)).json, (i) => i.stores === 'one,two' || i.os_glance_failed_import === 'two')
  t.equal(shown.stores, 'one,two', 'the copy verified against the image\'s sha256')
  t.equal(shown.os_hash_algo, 'sha256')
  t.equal(shown.os_hash_value, createHash('sha256').update(data).digest('hex'))
  const downloaded = await fetch(`${second.url}/v2/images/${image.id}/file`)
  t.equal(createHash('sha256').update(Buffer.from(await downloaded.arrayBuffer())).digest('hex'), shown.os_hash_value)
})

t.test('[database] connection as Glance configs spell it', async (t) => {
  const db = await createDatabase()
  t.teardown(() => db.drop())
  const name = db.url.split('/').pop()!
  for (const connection of [
    `postgresql+psycopg2://postgres@127.0.0.1:5432/${name}`,
    `postgresql+pg8000://postgres@127.0.0.1/${name}?client_encoding=utf8`,
    // libpq's unix-socket form
    `postgresql+psycopg2://postgres@/${name}?host=/var/run/postgresql`
  ]) {
    const glint = await startGlint({ config: `[database]\nconnection = ${connection}\n` })
    t.match(glint.output(), /"mode":"postgres"/, connection)
    t.equal((await glint.request('POST', '/v2/images', { json: { name: 'x' } })).status, 201, `serves with ${connection}`)
    await glint.stop()
  }
  await t.rejects(startGlint({ config: '[database]\nconnection = mysql+pymysql://glance:secret@db/glance?charset=utf8\n' }),
    /line 2: \[database\] connection is a MySQL database \(mysql\+pymysql:\/\/\.\.\.\): Glint needs PostgreSQL/)
})

t.test('the file is read as oslo.config reads it', async (t) => {
  const glint = await startGlint({
    database: 'postgres',
    config: [
      '[DEFAULT]',
      // a value keeps # and ; (no inline comments in oslo.config), loses surrounding quotes
      'public_endpoint = "https://glint.example/#a;b"',
      // key: value is an assignment too
      'image_tag_quota: 2',
      // indented lines continue a value (read as one assignment)
      'enabled_import_methods = [glance-direct,',
      '    copy-image]',
      '[Glance_Store]', // section names other than DEFAULT are case-insensitive
      'default_store = file',
      'filesystem_store_datadir = {dataDir}/legacy',
      '[OSLO_MIDDLEWARE]',
      'max_request_body_size = 2000',
      ''
    ].join('\n')
  })
  t.teardown(() => glint.stop())
  const created = await glint.request('POST', '/v2/images', { json: { name: 'x', tags: ['a', 'b'] } })
  t.equal(created.status, 201)
  t.match(created.headers.get('location'), /^https:\/\/glint\.example\/#a;b\/v2\/images\//, 'public_endpoint kept whole')
  t.equal((await glint.request('PUT', `/v2/images/${created.json.id}/tags/c`)).status, 413, 'image_tag_quota: 2 honoured')
  const big = await glint.request('POST', '/v2/images', { json: { name: 'x', description: 'd'.repeat(3000) } })
  t.equal(big.status, 413, '[oslo_middleware] max_request_body_size honoured')
  t.same((await glint.request('GET', '/v2/info/import')).json['import-methods'].value, ['glance-direct', 'copy-image'], 'the continued list, brackets and all')

  await t.rejects(startGlint({ config: 'debug = true\n' }), /line 1: Section must be started before assignment: debug = true/)
  await t.rejects(startGlint({ config: '[DEFAULT]\n  debug = true\n' }), /line 2: Unexpected continuation line/)
  await t.rejects(startGlint({ config: '[DEFAULT]\ndebug true\n' }), /line 2: No ':' or '=' found in assignment: debug true/)
  await t.rejects(startGlint({ config: '[DEFAULT\n' }), /line 1: Invalid section \(must end with \]\)/)
})

/** Options of the sample Glint honours (README, "Configuration"); everything else must be reported. */
const HONOURED = new Set([
  '[DEFAULT] bind_host', '[DEFAULT] bind_port', '[DEFAULT] workers', '[DEFAULT] image_size_cap', '[DEFAULT] user_storage_quota',
  '[DEFAULT] show_image_direct_url', '[DEFAULT] show_multiple_locations', '[DEFAULT] location_strategy', '[DEFAULT] enabled_backends', '[DEFAULT] image_property_quota',
  '[DEFAULT] image_tag_quota', '[DEFAULT] image_member_quota', '[DEFAULT] image_location_quota', '[DEFAULT] limit_param_default', '[DEFAULT] api_limit_max',
  '[DEFAULT] public_endpoint', '[DEFAULT] client_socket_timeout', '[DEFAULT] hashing_algorithm', '[DEFAULT] debug',
  // the image cache's (it is on only with a +caching flavor, as in Glance)
  '[DEFAULT] image_cache_max_size', '[DEFAULT] image_cache_stall_time', '[DEFAULT] image_cache_dir',
  '[glance_store] default_backend', '[glance_store] stores', '[glance_store] default_store', '[glance_store] filesystem_store_datadir',
  '[glance_store] filesystem_store_chunk_size', '[glance_store] filesystem_thin_provisioning', '[glance_store] rbd_store_chunk_size',
  '[glance_store] rbd_store_pool', '[glance_store] rbd_store_user', '[glance_store] rbd_store_ceph_conf', '[glance_store] rados_connect_timeout',
  '[glance_store] rbd_thin_provisioning', '[glance_store] rbd_store_keyring',
  '[database] connection', '[database] max_pool_size', '[paste_deploy] flavor', '[oslo_middleware] max_request_body_size',
  '[image_format] require_image_format_match', '[image_format] vmdk_allowed_types',
  '[DEFAULT] use_keystone_limits', '[DEFAULT] enforce_secure_rbac', '[DEFAULT] property_protection_file', '[DEFAULT] property_protection_rule_format',
  '[oslo_policy] enforce_new_defaults', '[oslo_policy] enforce_scope', '[oslo_policy] policy_default_rule',
  // the notifier's (src/notifier)
  '[DEFAULT] transport_url', '[DEFAULT] control_exchange', '[DEFAULT] default_publisher_id', '[DEFAULT] disabled_notifications',
  '[oslo_messaging_notifications] driver', '[oslo_messaging_notifications] topics',
  // the import's (src/pipeline/import-tasks.ts)
  '[DEFAULT] enabled_import_methods', '[task] task_time_to_live'
])

t.test('Glance 25.1\'s sample with every option set: starts, each option honoured or reported once', async (t) => {
  const sample = readFileSync(join(ROOT, 'test/fixtures/glance-25.1/glance-api.conf.options'), 'utf8')
  const options: string[] = []
  let section = ''
  const lines = sample.split('\n').flatMap((line) => {
    const header = /^\[(.+)\]$/.exec(line)
    if (header !== null) { section = header[1]; return [line] }
    const option = /^#([a-z_0-9]+) =(?: (.*))?$/.exec(line)
    // <None> is the sample's "no default": an operator writes a value or nothing
    if (option === null || option[2] === '<None>') return []
    // the sample's flavor is keystone, which would need a Keystone to talk to: this server runs without authentication
    if (section === 'paste_deploy' && option[1] === 'flavor') return []
    // a policy_file the operator names must exist in Glint (policy.yaml beside this config does not)
    if (section === 'oslo_policy' && option[1] === 'policy_file') return []
    options.push(`[${section}] ${option[1]}`)
    // the sample's directories are the packaged service's, not this test's
    if (option[1].endsWith('_datadir') || option[1] === 'filesystem_store_datadir') return [`${option[1]} = {dataDir}/images`]
    return [line.slice(1)]
  })
  t.ok(options.length > 300, `${options.length} options set`)
  const glint = await startGlint({ database: 'postgres', config: lines.join('\n') + '\n' })
  t.teardown(() => glint.stop())

  const warnings = glint.output().split('\n').filter((line) => line.includes('options Glint does not use were ignored'))
  t.equal(warnings.length, 1, 'reported once')
  const reported: string[] = JSON.parse(warnings[0]).options
  const isReported = (option: string): boolean => reported.includes(option) || reported.includes(option.split(' ')[0])
  const neither = options.filter((o) => !HONOURED.has(o) && !isReported(o))
  const both = options.filter((o) => HONOURED.has(o) && isReported(o))
  t.same(neither, [], 'no option silently taken or dropped')
  t.same(both, [], 'no honoured option reported')
  t.ok(reported.includes('[DEFAULT] node_staging_uri') && reported.includes('[keystone_authtoken]'), 'e.g. node_staging_uri and keystone_authtoken reported')

  // and it serves as configured: the legacy file store with the sample's 64 KiB chunks, sha512
  const image = await createImage(glint)
  const data = randomBytes(200_000)
  t.equal(await uploadBytes(glint, image.id, data), 204)
  const shown = (await glint.request('GET', `/v2/images/${image.id}`)).json
  t.same([shown.stores, shown.os_hash_algo, shown.os_hash_value], ['local', 'sha512', createHash('sha512').update(data).digest('hex')])
  const downloaded = Buffer.from(await (await fetch(`${glint.url}/v2/images/${image.id}/file`)).arrayBuffer())
  t.ok(downloaded.equals(data), 'the data comes back whole')
})
