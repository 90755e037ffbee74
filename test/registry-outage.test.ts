// PostgreSQL goes away mid-traffic (issue 15): requests fail with 503 (not 500, not a hang
// until the client gives up), an upload caught by the outage leaves nothing active and no
// data behind, and Glint serves again once the database is back, without a restart. The
// database is a private PostgreSQL server of this test's own (initdb into a temporary
// directory, on a free port), so stopping it disturbs no other test.

import t from 'tap'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createImage, startGlint } from './helpers/glint.js'
import { eventually, upload } from './helpers/data.js'
import { pgBin, privatePostgres } from './helpers/faults.js'

const MiB = 1024 * 1024

const bin = pgBin()
const missing = bin === undefined ? 'pg_config not found (PostgreSQL server binaries)' : undefined

t.test('PostgreSQL stopped and started under a running Glint', { skip: missing }, async (t) => {
  const pg = await privatePostgres(bin!)
  t.teardown(() => pg.remove())
  const storeDir = mkdtempSync(join(tmpdir(), 'glint-outage-store-'))
  t.teardown(() => rmSync(storeDir, { recursive: true, force: true }))
  const glint = await startGlint({
    databaseUrl: pg.url,
    config: `[DEFAULT]\nenabled_backends = local:file\nupload_lease_timeout = 2\n[glance_store]\ndefault_backend = local\n[local]\nfilesystem_store_datadir = ${storeDir}\n`
  })
  t.teardown(() => glint.stop())

  const before = await createImage(glint, { name: 'before-the-outage' })
  t.equal((await upload(glint.url, before.id, 2 * MiB)).status, 204)
  const caught = await createImage(glint, { name: 'caught-by-the-outage' })

  // An upload is under way when the database stops: half its body is sent before, the rest
  // after, so it can only reach its commit while the registry is down.
  let resume!: () => void
  const halfway = new Promise<void>((resolve) => { resume = resolve })
  const uploading = new Promise<number>((resolve) => {
    const req = httpRequest(`${glint.url}/v2/images/${caught.id}/file`, {
      method: 'PUT', headers: { 'Content-Type': 'application/octet-stream', 'Transfer-Encoding': 'chunked' }
    }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode ?? 0)) })
    req.on('error', () => resolve(0))
    req.write(Buffer.alloc(8 * MiB, 1), () => {
      void halfway.then(() => req.end(Buffer.alloc(8 * MiB, 2)))
    })
  })
  await new Promise((resolve) => setTimeout(resolve, 500))
  pg.stop()

  for (const [method, path] of [['GET', '/v2/images'], ['GET', `/v2/images/${before.id}`], ['POST', '/v2/images'], ['GET', `/v2/images/${before.id}/file`]] as const) {
    const reply = await glint.request(method, path, method === 'POST' ? { json: { name: 'during' } } : {})
    t.equal(reply.status, 503, `${method} ${path} while the registry is down: 503`)
    if (reply.status === 503) t.match(reply.text, /registry/i, 'says what is missing')
  }
  t.equal((await glint.request('GET', '/healthcheck')).status, 503, '/healthcheck tells the truth')
  resume()
  const status = await uploading
  t.equal(status, 503, 'the upload caught by the outage is refused with 503, not stored')

  pg.start()
  t.ok(await eventually(async () => (await glint.request('GET', '/v2/images')).status === 200, 100, 200), 'serves again without a restart')
  t.equal((await glint.request('GET', '/healthcheck')).status, 200)
  t.equal((await glint.request('GET', `/v2/images/${before.id}`)).json.status, 'active', 'what was stored before is intact')

  // The caught upload's image is queued (or, had it committed, active with all its bytes),
  // never left saving, and no partial data stays in the store.
  t.ok(await eventually(async () => (await glint.request('GET', `/v2/images/${caught.id}`)).json.status === 'queued', 100, 200), 'the caught upload\'s image is back to queued')
  t.ok(await eventually(async () => readdirSync(storeDir).every((f) => f === before.id), 100, 200), 'no partial data left in the store')
  const again = await upload(glint.url, caught.id, 3 * MiB)
  t.equal(again.status, 204, 'and takes a new upload')
  const shown = (await glint.request('GET', `/v2/images/${caught.id}`)).json
  t.equal(shown.os_hash_value, again.sent.sha512)
})
