// A full file store (issue 15): an upload that does not fit is answered with Glance's 413
// "storage full", leaves no partial file and the image queued, and the store keeps taking what
// does fit. The store is a small tmpfs mounted for this test (it needs root, as CI has; it is
// skipped with the reason elsewhere).

import t from 'tap'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createImage, startGlint } from './helpers/glint.js'
import { download, upload } from './helpers/data.js'

const MiB = 1024 * 1024
const dir = mkdtempSync(join(tmpdir(), 'glint-full-'))
let mounted: string | undefined
try {
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', dir], { stdio: 'ignore' })
} catch (err) {
  mounted = `cannot mount a small tmpfs here (${(err as Error).message.split('\n')[0]})`
}
t.teardown(() => {
  if (mounted === undefined) execFileSync('umount', [dir], { stdio: 'ignore' })
  rmSync(dir, { recursive: true, force: true })
})

t.test('an upload into a full file store', { skip: mounted }, async (t) => {
  const glint = await startGlint({
    database: 'postgres',
    config: `[DEFAULT]\nenabled_backends = local:file\n[glance_store]\ndefault_backend = local\n[local]\nfilesystem_store_datadir = ${dir}\n`
  })
  t.teardown(() => glint.stop())

  for (const chunked of [true, false]) {
    const image = await createImage(glint, { name: `too-big-${chunked}` })
    const up = await upload(glint.url, image.id, 16 * MiB, { chunked })
    t.equal(up.status, 413, `16 MiB into an 8 MiB store (${chunked ? 'chunked' : 'Content-Length'}): 413`)
    t.match(up.body, /storage|full|space/i, 'says the storage is full')
    const shown = (await glint.request('GET', `/v2/images/${image.id}`)).json
    t.equal(shown.status, 'queued', 'the image is back to queued')
    t.equal(shown.size, null)
    t.same(readdirSync(dir), [], 'no partial file left: the space is free again')
  }

  const fits = await createImage(glint, { name: 'fits' })
  const up = await upload(glint.url, fits.id, 3 * MiB)
  t.equal(up.status, 204, 'what fits is still stored')
  t.equal((await download(glint.url, `/v2/images/${fits.id}/file`)).digest.sha512, up.sent.sha512)
})
