// Issue 9 section 3: two uploads to one image at once, and an upload racing DELETE,
// deactivate and a copy-image import. Exactly one upload wins and the image keeps its bytes
// and hashes; no request undoes what another did; nothing is left in the stores.

import t from 'tap'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { createImage, startGlint, type Glint } from './helpers/glint.js'
import { download, eventually, upload } from './helpers/data.js'

const MiB = 1024 * 1024
const ROUNDS = 20

const config = `[DEFAULT]
enabled_backends = local:file, spare:file
[glance_store]
default_backend = local
[local]
filesystem_store_datadir = {dataDir}/images
[spare]
filesystem_store_datadir = {dataDir}/spare
`

// What settles after the answer is awaited with eventually(..., 600): up to 60 s on a loaded machine.
const filesOf = (glint: Glint, dir: string, id: string): string[] =>
  readdirSync(join(glint.dataDir, dir)).filter((f) => f.includes(id))

const pause = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

t.test('racing uploads', async (t) => {
  const glint = await startGlint({ config, database: 'postgres' })
  t.teardown(() => glint.stop())
  const show = async (id: string): Promise<any> => (await glint.request('GET', `/v2/images/${id}`)).json

  t.test(`two PUTs to one queued image, ${ROUNDS} rounds: exactly one wins`, async (t) => {
    for (let round = 0; round < ROUNDS; round++) {
      const image = await createImage(glint, { name: `race-${round}` })
      // different random bytes each; alternate chunked and Content-Length
      const [a, b] = await Promise.all([
        upload(glint.url, image.id, 3 * MiB, { chunked: round % 2 === 0, chunkSize: 256 * 1024 }),
        upload(glint.url, image.id, 2 * MiB, { chunked: round % 2 === 1, chunkSize: 256 * 1024 })
      ])
      const statuses = [a.status, b.status]
      const winners = [a, b].filter((r) => r.status === 204)
      t.equal(winners.length, 1, `round ${round}: exactly one 204 (got ${statuses.join(', ')})`)
      const loser = [a, b].find((r) => r.status !== 204)
      t.ok(loser !== undefined && [409, 410].includes(loser.status), `round ${round}: the other gets 409 or 410 (got ${loser?.status} ${loser?.body})`)
      if (winners.length !== 1) continue
      const won = winners[0].sent
      const shown = await show(image.id)
      t.equal(shown.status, 'active', `round ${round}: active`)
      t.equal(shown.size, won.size, 'the winner\'s size')
      t.equal(shown.checksum, won.md5, 'the winner\'s md5')
      t.equal(shown.os_hash_value, won.sha512, 'the winner\'s sha512')
      const down = await download(glint.url, `/v2/images/${image.id}/file`)
      t.equal(down.digest.sha512, won.sha512, 'the download is the winner\'s bytes')
      t.ok(await eventually(async () => filesOf(glint, 'images', image.id).length === 1, 600), 'one file in the store, the winner\'s')
    }
  })

  t.test(`an upload racing DELETE, ${ROUNDS} rounds: the image is gone and so is its data`, async (t) => {
    for (let round = 0; round < ROUNDS; round++) {
      const image = await createImage(glint, { name: `race-delete-${round}` })
      const [up, del] = await Promise.all([
        upload(glint.url, image.id, 4 * MiB, { chunked: round % 2 === 0, chunkSize: 256 * 1024 }),
        pause(round % 5 * 3).then(async () => await glint.request('DELETE', `/v2/images/${image.id}`))
      ])
      t.equal(del.status, 204, `round ${round}: DELETE succeeds`)
      t.ok([204, 404, 409, 410].includes(up.status), `round ${round}: upload answers 204/404/409/410 (got ${up.status} ${up.body})`)
      t.equal((await glint.request('GET', `/v2/images/${image.id}`)).status, 404, 'the image is gone')
      t.ok(await eventually(async () => filesOf(glint, 'images', image.id).length === 0, 600), `round ${round}: no data left in the store`)
    }
  })

  t.test(`an upload racing deactivate, ${ROUNDS} rounds: the upload wins, deactivate applies only to active`, async (t) => {
    for (let round = 0; round < ROUNDS; round++) {
      const image = await createImage(glint, { name: `race-deactivate-${round}` })
      const [up, deactivate] = await Promise.all([
        upload(glint.url, image.id, 2 * MiB, { chunked: round % 2 === 0, chunkSize: 256 * 1024 }),
        pause(round % 5 * 3).then(async () => await glint.request('POST', `/v2/images/${image.id}/actions/deactivate`))
      ])
      t.equal(up.status, 204, `round ${round}: the upload succeeds (got ${up.status} ${up.body})`)
      t.ok([204, 403].includes(deactivate.status), `round ${round}: deactivate is 204 or 403 (got ${deactivate.status})`)
      const shown = await show(image.id)
      t.equal(shown.status, deactivate.status === 204 ? 'deactivated' : 'active', `round ${round}: status follows the outcomes`)
      t.equal(shown.checksum, up.sent.md5, 'the upload\'s md5')
      t.equal(shown.os_hash_value, up.sent.sha512, 'the upload\'s sha512')
    }
  })

  t.test(`an upload racing a copy-image import, ${ROUNDS} rounds`, async (t) => {
    for (let round = 0; round < ROUNDS; round++) {
      const image = await createImage(glint, { name: `race-import-${round}` })
      const [up, imported] = await Promise.all([
        upload(glint.url, image.id, 2 * MiB, { chunked: round % 2 === 0, chunkSize: 256 * 1024 }),
        pause(round % 5 * 3).then(async () => await glint.request('POST', `/v2/images/${image.id}/import`,
          { json: { method: { name: 'copy-image' }, stores: ['spare'] } }))
      ])
      t.equal(up.status, 204, `round ${round}: the upload succeeds (got ${up.status} ${up.body})`)
      t.ok([202, 409].includes(imported.status), `round ${round}: import is 202 or 409 (got ${imported.status} ${imported.text})`)
      const wanted = imported.status === 202 ? 'local,spare' : 'local'
      t.ok(await eventually(async () => (await show(image.id)).stores === wanted, 600), `round ${round}: stores ${wanted}`)
      const shown = await show(image.id)
      t.equal(shown.status, 'active')
      t.equal(shown.checksum, up.sent.md5, 'the upload\'s md5')
      t.equal(shown.os_hash_value, up.sent.sha512, 'the upload\'s sha512')
      if (imported.status === 202) {
        const copy = await download(glint.url, `/v2/images/${image.id}/file`)
        t.equal(copy.digest.sha512, up.sent.sha512, 'the image reads back as the upload')
      }
    }
  })
})
