// glint adopt from a Glance whose database is MySQL/MariaDB (issue 16): Glance's own schema
// (glance-manage db_sync on a fresh MariaDB database) holding an active image in a file store
// (property, tags, a member, a location with its store, an import task) and one still saving.
// The dry run reports the saving one as something it cannot take (exit 1); --apply takes the
// active one as Glance had it (timestamps too), and it downloads byte-identical through Glint.
//
// Skipped (with the reason) without glance-manage (Debian's glance-common) or a MariaDB at
// 127.0.0.1:3306 (root, no password; GLINT_TEST_MYSQL_URL overrides).

import t from 'tap'
import { execFile, spawn } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { createConnection } from 'mysql2/promise'
import { ROOT, createDatabase, startGlint } from './helpers/glint.js'

const run = promisify(execFile)
const MYSQL_URL = process.env.GLINT_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306'

async function missing (): Promise<string | undefined> {
  if (!existsSync('/usr/bin/glance-manage')) return 'glance-manage is not installed (bench/glance/glance.sh install)'
  try {
    const conn = await createConnection({ uri: MYSQL_URL, connectTimeout: 5000 })
    await conn.end()
  } catch (err) {
    return `no MariaDB/MySQL at ${MYSQL_URL}: ${(err as Error).message}`
  }
  try {
    await run('/usr/bin/python3', ['-c', 'import pymysql'])
  } catch {
    return 'python3-pymysql is not installed (glance-manage needs it for MySQL)'
  }
  return undefined
}

async function glint (args: string[]): Promise<{ code: number | null, out: string }> {
  return await new Promise((resolve) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'glint.js'), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (d) => { out += d })
    child.stderr.on('data', (d) => { out += d })
    child.on('close', (code) => resolve({ code, out }))
  })
}

t.test('adopting a Glance kept in MariaDB', async (t) => {
  const why = await missing()
  if (why !== undefined) { t.skip(why); return }
  const work = mkdtempSync(join(tmpdir(), 'glint-adopt-mysql-'))
  const name = `glance_adopt_${randomBytes(4).toString('hex')}`
  const admin = await createConnection({ uri: MYSQL_URL })
  await admin.query(`create database ${name}`)
  t.teardown(async () => {
    await admin.query(`drop database if exists ${name}`).catch(() => {})
    await admin.end()
    rmSync(work, { recursive: true, force: true })
  })
  const connection = `mysql+pymysql://${MYSQL_URL.slice('mysql://'.length)}/${name}?charset=utf8`
  const glanceConf = join(work, 'glance-api.conf')
  writeFileSync(glanceConf, `[DEFAULT]\n[database]\nconnection = ${connection}\n`)
  await run('/usr/bin/glance-manage', ['--config-file', glanceConf, 'db_sync'], { timeout: 500_000 })

  // the data, where Glance's file store put it
  const storeDir = join(work, 'images')
  mkdirSync(storeDir)
  const id = '6f1d3c8e-2b4a-4c1e-9d7f-0a1b2c3d4e5f'
  const saving = '0d9e8f7a-6b5c-4d3e-8f2a-1b0c9d8e7f6a'
  const taskId = '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d'
  const bytes = randomBytes(1024 * 1024 + 3)
  writeFileSync(join(storeDir, id), bytes)
  const md5 = createHash('md5').update(bytes).digest('hex')
  const sha512 = createHash('sha512').update(bytes).digest('hex')
  const db = await createConnection({ uri: `${MYSQL_URL}/${name}` })
  const created = '2025-03-04 05:06:07'
  const updated = '2025-03-04 05:07:08'
  await db.query(`insert into images (id, name, size, status, created_at, updated_at, deleted, disk_format, container_format, checksum, owner,
    min_disk, min_ram, protected, virtual_size, visibility, os_hidden, os_hash_algo, os_hash_value) values
    (?, 'from-mariadb', ?, 'active', ?, ?, 0, 'qcow2', 'bare', ?, 'project-one', 1, 128, 1, ?, 'shared', 0, 'sha512', ?),
    (?, 'half-uploaded', null, 'saving', ?, ?, 0, 'raw', 'bare', null, 'project-one', 0, 0, 0, null, 'shared', 0, null, null)`,
  [id, bytes.length, created, updated, md5, bytes.length, sha512, saving, created, updated])
  await db.query(`insert into image_properties (image_id, name, value, created_at, updated_at, deleted) values
    (?, 'os_distro', 'debian', ?, ?, 0), (?, 'gone', 'x', ?, ?, 1)`, [id, created, updated, id, created, updated])
  await db.query(`insert into image_tags (image_id, value, created_at, updated_at, deleted) values
    (?, 'blue', ?, ?, 0), (?, 'green', ?, ?, 0)`, [id, created, updated, id, created, updated])
  await db.query(`insert into image_members (image_id, member, can_share, created_at, updated_at, deleted, status) values
    (?, 'project-two', 0, ?, ?, 0, 'accepted')`, [id, created, updated])
  await db.query(`insert into image_locations (image_id, value, created_at, updated_at, deleted, meta_data, status) values
    (?, ?, ?, ?, 0, '{"store": "fast"}', 'active')`, [id, `file://${join(storeDir, id)}`, created, updated])
  await db.query(`insert into tasks (id, type, status, owner, created_at, updated_at, deleted, image_id, request_id, user_id) values
    (?, 'api_image_import', 'success', 'project-one', ?, ?, 0, ?, 'req-1', 'user-1')`, [taskId, created, updated, id])
  await db.query(`insert into task_info (task_id, input, result, message) values (?, ?, ?, 'Copied')`,
    [taskId, JSON.stringify({ image_id: id, backend: ['fast'] }), JSON.stringify({ image_id: id })])
  await db.end()

  const registry = await createDatabase()
  t.teardown(() => registry.drop())
  const config = `[DEFAULT]
enabled_backends = fast:file
show_image_direct_url = true
[glance_store]
default_backend = fast
[fast]
filesystem_store_datadir = ${storeDir}
[database]
connection = ${registry.url}
`
  const glintConf = join(work, 'glint.conf')
  writeFileSync(glintConf, config)

  const dry = await glint(['adopt', '--config-file', glintConf, '--glance-config', glanceConf])
  t.equal(dry.code, 1, 'the image still saving makes the dry run fail')
  t.match(dry.out, new RegExp(`${saving}\\s+half-uploaded\\s+saving\\s+-\\s+CANNOT: saving in Glance`))
  t.match(dry.out, /dry run: would take 1 images \(1 locations, 1 properties, 2 tags, 1 members\) and 1 tasks/)

  const applied = await glint(['adopt', '--config-file', glintConf, '--glance-config', glanceConf, '--apply'])
  t.match(applied.out, /taken: 1 images .* and 1 tasks/, applied.out)

  const server = await startGlint({ config, databaseUrl: registry.url })
  t.teardown(() => server.stop())
  const shown = (await server.request('GET', `/v2/images/${id}`)).json
  t.match(shown, {
    name: 'from-mariadb', status: 'active', size: bytes.length, checksum: md5, os_hash_value: sha512, disk_format: 'qcow2',
    visibility: 'shared', protected: true, min_disk: 1, min_ram: 128, owner: 'project-one', os_distro: 'debian',
    stores: 'fast', direct_url: `file://${join(storeDir, id)}`, created_at: '2025-03-04T05:06:07Z', updated_at: '2025-03-04T05:07:08Z'
  }, 'the image as Glance had it')
  t.same(shown.tags.sort(), ['blue', 'green'])
  t.equal(shown.gone, undefined, 'a deleted property is not taken')
  t.equal((await server.request('GET', `/v2/images/${saving}`)).status, 404, 'the saving image is not taken')
  const members = (await server.request('GET', `/v2/images/${id}/members`)).json.members
  t.same(members.map((m: any) => [m.member_id, m.status]), [['project-two', 'accepted']])
  const tasks = (await server.request('GET', `/v2/images/${id}/tasks`, { headers: {} })).json.tasks
  t.same(tasks.map((x: any) => [x.id, x.status, x.message, x.input.backend]), [[taskId, 'success', 'Copied', ['fast']]])
  const res = await fetch(`${server.url}/v2/images/${id}/file`)
  t.ok(Buffer.from(await res.arrayBuffer()).equals(bytes), 'downloads byte-identical through Glint')
})
