// SIGTERM while uploads are in flight: each image goes back to `queued` and its partial data
// is removed from the store (a file store and an RBD store), before the process exits.
// Before, the stores were closed while the aborted uploads were still cleaning up, and the
// partial data stayed (176 MB in one try).

import t from 'tap'
import { connect, type Socket } from 'node:net'
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import postgres from 'postgres'
import { createImage, startGlint, type Glint } from './helpers/glint.js'
import { eventually } from './helpers/data.js'
import { CEPH_A_CONF, clustersMissing, rbdImages, storesConfig } from './helpers/ceph.js'

const MiB = 1024 * 1024

/** Starts a Content-Length upload of `declared` bytes and sends only `sent` of them, keeping the connection open. */
async function partialUpload (glint: Glint, id: string, store: string, declared: number, sent: number): Promise<Socket> {
  const socket = connect(glint.port, '127.0.0.1')
  socket.on('error', () => {})
  socket.write(`PUT /v2/images/${id}/file HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nX-Image-Meta-Store: ${store}\r\nContent-Length: ${declared}\r\n\r\n`)
  const chunk = Buffer.alloc(MiB, 0x5a)
  for (let at = 0; at < sent; at += MiB) {
    if (!socket.write(chunk)) await new Promise((resolve) => socket.once('drain', resolve))
  }
  return socket
}

t.test('SIGTERM during uploads: images back to queued, no partial data left in the stores', async (t) => {
  const rbd = clustersMissing() === undefined
  const glint = await startGlint({ database: 'postgres', config: storesConfig('{dataDir}') })
  t.teardown(() => glint.stop())
  const local = await createImage(glint, { name: 'sigterm-file' })
  const ceph = rbd ? await createImage(glint, { name: 'sigterm-rbd' }) : undefined

  const sockets = [await partialUpload(glint, local.id, 'local', 512 * MiB, 48 * MiB)]
  if (ceph !== undefined) sockets.push(await partialUpload(glint, ceph.id, 'ceph_a', 512 * MiB, 48 * MiB))
  const imagesDir = join(glint.dataDir, 'images')
  const statusOf = async (id: string): Promise<string> => (await glint.request('GET', `/v2/images/${id}`)).json.status
  for (const image of [local, ceph]) {
    if (image !== undefined) t.ok(await eventually(async () => await statusOf(image.id) === 'saving', 600, 100), `${image.name as string} is saving`)
  }
  const partialFiles = (): string[] => existsSync(imagesDir) ? readdirSync(imagesDir).filter((f) => f.includes(local.id)) : []
  t.ok(await eventually(async () => partialFiles().length > 0, 600, 100), 'the file store holds partial data')
  if (ceph !== undefined) t.ok((await rbdImages(CEPH_A_CONF)).includes(ceph.id), 'the RBD store holds partial data')

  const exited = new Promise<number | null>((resolve) => glint.proc.once('exit', resolve))
  glint.proc.kill('SIGTERM')
  t.equal(await exited, 0, 'the server stopped cleanly')
  for (const socket of sockets) socket.destroy()

  t.same(partialFiles(), [], 'no partial file left in the file store')
  if (ceph !== undefined) t.notOk((await rbdImages(CEPH_A_CONF)).includes(ceph.id), 'no partial RBD image left')
  const sql = postgres(glint.databaseUrl!, { max: 1, onnotice: () => {} })
  const rows = await sql`select id::text, status from images where id in ${sql([local.id, ...(ceph !== undefined ? [ceph.id] : [])])}`
  await sql.end()
  for (const row of rows) t.equal(row.status, 'queued', `${row.id as string} is queued again`)
  t.equal(rows.length, ceph !== undefined ? 2 : 1)
})
