// HTTP framing at the socket level: how each response ends (Connection: close said and a
// clean FIN, never a reset), and what the server does with requests that are unusual or
// malformed. Raw sockets, because an HTTP client library hides exactly these details.

import t from 'tap'
import { connect } from 'node:net'
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createImage, startGlint } from './helpers/glint.js'
import { SYSTEM_PYTHON } from './helpers/clients.js'

interface RawReply {
  /** every byte the server sent */
  data: Buffer
  /** how the server ended the connection: FIN, RST, or still open when we gave up */
  end: 'FIN' | 'RST' | 'open'
  /** the status code of each response in the data, in order */
  statuses: number[]
  /** the header blocks of each response, lower-cased */
  heads: string[]
}

/** Sends `request` on a new connection and reads until the server ends it (at most `waitMs`). */
async function raw (port: number, request: Buffer | string, waitMs = 30_000): Promise<RawReply> {
  return await new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    const parts: Buffer[] = []
    let end: RawReply['end'] = 'open'
    const finish = (): void => {
      clearTimeout(timer)
      socket.destroy()
      const data = Buffer.concat(parts)
      const heads = [...data.toString('latin1').matchAll(/HTTP\/1\.1 (\d{3})[^\r\n]*\r\n([\s\S]*?)\r\n\r\n/g)]
      resolve({ data, end, statuses: heads.map((m) => Number(m[1])), heads: heads.map((m) => m[2].toLowerCase()) })
    }
    const timer = setTimeout(finish, waitMs)
    socket.on('data', (d) => parts.push(d))
    socket.on('end', () => { if (end === 'open') end = 'FIN' })
    socket.on('error', (err: NodeJS.ErrnoException) => { if (err.code === 'ECONNRESET') end = 'RST' })
    socket.on('close', finish)
    socket.write(request)
  })
}

function connectionCloseCount (head: string): number {
  return head.split('\r\n').filter((line) => /^connection:\s*close\s*$/.test(line)).length
}

t.test('a request that asks to close gets Connection: close and a clean close, for every kind of answer', async (t) => {
  const glint = await startGlint()
  t.teardown(() => glint.stop())
  const port = glint.port
  const json = (method: string, path: string, body: string, extra = ''): string =>
    `${method} ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${extra}Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  const bare = (method: string, path: string, extra = ''): string => `${method} ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${extra}\r\n`
  const upload = (id: string, body: Buffer, type = 'application/octet-stream'): Buffer => Buffer.concat([
    Buffer.from(`PUT /v2/images/${id}/file HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: ${type}\r\nContent-Length: ${body.length}\r\n\r\n`), body])
  const chunkedUpload = (id: string, body: Buffer): Buffer => Buffer.concat([
    Buffer.from(`PUT /v2/images/${id}/file HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n${body.length.toString(16)}\r\n`),
    body, Buffer.from('\r\n0\r\n\r\n')])

  const data = randomBytes(3 * 1024 * 1024 + 5)
  const a = await createImage(glint, { name: 'close-a', disk_format: 'raw', container_format: 'bare' })
  const b = await createImage(glint, { name: 'close-b', disk_format: 'raw', container_format: 'bare' })
  const c = await createImage(glint, { name: 'close-c', disk_format: 'raw', container_format: 'bare' })
  const cases: Array<[string, Buffer | string, number]> = [
    ['healthcheck', bare('GET', '/healthcheck'), 200],
    ['versions (300)', bare('GET', '/'), 300],
    ['unknown image (404)', bare('GET', '/v2/images/00000000-0000-0000-0000-000000000000'), 404],
    ['bad query (400)', bare('GET', '/v2/images?limit=abc'), 400],
    ['method not allowed (405)', bare('PATCH', '/v2/images'), 405],
    ['create (201)', json('POST', '/v2/images', '{"name": "close-new"}'), 201],
    ['malformed JSON (400)', json('POST', '/v2/images', '{"name": '), 400],
    ['upload, Content-Length (204)', upload(a.id, data), 204],
    ['upload, chunked (204)', chunkedUpload(b.id, data), 204],
    ['upload of the wrong type, body unread (415)', upload(c.id, data, 'text/plain'), 415],
    ['upload onto an active image (409)', upload(a.id, data), 409],
    ['download (200, streamed)', bare('GET', `/v2/images/${a.id}/file`), 200],
    ['range download (206)', bare('GET', `/v2/images/${a.id}/file`, 'Range: bytes=10-1000\r\n'), 206],
    ['download of a queued image (204)', bare('GET', `/v2/images/${c.id}/file`), 204],
    ['delete (204)', bare('DELETE', `/v2/images/${b.id}`), 204],
    ['Connection: close among other options', bare('GET', '/healthcheck').replace('Connection: close', 'Connection: TE, close'), 200]
  ]
  for (const [name, request, status] of cases) {
    const reply = await raw(port, request)
    t.same(reply.statuses, [status], `${name}: one answer, ${status}`)
    t.equal(connectionCloseCount(reply.heads[0] ?? ''), 1, `${name}: the answer says Connection: close, once`)
    t.equal(reply.end, 'FIN', `${name}: the server closed cleanly`)
  }
  const download = await raw(port, bare('GET', `/v2/images/${a.id}/file`))
  t.ok(download.data.subarray(download.data.indexOf('\r\n\r\n') + 4).equals(data), 'the streamed body is whole before the close')

  const keepAlive = await raw(port, 'GET /healthcheck HTTP/1.1\r\nHost: x\r\n\r\nGET /healthcheck HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  t.same(keepAlive.statuses, [200, 200], 'a keep-alive request leaves the connection open for the next')
  t.equal(connectionCloseCount(keepAlive.heads[0]), 0, 'and its answer does not say close')
  t.equal(connectionCloseCount(keepAlive.heads[1]), 1)
})

// tempest's client: a urllib3 pool whose every request carries `connection: close`. Before
// Glint said Connection: close, the pool reused closed sockets (RemoteDisconnected).
const URLLIB3_LOOP = `
import json, sys, urllib3
base, rounds = sys.argv[1], int(sys.argv[2])
pool = urllib3.PoolManager(retries=False, timeout=60)
headers = {'connection': 'close', 'content-type': 'application/json'}
data = bytes(range(256)) * 4096
failures = []
for i in range(rounds):
    try:
        r = pool.request('POST', base + '/v2/images', body=json.dumps({'name': 'u3-%d' % i, 'disk_format': 'raw', 'container_format': 'bare'}), headers=headers)
        assert r.status == 201, ('create', r.status)
        image = json.loads(r.data)['id']
        def chunks():
            for at in range(0, len(data), 65536):
                yield data[at:at + 65536]
        r = pool.request('PUT', base + '/v2/images/%s/file' % image, body=chunks(), chunked=True, headers={'connection': 'close', 'content-type': 'application/octet-stream'})
        assert r.status == 204, ('upload', r.status)
        r = pool.request('GET', base + '/v2/images/%s' % image, headers=headers)
        assert r.status == 200 and json.loads(r.data)['status'] == 'active', ('show', r.status)
        r = pool.request('GET', base + '/v2/images/%s/file' % image, headers=headers)
        assert r.status == 200 and r.data == data, ('download', r.status)
        r = pool.request('DELETE', base + '/v2/images/%s' % image, headers=headers)
        assert r.status == 204, ('delete', r.status)
    except Exception as e:
        failures.append('%d: %r' % (i, e))
print(json.dumps({'rounds': rounds, 'failures': failures}))
`

t.test('a urllib3 pool sending connection: close (as tempest does) never meets a closed socket', async (t) => {
  const glint = await startGlint()
  t.teardown(() => glint.stop())
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(SYSTEM_PYTHON, ['-c', URLLIB3_LOOP, glint.url, '40'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let text = ''
    child.stdout.on('data', (d) => { text += d })
    child.stderr.on('data', (d) => { text += d })
    const timer = setTimeout(() => child.kill('SIGKILL'), 400_000)
    child.on('error', reject)
    child.on('close', () => { clearTimeout(timer); resolve(text) })
  })
  const result = JSON.parse(out.trim().split('\n').pop() ?? '{}')
  t.equal(result.rounds, 40, out)
  t.same(result.failures, [], 'create, upload, show, download and delete succeeded in every round')
})
