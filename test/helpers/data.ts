// Streams of image data for tests: deterministic pseudo-random bytes generated chunk by
// chunk (so a 1 GiB image never sits in the test's memory) with their md5/sha512.

import { createHash, randomBytes } from 'node:crypto'
import { request as httpRequest, type IncomingMessage } from 'node:http'

export interface Digest { size: number, md5: string, sha512: string }

/** Calls `each` with `size` bytes in chunks of `chunkSize`, and returns their digests. */
export function generate (size: number, chunkSize: number, each: (chunk: Buffer) => void): Digest {
  const md5 = createHash('md5')
  const sha512 = createHash('sha512')
  const block = randomBytes(Math.max(4, Math.min(chunkSize, size)))
  let left = size
  let n = 0
  while (left > 0) {
    const len = Math.min(chunkSize, left)
    // vary every chunk cheaply so that repeated blocks cannot hide an ordering bug
    block.writeUInt32LE(n++, 0)
    const chunk = block.subarray(0, len)
    md5.update(chunk)
    sha512.update(chunk)
    each(chunk)
    left -= len
  }
  return { size, md5: md5.digest('hex'), sha512: sha512.digest('hex') }
}

export interface UploadOptions {
  chunked?: boolean
  chunkSize?: number
  store?: string
  headers?: Record<string, string>
  /** stop sending after this many bytes and destroy the connection */
  abortAfter?: number
  /** Content-Length to declare (defaults to the real size) */
  declaredLength?: number
}

/** PUT /v2/images/{id}/file, streamed with backpressure; resolves the status, body and digests sent. */
export async function upload (base: string, id: string, size: number, opts: UploadOptions = {}): Promise<{ status: number, body: string, sent: Digest }> {
  const url = new URL(`/v2/images/${id}/file`, base)
  const headers: Record<string, string> = { 'Content-Type': 'application/octet-stream', Accept: 'application/json', ...opts.headers }
  if (opts.store !== undefined) headers['X-Image-Meta-Store'] = opts.store
  if (opts.chunked === true) headers['Transfer-Encoding'] = 'chunked'
  else headers['Content-Length'] = String(opts.declaredLength ?? size)
  const chunks: Buffer[] = []
  const sent = generate(size, opts.chunkSize ?? 1024 * 1024, (c) => chunks.push(Buffer.from(c)))
  return await new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'PUT', headers }, (res) => {
      readAll(res).then((body) => resolve({ status: res.statusCode!, body: body.toString(), sent }), reject)
    })
    req.on('error', (err) => { if (opts.abortAfter !== undefined) resolve({ status: 0, body: String(err), sent }); else reject(err) })
    let written = 0
    let i = 0
    const pump = (): void => {
      while (i < chunks.length) {
        if (opts.abortAfter !== undefined && written >= opts.abortAfter) { req.destroy(); resolve({ status: 0, body: 'aborted', sent }); return }
        const chunk = chunks[i++]
        written += chunk.length
        if (!req.write(chunk)) { req.once('drain', pump); return }
      }
      if (opts.abortAfter !== undefined) { req.destroy(); resolve({ status: 0, body: 'aborted', sent }); return }
      req.end()
    }
    pump()
  })
}

/** Generated lazily, for sizes too big to hold (uploads of 1 GiB). */
export async function uploadLarge (base: string, id: string, size: number, opts: { chunked?: boolean, store?: string } = {}): Promise<{ status: number, body: string, sent: Digest }> {
  const url = new URL(`/v2/images/${id}/file`, base)
  const headers: Record<string, string> = { 'Content-Type': 'application/octet-stream', Accept: 'application/json' }
  if (opts.store !== undefined) headers['X-Image-Meta-Store'] = opts.store
  if (opts.chunked === true) headers['Transfer-Encoding'] = 'chunked'
  else headers['Content-Length'] = String(size)
  const md5 = createHash('md5')
  const sha512 = createHash('sha512')
  const chunkSize = 4 * 1024 * 1024
  const block = randomBytes(chunkSize)
  return await new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'PUT', headers }, (res) => {
      readAll(res).then((body) => resolve({ status: res.statusCode!, body: body.toString(), sent: { size, md5: md5.digest('hex'), sha512: sha512.digest('hex') } }), reject)
    })
    req.on('error', reject)
    let left = size
    let n = 0
    const pump = (): void => {
      while (left > 0) {
        const len = Math.min(chunkSize, left)
        const chunk = Buffer.from(block.subarray(0, len))
        chunk.writeUInt32LE(n++, 0)
        md5.update(chunk)
        sha512.update(chunk)
        left -= len
        if (!req.write(chunk)) { req.once('drain', pump); return }
      }
      req.end()
    }
    pump()
  })
}

/** GET a URL, hashing the body as it streams; never holds it whole. */
export async function download (base: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number, headers: IncomingMessage['headers'], digest: Digest, body?: Buffer }> {
  return await new Promise((resolve, reject) => {
    httpRequest(new URL(path, base), { headers }, (res) => {
      const md5 = createHash('md5')
      const sha512 = createHash('sha512')
      let size = 0
      const keep: Buffer[] = []
      res.on('data', (chunk: Buffer) => {
        md5.update(chunk); sha512.update(chunk); size += chunk.length
        if (size <= 16 * 1024 * 1024) keep.push(chunk)
      })
      res.on('end', () => resolve({
        status: res.statusCode!, headers: res.headers,
        digest: { size, md5: md5.digest('hex'), sha512: sha512.digest('hex') },
        body: size <= 16 * 1024 * 1024 ? Buffer.concat(keep) : undefined
      }))
      res.on('error', reject)
    }).on('error', reject).end()
  })
}

export async function readAll (res: IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = []
  for await (const chunk of res) parts.push(chunk as Buffer)
  return Buffer.concat(parts)
}

/** Peak and current resident memory of a process, in bytes (Linux /proc). */
export async function memoryOf (pid: number): Promise<{ rss: number, hwm: number }> {
  const { readFile } = await import('node:fs/promises')
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const kb = (key: string): number => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') }
}

/** Polls `check` until it returns true (bounded by `attempts`); for state that settles asynchronously. */
export async function eventually (check: () => Promise<boolean>, attempts = 100, everyMs = 100): Promise<boolean> {
  for (let i = 0; i < attempts; i++) {
    if (await check()) return true
    await new Promise((r) => setTimeout(r, everyMs))
  }
  return false
}
