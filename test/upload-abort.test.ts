// A client that leaves right after sending its last byte (a killed `glint upload`, issue 16):
// the abort races the upload's finish. Whichever wins, the image ends either active with its
// data, or queued with no data left in the store, so that sending it again succeeds (a leftover
// file made every later upload of the image fail with 409).

import t from 'tap'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { createImage, startGlint } from './helpers/glint.js'
import { eventually, upload } from './helpers/data.js'

const MiB = 1024 * 1024
const ROUNDS = 20

t.test('client gone right after the last byte', async (t) => {
  const glint = await startGlint()
  t.teardown(() => glint.stop())
  const outcomes = { active: 0, queued: 0 }
  for (let round = 0; round < ROUNDS; round++) {
    const image = await createImage(glint, { name: `abort-${round}` })
    const size = MiB + round * 4099
    const cut = await upload(glint.url, image.id, size, { abortAfter: size, chunkSize: 256 * 1024 })
    t.equal(cut.status, 0, `round ${round}: the client left`)
    let shown: any
    const settled = await eventually(async () => {
      shown = (await glint.request('GET', `/v2/images/${image.id}`)).json
      return shown.status !== 'saving'
    }, 300, 100)
    t.ok(settled, `round ${round}: the image leaves saving`)
    if (shown.status === 'active') {
      outcomes.active++
      t.equal(shown.checksum, cut.sent.md5, `round ${round}: active with the data sent`)
      continue
    }
    outcomes.queued++
    t.equal(shown.status, 'queued', `round ${round}: otherwise back to queued`)
    t.notOk(existsSync(join(glint.dataDir, 'images', image.id)), `round ${round}: no data left in the store`)
    const again = await upload(glint.url, image.id, size)
    t.equal(again.status, 204, `round ${round}: sending it again succeeds (got ${again.status} ${again.body})`)
  }
  t.comment(`outcomes: ${JSON.stringify(outcomes)}`)
})
