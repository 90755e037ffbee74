// Several gateways behind one endpoint (issue 15): two Glint processes over one PostgreSQL
// database and one image store, behind Debian's HAProxy on loopback, as Glint is run once one
// machine is not enough. Glint keeps no state of its own, so: data uploaded through one
// gateway downloads through the other; uploads racing on one image through different
// gateways have exactly one winner; an upload racing a delete leaves no data behind; and a
// gateway killed in the middle of a download storm costs the clients a retry, never a byte.

import t from 'tap'
import { createHash } from 'node:crypto'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createDatabase, createImage, startGlint, request } from './helpers/glint.js'
import { download, eventually, upload } from './helpers/data.js'
import { haproxyMissing, startHaproxy } from '../bench/targets/haproxy.js'

const MiB = 1024 * 1024

/** One download that may be cut short: resolves its digest, or undefined when it failed. */
async function tryDownload (url: string): Promise<{ size: number, sha512: string } | undefined> {
  return await new Promise((resolve) => {
    const req = httpRequest(url, (res) => {
      if (res.statusCode !== 200) { res.resume(); resolve(undefined); return }
      const h = createHash('sha512')
      let size = 0
      res.on('data', (c: Buffer) => { h.update(c); size += c.length })
      res.on('end', () => resolve({ size, sha512: h.digest('hex') }))
      res.on('error', () => resolve(undefined))
      res.on('close', () => { if (!res.complete) resolve(undefined) })
    })
    req.on('error', () => resolve(undefined))
    req.end()
  })
}

t.test('two gateways over one registry and one store, behind HAProxy', { skip: haproxyMissing() }, async (t) => {
  const db = await createDatabase()
  const dir = mkdtempSync(join(tmpdir(), 'glint-gateways-'))
  const storeDir = join(dir, 'images')
  t.teardown(async () => { rmSync(dir, { recursive: true, force: true }); await db.drop() })
  const config = `[DEFAULT]\nenabled_backends = local:file\n[glance_store]\ndefault_backend = local\n[local]\nfilesystem_store_datadir = ${storeDir}\n`
  const a = await startGlint({ config, databaseUrl: db.url })
  const b = await startGlint({ config, databaseUrl: db.url })
  t.teardown(async () => { await a.stop(); await b.stop() })
  const proxy = await startHaproxy(dir, [a.port, b.port])
  t.teardown(() => proxy.stop())

  t.test('uploaded through one gateway, downloaded through the other and through HAProxy', async (t) => {
    const image = await createImage(a, { name: 'across' })
    const up = await upload(b.url, image.id, 9 * MiB + 7, { chunked: true })
    t.equal(up.status, 204)
    t.equal((await a.request('GET', `/v2/images/${image.id}`)).json.status, 'active', 'the other gateway sees it active')
    const viaA = await download(a.url, `/v2/images/${image.id}/file`)
    t.equal(viaA.digest.sha512, up.sent.sha512, 'byte-identical through the other gateway')
    for (let i = 0; i < 6; i++) {
      const viaProxy = await download(proxy.url, `/v2/images/${image.id}/file`)
      t.equal(viaProxy.digest.sha512, up.sent.sha512, `through HAProxy, request ${i + 1}`)
    }
  })

  t.test('uploads racing on one image through different gateways: exactly one winner, 10 rounds', async (t) => {
    for (let round = 0; round < 10; round++) {
      const image = await createImage(a, { name: `race-${round}` })
      const [ra, rb] = await Promise.all([
        upload(a.url, image.id, 3 * MiB, { chunked: true }),
        upload(b.url, image.id, 3 * MiB + 1, { chunked: true })
      ])
      const winners = [ra, rb].filter((r) => r.status === 204)
      t.equal(winners.length, 1, `round ${round}: one winner (${ra.status}, ${rb.status})`)
      const loser = ra.status === 204 ? rb : ra
      t.ok(loser.status === 409 || loser.status === 410, `round ${round}: the loser gets 409 or 410 (${loser.status})`)
      const shown = (await b.request('GET', `/v2/images/${image.id}`)).json
      t.equal(shown.status, 'active')
      t.equal(shown.os_hash_value, winners[0]?.sent.sha512, `round ${round}: the winner's bytes`)
      t.equal(shown.size, winners[0]?.sent.size)
    }
    const partials = readdirSync(storeDir).filter((f) => f.endsWith('.partial'))
    t.same(partials, [], 'no partial file left by the losers')
  })

  t.test('an upload through one gateway racing a delete through the other leaves no data', async (t) => {
    for (let round = 0; round < 8; round++) {
      const image = await createImage(a, { name: `delete-race-${round}` })
      const uploading = upload(a.url, image.id, 6 * MiB, { chunked: true })
      await new Promise((resolve) => setTimeout(resolve, round * 15))
      const deleted = await b.request('DELETE', `/v2/images/${image.id}`)
      t.equal(deleted.status, 204, `round ${round}: the delete succeeds`)
      const up = await uploading
      t.ok([204, 404, 409, 410].includes(up.status), `round ${round}: the upload is answered ${up.status}`)
      t.equal((await a.request('GET', `/v2/images/${image.id}`)).status, 404, `round ${round}: the image is gone`)
      t.ok(await eventually(async () => !readdirSync(storeDir).some((f) => f.includes(image.id))), `round ${round}: and so is its data`)
    }
  })

  t.test('a gateway killed in the middle of a download storm: every client gets its bytes', async (t) => {
    const image = await createImage(a, { name: 'storm' })
    const up = await upload(a.url, image.id, 48 * MiB, { chunked: true })
    t.equal(up.status, 204)
    const url = `${proxy.url}/v2/images/${image.id}/file`
    let attempts = 0
    const client = async (): Promise<{ size: number, sha512: string } | undefined> => {
      // a client retries what was cut short, as Nova's image download does
      for (let i = 0; i < 5; i++) {
        attempts++
        const got = await tryDownload(url)
        if (got !== undefined && got.size === up.sent.size) return got
      }
      return undefined
    }
    const storm = Array.from({ length: 24 }, async () => await client())
    await new Promise((resolve) => setTimeout(resolve, 200))
    a.proc.kill('SIGKILL')
    const results = await Promise.all(storm)
    t.equal(results.filter((r) => r?.sha512 === up.sent.sha512).length, 24, 'all 24 clients have the whole image, byte-identical')
    t.comment(`24 clients, ${attempts} attempts (${attempts - 24} retries after the kill)`)
    t.equal((await request(proxy.url, 'GET', `/v2/images/${image.id}`)).json.status, 'active', 'the survivor serves the API alone')
  })
})
