// Gateways die (issue 15): kill -9 of the gateway in the middle of an upload, at points chosen
// by a fixed seed (early, midway, right after the last byte, when the store commits and the
// registry records), 20 times over one PostgreSQL database and one file store. The next
// gateway's recovery sweep finds each dead upload by its expired lease, removes its partial
// data and puts the image back to queued. Afterwards: no image `active` without all its bytes
// and the right hashes, none stuck in `saving`, no orphaned files; `glint orphans` agrees.

import t from 'tap'
import { execFile } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { createDatabase, createImage, startGlint, ROOT } from './helpers/glint.js'
import { download, eventually } from './helpers/data.js'
import { killRound, MiB, seeded, sha512Of, streamUpload, uploadAndKill } from './helpers/faults.js'

const run = promisify(execFile)
const ROUNDS = 20

t.test('kill -9 of a gateway mid-upload, 20 times: recovery leaves nothing half-done', async (t) => {
  const db = await createDatabase()
  const storeDir = mkdtempSync(join(tmpdir(), 'glint-recovery-store-'))
  t.teardown(async () => { rmSync(storeDir, { recursive: true, force: true }); await db.drop() })
  const config = `[DEFAULT]
enabled_backends = local:file
upload_lease_timeout = 2
[glance_store]
default_backend = local
[local]
filesystem_store_datadir = ${storeDir}
[database]
connection = ${db.url}
`
  const random = seeded(15)
  const images: Array<{ id: string, number: number, blocks: number, sha512: string, point: string }> = []
  let glint = await startGlint({ config, databaseUrl: db.url })
  try {
    for (let round = 0; round < ROUNDS; round++) {
      // about a third of the rounds die after the last byte: in the fsync, rename or commit
      const { blocks, killAfter, delayMs, label } = killRound(random, 28, 0.3, 2500)
      const image = await createImage(glint, { name: `victim-${round}` })
      images.push({ id: image.id, number: round, blocks, sha512: sha512Of(round, blocks), point: label })
      await uploadAndKill(glint, image.id, round, blocks, killAfter, delayMs)
      await glint.stop()
      glint = await startGlint({ config, databaseUrl: db.url })
    }

    const statuses = async (): Promise<Map<string, any>> => {
      const listed = await glint.request('GET', '/v2/images?limit=100')
      return new Map(listed.json.images.map((i: any) => [i.id, i]))
    }
    t.ok(await eventually(async () => [...(await statuses()).values()].every((i) => i.status !== 'saving'), 200, 100),
      'no image stuck in saving once the dead gateways\' leases ran out')

    const shown = await statuses()
    let active = 0
    for (const img of images) {
      const now = shown.get(img.id)
      t.ok(now.status === 'queued' || now.status === 'active', `${img.point}: ${now.status}`)
      if (now.status === 'queued') {
        t.equal(now.size, null, `${img.point}: a queued image has no size`)
        t.equal(now.checksum, null)
        continue
      }
      active++
      t.equal(now.size, img.blocks * MiB, `${img.point}: active with all its bytes`)
      t.equal(now.os_hash_value, img.sha512, `${img.point}: active with its own sha512`)
      const down = await download(glint.url, `/v2/images/${img.id}/file`)
      t.equal(down.digest.sha512, img.sha512, `${img.point}: the stored bytes are the uploaded ones`)
    }
    t.comment(`${ROUNDS} kills: ${active} uploads had committed before the kill, ${ROUNDS - active} recovered to queued`)

    const files = readdirSync(storeDir)
    t.same(files.filter((f) => f.endsWith('.partial')), [], 'no partial file left')
    const activeIds = new Set([...shown.values()].filter((i) => i.status === 'active').map((i) => i.id))
    t.same(files.filter((f) => !activeIds.has(f)), [], 'every stored file belongs to an active image')

    // A queued image takes a new upload: the recovery left it usable.
    const again = images.find((i) => shown.get(i.id).status === 'queued')
    if (again !== undefined) {
      t.equal((await streamUpload(glint.url, again.id, again.number, again.blocks)).status, 204)
      t.equal((await glint.request('GET', `/v2/images/${again.id}`)).json.os_hash_value, again.sha512)
    }

    // The operator's command agrees: nothing orphaned; then it finds planted orphans.
    const confFile = join(storeDir, '..', `glint-recovery-${process.pid}.conf`)
    writeFileSync(confFile, config)
    t.teardown(() => rmSync(confFile, { force: true }))
    const orphans = async (...args: string[]): Promise<string> =>
      (await run(process.execPath, ['bin/glint.js', 'orphans', '--config-file', confFile, ...args], { cwd: ROOT, env: { ...process.env, DATABASE_URL: db.url } })).stdout
    t.match(await orphans(), /^0 orphaned/m, 'glint orphans: nothing after recovery')
    const planted = '0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9'
    writeFileSync(join(storeDir, planted), 'left by hand')
    writeFileSync(join(storeDir, `.${planted}.abcd1234.partial`), 'a crash mid-upload')
    const dry = await orphans()
    t.match(dry, new RegExp(`local\\s+${planted}`), 'the planted data is reported')
    t.match(dry, /^1 orphaned \(dry run/m)
    t.ok(readdirSync(storeDir).includes(planted), 'a dry run removes nothing')
    t.match(await orphans('--delete'), /^1 removed, 0 failed/m)
    t.same(readdirSync(storeDir).filter((f) => f.includes(planted)), [], 'both pieces removed')
    t.same(readdirSync(storeDir).sort(), [...activeIds].concat(again !== undefined ? [again.id] : []).sort(), 'active images keep their data')
  } finally {
    await glint.stop()
  }
})
