// The physical baseline's server: the least an HTTP server can do on this machine, with
// node:http. It discards uploads, streams files from disk and serves canned bodies, so the
// same clients that drive Glint and Glance show the limit of loopback HTTP here.
//
//   node dist/bench/servers/trivial-server.js PORT
//
//   PUT|POST /sink          read and discard the body -> 204
//   POST /create            read the body -> 201 with a small image-like JSON document
//   GET  /file?path=ABS     the file, streamed with Content-Length
//   PUT  /static/NAME       remember the body; GET /static/NAME serves it (application/json)

import { createServer, type IncomingMessage } from 'node:http'
import { createReadStream, statSync } from 'node:fs'
import { randomUUID } from 'node:crypto'

const port = Number(process.argv[2])
const statics = new Map<string, Buffer>()

async function readBody (req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

async function drain (req: IncomingMessage): Promise<void> {
  for await (const _ of req) { /* discard */ }
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost')
  const fail = (status: number, message: string): void => { res.writeHead(status).end(message) }
  const handle = async (): Promise<void> => {
    if (url.pathname === '/sink' && (req.method === 'PUT' || req.method === 'POST')) {
      await drain(req)
      res.writeHead(204).end()
    } else if (url.pathname === '/create' && req.method === 'POST') {
      await drain(req)
      const body = JSON.stringify({ id: randomUUID(), status: 'queued', name: 'bench', disk_format: 'raw', container_format: 'bare' })
      res.writeHead(201, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) }).end(body)
    } else if (url.pathname === '/file' && req.method === 'GET') {
      const path = url.searchParams.get('path') ?? ''
      const size = statSync(path).size
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': size })
      createReadStream(path, { highWaterMark: 1024 * 1024 }).pipe(res)
    } else if (url.pathname.startsWith('/static/')) {
      const name = url.pathname.slice('/static/'.length)
      if (req.method === 'PUT') {
        statics.set(name, await readBody(req))
        res.writeHead(204).end()
        return
      }
      const body = statics.get(name)
      if (body === undefined) return fail(404, 'no such static body')
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': body.byteLength }).end(body)
    } else if (url.pathname === '/healthcheck') {
      res.writeHead(200).end('OK')
    } else {
      fail(404, 'not found')
    }
  }
  handle().catch((err) => { if (!res.headersSent) fail(500, String(err)); else res.destroy() })
})
// Clients keep connections open between wrk runs; keep them as long as the other servers do.
server.keepAliveTimeout = 120_000
server.headersTimeout = 130_000
server.requestTimeout = 0
server.listen(port, '127.0.0.1', () => { process.stdout.write(`listening on ${port}\n`) })
process.on('SIGTERM', () => { server.close(); server.closeAllConnections(); process.exit(0) })
