// glint adopt (issue 16) from the real Glance 25.1 (Debian's glance-api, started by
// bench/glance/glance.sh with its own database on the local PostgreSQL and the two test Ceph
// clusters): images made through Glance in both clusters and its file store, with members,
// tags, properties, a copy-image copy and a Nova-style `rbd clone`. After `glint adopt`, every
// image shows the same fields through Glint (checksums, stores, direct_url, tags, properties,
// members) and downloads byte-identical; the clone's parent snapshot is still protected;
// Glance's database is unchanged (a dump before and after). A dry run writes nothing, a second
// --apply takes nothing, and a Glint without one of the stores reports what it cannot take.
//
// Skipped (with the reason) where glance-api or the clusters are not installed (.ci/run
// installs glance-api with bench/glance/glance.sh install).

import t from 'tap'
import { execFile, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import postgres from 'postgres'
import { ROOT, PG_ADMIN_URL, createDatabase, startGlint } from './helpers/glint.js'
import { CEPH_A_CONF, CEPH_B_CONF, clustersMissing, rbd, rbdJson } from './helpers/ceph.js'
import { eventually } from './helpers/data.js'
import { freePort } from '../bench/util/paths.js'

const run = promisify(execFile)
const MiB = 1024 * 1024
const GLANCE_SCRIPT = join(ROOT, 'bench', 'glance', 'glance.sh')

function missing (): string | undefined {
  if (!existsSync('/usr/bin/glance-api')) return 'glance-api is not installed (bench/glance/glance.sh install)'
  return clustersMissing()
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

t.test('adopting a real Glance', { skip: missing() }, async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'glint-adopt-'))
  const glanceDb = `glance_adopt_${randomBytes(4).toString('hex')}`
  const glancePort = await freePort()
  const env = { ...process.env, GLANCE_DB_NAME: glanceDb, GLANCE_WORKERS: '1', GLANCE_EXTRA_DEFAULTS: 'show_image_direct_url = true' }
  const glanceDir = join(work, 'glance')
  const started = await run('bash', [GLANCE_SCRIPT, 'start', '--port', String(glancePort), '--workdir', glanceDir], { env, timeout: 300_000 })
  const G = started.stdout.trim().split('\n').pop()!
  const glanceUrl = `${PG_ADMIN_URL.replace(/\/[^/]*$/, '')}/${glanceDb}`
  const clones: string[] = []
  const glanceImages: string[] = []
  t.teardown(async () => {
    for (const clone of clones) await rbd(CEPH_A_CONF, 'rm', clone).catch(() => {})
    for (const id of glanceImages) {
      // unprotected first: Glance refuses to delete a protected image
      await fetch(`${G}/v2/images/${id}`, { method: 'PATCH', headers: { 'Content-Type': 'application/openstack-images-v2.1-json-patch' }, body: JSON.stringify([{ op: 'replace', path: '/protected', value: false }]) }).catch(() => {})
      await fetch(`${G}/v2/images/${id}`, { method: 'DELETE' }).catch(() => {})
    }
    await run('bash', [GLANCE_SCRIPT, 'stop', '--workdir', glanceDir], { env, timeout: 60_000 }).catch(() => {})
    const admin = postgres(PG_ADMIN_URL, { max: 1, onnotice: () => {} })
    await admin.unsafe(`drop database if exists ${glanceDb} with (force)`).catch(() => {})
    await admin.end()
    rmSync(work, { recursive: true, force: true })
  })

  // ---- images made through Glance
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<any> => {
    const res = await fetch(G + path, { method, headers: { 'Content-Type': 'application/json', ...headers }, body: body === undefined ? undefined : JSON.stringify(body) })
    const text = await res.text()
    if (res.status >= 400) throw new Error(`${method} ${path}: ${res.status} ${text}`)
    return text === '' ? undefined : JSON.parse(text)
  }
  const data = new Map<string, Buffer>()
  const make = async (fields: Record<string, unknown>, size: number, store?: string): Promise<string> => {
    const image = await call('POST', '/v2/images', { disk_format: 'raw', container_format: 'bare', ...fields })
    glanceImages.push(image.id)
    if (store !== undefined) {
      const bytes = randomBytes(size)
      data.set(image.id, bytes)
      const res = await fetch(`${G}/v2/images/${image.id}/file`, { method: 'PUT', headers: { 'Content-Type': 'application/octet-stream', 'X-Image-Meta-Store': store }, body: bytes })
      if (res.status !== 204) throw new Error(`upload to ${store}: ${res.status} ${await res.text()}`)
    }
    return image.id
  }
  const inA = await make({ name: 'adopt-a', tags: ['x', 'y'], os_distro: 'cirros', hw_disk_bus: 'scsi', visibility: 'shared' }, 3 * MiB + 12345, 'ceph_a')
  await call('POST', `/v2/images/${inA}/members`, { member: 'project-two' })
  await call('PUT', `/v2/images/${inA}/members/project-two`, { status: 'accepted' }, { 'X-Project-Id': 'project-two', 'X-Roles': 'member' })
  await call('POST', `/v2/images/${inA}/members`, { member: 'project-three' })
  const inB = await make({ name: 'adopt-b', min_ram: 64, protected: true, visibility: 'public' }, 2 * MiB + 1, 'ceph_b')
  const inFile = await make({ name: 'adopt-file', tags: ['f'] }, MiB + 7, 'fast')
  // a copy-image import: the file-store image gets a copy in ceph_a (a task, two locations: fast first)
  await call('POST', `/v2/images/${inFile}/import`, { method: { name: 'copy-image' }, stores: ['ceph_a'] })
  const copied = await eventually(async () => {
    const image = await call('GET', `/v2/images/${inFile}`)
    return image.stores === 'fast,ceph_a' && image.os_glance_importing_to_stores === '' && image.os_glance_import_task === undefined
  }, 600, 200)
  t.ok(copied, 'Glance copied the file-store image into ceph_a')
  const queued = await make({ name: 'adopt-queued' }, 0)
  const gone = await make({ name: 'adopt-deleted' }, MiB, 'fast')
  await call('DELETE', `/v2/images/${gone}`)
  // Nova's boot from an RBD image: a COW clone of the protected snapshot
  const clone = `images/nova-disk-${randomBytes(4).toString('hex')}`
  await rbd(CEPH_A_CONF, 'clone', `images/${inA}@snap`, clone)
  clones.push(clone)

  const glanceView = new Map<string, any>()
  for (const id of [inA, inB, inFile, queued]) glanceView.set(id, await call('GET', `/v2/images/${id}`))
  const glanceMembers = (await call('GET', `/v2/images/${inA}/members`)).members
  const glanceTasks = (await call('GET', `/v2/images/${inFile}/tasks`)).tasks
  t.equal(glanceTasks.length, 1, 'Glance has the import task')
  const dump = async (): Promise<string> => {
    const { stdout } = await run('pg_dump', ['--data-only', '--inserts', glanceUrl], { maxBuffer: 64 * MiB })
    // pg_dump's \restrict key is random on every dump
    return stdout.replace(/^\\(un)?restrict .*$/gm, '')
  }
  const before = await dump()
  t.match(before, `INSERT INTO public.images VALUES ('${inA}', 'adopt-a'`, 'the dump holds the images')

  // ---- Glint over the same stores, with its own registry
  const db = await createDatabase()
  t.teardown(() => db.drop())
  const storesConfig = (withB: boolean): string => `[DEFAULT]
enabled_backends = fast:file, ceph_a:rbd${withB ? ', ceph_b:rbd' : ''}
show_image_direct_url = true
[glance_store]
default_backend = fast
[fast]
filesystem_store_datadir = ${join(glanceDir, 'images')}
[ceph_a]
rbd_store_ceph_conf = ${CEPH_A_CONF}
rbd_store_user = admin
rbd_store_pool = images
rbd_store_chunk_size = 8
${withB ? `[ceph_b]
rbd_store_ceph_conf = ${CEPH_B_CONF}
rbd_store_user = admin
rbd_store_pool = images
rbd_store_chunk_size = 8
` : ''}[database]
connection = ${db.url}
`
  const conf = join(work, 'glint.conf')
  writeFileSync(conf, storesConfig(true))
  const confWithoutB = join(work, 'glint-without-b.conf')
  writeFileSync(confWithoutB, storesConfig(false))
  const glanceConf = join(glanceDir, 'glance-api.conf')
  const server = await startGlint({ config: storesConfig(true), databaseUrl: db.url })
  t.teardown(() => server.stop())

  const dry = await glint(['adopt', '--config-file', conf, '--glance-config', glanceConf])
  t.equal(dry.code, 0, `the dry run succeeds\n${dry.out}`)
  t.match(dry.out, /dry run: would take 4 images \(4 locations, .* and 1 tasks/, 'the dry run says what it would take')
  t.match(dry.out, new RegExp(`${gone}\\s+adopt-deleted\\s+deleted.*left: deleted in Glance`), 'the deleted image is left')
  t.equal((await server.request('GET', '/v2/images')).json.images.length, 0, 'the dry run wrote nothing')

  const partial = await glint(['adopt', '--config-file', confWithoutB, '--glance-connection', glanceUrl.replace('postgres://', 'postgresql+psycopg2://')])
  t.equal(partial.code, 1, 'a store Glint lacks fails the dry run')
  t.match(partial.out, new RegExp(`${inB}\\s+adopt-b\\s+active\\s+-\\s+CANNOT: a location is in store 'ceph_b', which Glint does not have`))

  const applied = await glint(['adopt', '--config-file', conf, '--glance-config', glanceConf, '--apply'])
  t.equal(applied.code, 0, `adopt --apply succeeds\n${applied.out}`)
  t.match(applied.out, /taken: 4 images \(4 locations, .*\) and 1 tasks/)
  const again = await glint(['adopt', '--config-file', conf, '--glance-config', glanceConf, '--apply'])
  t.equal(again.code, 0)
  t.match(again.out, /taken: 0 images .* and 0 tasks\nalready in Glint: 4 images, 1 tasks/, 'adopting again takes nothing')

  // ---- the same images through Glint
  const same = ['name', 'status', 'visibility', 'size', 'virtual_size', 'checksum', 'os_hash_algo', 'os_hash_value', 'disk_format',
    'container_format', 'min_disk', 'min_ram', 'protected', 'owner', 'os_hidden', 'tags', 'stores', 'direct_url', 'created_at',
    'os_distro', 'hw_disk_bus']
  for (const [id, fromGlance] of glanceView) {
    const shown = (await server.request('GET', `/v2/images/${id}`)).json
    const pick = (o: any): Record<string, unknown> => Object.fromEntries(same.map((k) => [k, k === 'tags' ? [...(o[k] ?? [])].sort() : o[k]]))
    t.same(pick(shown), pick(fromGlance), `${fromGlance.name}: the fields Glance shows`)
    const bytes = data.get(id)
    if (bytes === undefined) continue
    const res = await fetch(`${server.url}/v2/images/${id}/file`)
    const body = Buffer.from(await res.arrayBuffer())
    t.equal(res.status, 200)
    t.ok(body.equals(bytes), `${fromGlance.name}: downloads byte-identical through Glint`)
    t.equal(res.headers.get('content-md5'), fromGlance.checksum)
  }
  t.equal((await server.request('GET', `/v2/images/${inFile}`)).json.direct_url.startsWith('file://'), true, 'direct_url is the first copy (the file store), as in Glance')
  const members = (await server.request('GET', `/v2/images/${inA}/members`)).json.members
  const memberView = (list: any[]): string[] => list.map((m) => `${m.member_id}:${m.status}`).sort()
  t.same(memberView(members), memberView(glanceMembers), 'members and their statuses')
  const tasks = (await server.request('GET', `/v2/images/${inFile}/tasks`)).json.tasks
  t.same(tasks.map((x: any) => [x.id, x.status, x.type]), glanceTasks.map((x: any) => [x.id, x.status, x.type]), 'the import task')

  // the clone's parent stays protected, and Glint will not delete it from under the clone
  const snaps = await rbdJson(CEPH_A_CONF, 'snap', 'ls', `images/${inA}`)
  t.same(snaps.map((s: any) => [s.name, s.protected]), [['snap', 'true']], "the clone's parent snapshot is still protected")
  t.match(await rbd(CEPH_A_CONF, 'info', clone), `parent: images/${inA}@snap`)
  const refused = await server.request('DELETE', `/v2/images/${inA}`)
  t.equal(refused.status, 409, `Glint refuses to delete an image with a clone (got ${refused.status})`)

  t.equal(await dump(), before, "Glance's database is unchanged")
})
