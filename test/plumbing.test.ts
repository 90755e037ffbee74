// Request plumbing shared by every endpoint (glance-v2.md section 0), on both registries.

import t from 'tap'
import { randomUUID } from 'node:crypto'
import { rawHttp, startGlint, type Glint } from './helpers/glint.js'

for (const database of ['embedded', 'postgres'] as const) {
  t.test(`plumbing on ${database} registry`, async (t) => {
    const glint: Glint = await startGlint({ database })
    t.teardown(() => glint.stop())

    t.test('versions: 300 at /, 200 at /versions, v2.0 to v2.16', async (t) => {
      const root = await glint.request('GET', '/')
      t.equal(root.status, 300)
      const ids = root.json.versions.map((v: any) => v.id)
      t.same(ids.slice().sort(), Array.from({ length: 17 }, (_, i) => `v2.${i}`).sort())
      t.equal(root.json.versions.find((v: any) => v.status === 'CURRENT').id, 'v2.16')
      t.match(root.json.versions[0].links[0].href, /^http:\/\/127\.0\.0\.1:\d+\/v2\/$/)
      const versions = await glint.request('GET', '/versions')
      t.equal(versions.status, 200)
      t.same(versions.json, root.json)
      t.equal((await glint.request('GET', '/v3/images')).status, 300, 'an unknown version gets the versions document')
    })

    t.test('every version prefix maps onto v2', async (t) => {
      for (const prefix of ['/v2', '/v2.0', '/v2.1', '/v2.16']) {
        const reply = await glint.request('GET', `${prefix}/images`)
        t.equal(reply.status, 200, prefix)
        t.ok(Array.isArray(reply.json.images), prefix)
      }
    })

    t.test('healthcheck and request ids', async (t) => {
      const health = await glint.request('GET', '/healthcheck')
      t.equal(health.status, 200)
      t.equal(health.text, 'OK')
      t.match(health.headers.get('x-openstack-request-id'), /^req-[0-9a-f-]{36}$/)
      const missing = await glint.request('GET', '/v2/nothing-here')
      t.match(missing.headers.get('x-openstack-request-id'), /^req-[0-9a-f-]{36}$/, 'errors carry one too')
    })

    t.test('errors in Glance (WebOb) format', async (t) => {
      const json = await glint.request('GET', '/v2/nothing-here')
      t.equal(json.status, 404)
      t.equal(json.headers.get('content-type'), 'application/json')
      t.same(Object.keys(json.json).sort(), ['code', 'message', 'title'])
      t.equal(json.json.code, '404 Not Found')
      t.equal(json.json.title, 'Not Found')
      t.match(json.json.message, /<br \/><br \/>\n\n\n$/)
      const plain = await glint.request('GET', '/v2/nothing-here', { headers: { Accept: 'text/plain' } })
      t.match(plain.headers.get('content-type'), /^text\/plain/)
      t.match(plain.text, /^404 Not Found\n\n/)
      const html = await glint.request('GET', '/v2/nothing-here', { headers: { Accept: '*/*' } })
      t.match(html.headers.get('content-type'), /^text\/html/)
      t.match(html.text, /<h1>404 Not Found<\/h1>/)
    })

    t.test('405 with Allow, 404 for unknown and empty ids, 400 for a body on GET/DELETE', async (t) => {
      const wrong = await glint.request('PUT', '/v2/images')
      t.equal(wrong.status, 405)
      t.same(wrong.headers.get('allow')!.split(', ').sort(), ['GET', 'POST'])
      t.equal((await glint.request('GET', '/v2/images/')).status, 404, 'GET /v2/images/ (empty id)')
      t.equal((await glint.request('GET', '/v2/images/not-a-uuid')).status, 404, 'a name is not an id (OSC looks names up this way)')
      for (const [method, path] of [['GET', '/v2/images'], ['DELETE', `/v2/images/${randomUUID()}`]]) {
        const reply = await rawHttp(glint.port, `${method} ${path} HTTP/1.1\r\nHost: x\r\nAccept: application/json\r\nContent-Length: 2\r\n\r\n{}`)
        t.match(reply, /^HTTP\/1\.1 400 /, `${method} with a body`)
        t.match(reply, /A body is not expected with this request/)
      }
    })

    t.test('bounded JSON bodies: 413 past the limit, 400 for malformed JSON', async (t) => {
      const big = await glint.request('POST', '/v2/images', { body: JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024) }), headers: { 'Content-Type': 'application/json' } })
      t.equal(big.status, 413)
      const bad = await glint.request('POST', '/v2/images', { body: '{"name": ', headers: { 'Content-Type': 'application/json' } })
      t.equal(bad.status, 400)
      t.match(bad.json.message, /Malformed JSON in request body/)
      const scalar = await glint.request('POST', '/v2/images', { body: '42', headers: { 'Content-Type': 'application/json' } })
      t.equal(scalar.status, 400)
      t.match(scalar.json.message, /Unexpected body type/)
      const list = await glint.request('GET', '/v2/images')
      t.equal(list.json.images.length, 0, 'nothing was created by the bad requests')
    })

    t.test('SIGTERM stops cleanly with exit 0', async (t) => {
      const other = await startGlint({ database })
      t.equal((await other.request('GET', '/healthcheck')).status, 200)
      t.equal(await other.stop(), 0)
    })
  })
}
