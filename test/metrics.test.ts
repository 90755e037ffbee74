// /metrics (issue 16): Prometheus text on its own listener, off by default; scraped while
// uploads and a download storm are held mid-flight, the in-flight gauges, byte counters,
// request counters and histograms move as they should.

import t from 'tap'
import { get as httpGet, request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http'
import { createImage, startGlint, type Glint } from './helpers/glint.js'
import { eventually, generate, readAll, upload } from './helpers/data.js'
import { freePort } from '../bench/util/paths.js'

const MiB = 1024 * 1024
const SIZE = 32 * MiB

type Samples = Map<string, number>

/** The samples of a Prometheus text exposition, keyed `name{labels}` exactly as printed. */
function parseMetrics (text: string): Samples {
  const out: Samples = new Map()
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const at = line.lastIndexOf(' ')
    out.set(line.slice(0, at), Number(line.slice(at + 1)))
  }
  return out
}

/** One scrape on a connection of its own (a kept-alive one may be closed by the server just as it is reused). */
async function scrape (port: number): Promise<Samples> {
  return await new Promise((resolve, reject) => {
    httpGet({ host: '127.0.0.1', port, path: '/metrics', agent: false }, (res) => {
      readAll(res).then((body) => {
        if (res.statusCode !== 200) reject(new Error(`scrape answered ${res.statusCode}`))
        else resolve(parseMetrics(body.toString()))
      }, reject)
    }).on('error', reject)
  })
}

const value = (s: Samples, key: string): number => s.get(key) ?? 0

t.test('metrics are off unless metrics_port is set', async (t) => {
  const glint = await startGlint({ database: 'postgres' })
  t.teardown(() => glint.stop())
  t.notMatch(glint.output(), 'metrics at /metrics', 'no metrics listener')
  const reply = await glint.request('GET', '/metrics')
  t.equal(reply.status, 404, 'the API port does not serve /metrics')
})

t.test('metrics during an upload and a download storm', async (t) => {
  const metricsPort = await freePort()
  const glint: Glint = await startGlint({
    database: 'postgres',
    config: `[DEFAULT]
enabled_backends = a:file, b:file
metrics_port = ${metricsPort}
[paste_deploy]
flavor = trusted-auth
[glance_store]
default_backend = a
[a]
filesystem_store_datadir = {dataDir}/a
[b]
filesystem_store_datadir = {dataDir}/b
`
  })
  t.teardown(() => glint.stop())
  t.match(glint.output(), 'metrics at /metrics')
  const admin = { 'X-Identity-Status': 'Confirmed', 'X-Roles': 'admin', 'X-Project-Id': 'p1', 'X-User-Id': 'u1' }

  const first = await scrape(metricsPort)
  t.ok(first.has('glint_registry_pool_size'), 'registry pool size is exported')
  t.ok([...first.keys()].some((k) => k.startsWith('glint_registry_connections{')), 'registry connections by state')
  t.ok(first.has('glint_worker_pool_threads{pool="store:a"}') && first.has('glint_worker_pool_queue_depth{pool="hashers"}'), 'worker pools are watched')
  t.equal((await glint.request('GET', '/v2/images', { headers: { 'X-Identity-Status': 'Invalid' } })).status, 401, 'the API itself still authenticates')
  t.equal(value(await scrape(metricsPort), 'glint_http_requests_total{route="/v2/images",method="GET",status="401"}'), 1, 'a refused request is counted by route and status')

  t.test('uploads held mid-flight, then finished', async (t) => {
    const images = await Promise.all([0, 1, 2, 3].map(async (i) => await createImage(glint, { name: `up-${i}` }, admin)))
    const stores = ['a', 'a', 'b', 'b']
    const before = await scrape(metricsPort)
    const chunks: Buffer[][] = images.map(() => [])
    const digests = images.map((_, i) => generate(SIZE, MiB, (c) => chunks[i].push(Buffer.from(c))))
    const requests: ClientRequest[] = []
    const answers = images.map(async (image, i) => await new Promise<number>((resolve, reject) => {
      const req = httpRequest(`${glint.url}/v2/images/${image.id}/file`, {
        method: 'PUT',
        headers: { ...admin, 'Content-Type': 'application/octet-stream', 'Content-Length': String(SIZE), 'X-Image-Meta-Store': stores[i] }
      }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode!)) })
      req.on('error', reject)
      requests.push(req)
      // half now, the rest after the scrape
      for (const c of chunks[i].slice(0, chunks[i].length / 2)) req.write(c)
    }))
    const held = await eventually(async () => {
      const s = await scrape(metricsPort)
      return value(s, 'glint_uploads_in_flight{store="a"}') === 2 && value(s, 'glint_uploads_in_flight{store="b"}') === 2
    }, 300, 100)
    t.ok(held, 'four uploads in flight, two per store')
    const during = await scrape(metricsPort)
    t.ok(value(during, 'glint_store_bytes_total{store="a",direction="in"}') > value(before, 'glint_store_bytes_total{store="a",direction="in"}'), 'bytes into a move mid-upload')
    t.ok(value(during, 'glint_worker_pool_tasks_running{pool="store:a"}') >= 2, 'store a runs the two uploads')
    t.ok(value(during, 'glint_worker_pool_tasks_running{pool="hashers"}') >= 4, 'four sha512 digests are running')
    requests.forEach((req, i) => { for (const c of chunks[i].slice(chunks[i].length / 2)) req.write(c); req.end() })
    t.same(await Promise.all(answers), [204, 204, 204, 204], 'all uploads done')
    const after = await scrape(metricsPort)
    for (const store of ['a', 'b']) {
      t.equal(value(after, `glint_uploads_in_flight{store="${store}"}`), 0, `no upload in flight in ${store} after`)
      t.equal(value(after, `glint_store_bytes_total{store="${store}",direction="in"}`) - value(before, `glint_store_bytes_total{store="${store}",direction="in"}`),
        2 * SIZE, `exactly the uploaded bytes went into ${store}`)
    }
    const put = 'glint_http_requests_total{route="/v2/images/:id/file",method="PUT",status="204"}'
    t.equal(value(after, put) - value(before, put), 4, 'four PUT 204s counted')
    const count = 'glint_http_request_duration_seconds_count{route="/v2/images/:id/file",method="PUT"}'
    t.equal(value(after, count) - value(before, count), 4, 'four PUT latencies observed')
    for (const [i, image] of images.entries()) {
      t.equal((await glint.request('GET', `/v2/images/${image.id}`, { headers: admin })).json.checksum, digests[i].md5, `image ${i} intact`)
    }
  })

  t.test('a download storm held mid-flight, then read to the end', async (t) => {
    const image = await createImage(glint, { name: 'storm' }, admin)
    t.equal((await upload(glint.url, image.id, SIZE, { store: 'b', headers: admin })).status, 204)
    const before = await scrape(metricsPort)
    const N = 6
    const responses: IncomingMessage[] = []
    const got = Array.from({ length: N }, async () => await new Promise<number>((resolve, reject) => {
      const req = httpRequest(`${glint.url}/v2/images/${image.id}/file`, { headers: admin }, (res) => {
        res.pause()
        responses.push(res)
        resolve(res.statusCode!)
      })
      req.on('error', reject)
      req.end()
    }))
    t.same(await Promise.all(got), Array(N).fill(200), 'every download started')
    const held = await eventually(async () => value(await scrape(metricsPort), 'glint_downloads_in_flight{store="b"}') === N, 300, 100)
    t.ok(held, `${N} downloads in flight from b while their clients do not read`)
    const bodies = await Promise.all(responses.map(async (res) => await readAll(res)))
    t.ok(bodies.every((b) => b.length === SIZE), 'every download complete')
    let after = await scrape(metricsPort)
    await eventually(async () => { after = await scrape(metricsPort); return value(after, 'glint_downloads_in_flight{store="b"}') === 0 }, 100, 100)
    t.equal(value(after, 'glint_downloads_in_flight{store="b"}'), 0, 'none in flight after')
    t.equal(value(after, 'glint_download_bytes_sent_total{store="b"}') - value(before, 'glint_download_bytes_sent_total{store="b"}'),
      N * SIZE, 'exactly the bytes of the downloads were sent')
    const read = value(after, 'glint_store_bytes_total{store="b",direction="out"}') - value(before, 'glint_store_bytes_total{store="b",direction="out"}')
    t.ok(read >= SIZE && read <= N * SIZE, `b was read at least once, at most once per download (${read / SIZE} times the image)`)
    const gets = 'glint_http_requests_total{route="/v2/images/:id/file",method="GET",status="200"}'
    t.equal(value(after, gets) - value(before, gets), N, `${N} GET 200s counted`)
  })
})
