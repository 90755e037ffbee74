// A client that leaves right after sending its last byte (a killed `glint upload`, issue 16):
// the abort races the upload's finish. Whichever wins, the image ends either active with its
// data, or queued with no data left in the store, so that sending it again succeeds (a leftover
// file made every later upload of the image fail with 409).

import t from 'tap'
import { createImage, startGlint } from './helpers/glint.js'
import { upload } from './helpers/data.js'

const MiB = 1024 * 1024
const ROUNDS = 20

t.test('client gone right after the last byte', async (t) => {
  const glint = await startGlint({ database: 'postgres' })
  t.teardown(() => glint.stop())
  const outcomes = { active: 0, queued: 0 }
  for (let round = 0; round < ROUNDS; round++) {
    const image = await createImage(glint, { name: `abort-${round}` })
    const size = MiB + round * 4099
    const cut = await upload(glint.url, image.id, size, { abortAfter: size, chunkSize: 256 * 1024 })
    t.equal(cut.status, 0, `round ${round}: the client left`)
    // The server may still be handling the cut request (it moves the image to saving and back),
    // so a re-upload refused with a saving conflict is tried again; any other refusal is the bug.
    let outcome: 'active' | 'sent again' | undefined
    let last = ''
    for (let attempt = 0; attempt < 300 && outcome === undefined; attempt++) {
      const shown = (await glint.request('GET', `/v2/images/${image.id}`)).json
      if (shown.status === 'active') {
        outcome = 'active'
        t.equal(shown.checksum, cut.sent.md5, `round ${round}: active with the data sent`)
      } else if (shown.status === 'queued') {
        const again = await upload(glint.url, image.id, size)
        last = `${again.status} ${again.body}`
        if (again.status === 204) outcome = 'sent again'
        else if (again.status !== 409 || !/from (saving|active) to saving/.test(again.body)) break
      }
      if (outcome === undefined) await new Promise((resolve) => setTimeout(resolve, 100))
    }
    t.ok(outcome !== undefined, `round ${round}: the image ends active, or can be sent again (last answer: ${last})`)
    if (outcome === 'active') outcomes.active++
    if (outcome === 'sent again') outcomes.queued++
  }
  t.comment(`outcomes: ${JSON.stringify(outcomes)}`)
})
