// The Images API v2 as the glint command uses it: JSON calls, a file streamed up (hashed on the
// way, md5 and sha512, with progress), the image data streamed down. Retries a call once with a
// renewed token after a 401.

import { createHash } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { Transform, type Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { Auth } from './credentials.js'

export interface Image {
  id: string
  name: string | null
  status: string
  size: number | null
  checksum: string | null
  os_hash_algo: string | null
  os_hash_value: string | null
  disk_format: string | null
  container_format: string | null
  stores?: string
  direct_url?: string
  updated_at: string
  [key: string]: unknown
}

export interface LocalDigest { size: number, md5: string, sha512: string }

export class ApiError extends Error {
  constructor (readonly status: number, message: string) { super(message) }
}

/** Requests with Content-Length of 10^9 bytes or more are refused by Glint's HTTP parser (README, Known limits). */
const CONTENT_LENGTH_LIMIT = 1_000_000_000

export class ImageApi {
  constructor (readonly auth: Auth) {}

  async call<T = any> (method: string, path: string, body?: unknown, headers: Record<string, string> = {}, renewed = false): Promise<T> {
    const res = await reach(`${method} ${this.auth.endpoint}${path}`, this.auth.endpoint + path, {
      method,
      headers: {
        Accept: 'application/json',
        ...(body === undefined ? {} : { 'Content-Type': headers['Content-Type'] ?? 'application/json' }),
        ...this.auth.headers(),
        ...headers
      },
      body: body === undefined ? undefined : JSON.stringify(body)
    })
    const text = await res.text()
    if (res.status === 401 && !renewed && await this.auth.renew()) return await this.call(method, path, body, headers, true)
    if (res.status >= 400) throw new ApiError(res.status, `${method} ${path}: ${res.status} ${errorText(text)}`)
    return (text === '' ? undefined : JSON.parse(text)) as T
  }

  async image (id: string): Promise<Image> { return await this.call<Image>('GET', `/v2/images/${id}`) }

  /** Every live image with this exact name (visible to the caller), following `next`. */
  async imagesNamed (name: string): Promise<Image[]> {
    const out: Image[] = []
    let path: string | undefined = `/v2/images?name=${encodeURIComponent(name)}&limit=200`
    for (let pages = 0; path !== undefined && pages < 100; pages++) {
      const page: { images: Image[], next?: string } = await this.call('GET', path)
      out.push(...page.images)
      path = page.next
    }
    return out
  }

  /** An image by id, or by name when exactly one has it. */
  async resolve (idOrName: string): Promise<Image> {
    if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(idOrName)) {
      try { return await this.image(idOrName) } catch (err) { if (!(err instanceof ApiError) || err.status !== 404) throw err }
    }
    const named = await this.imagesNamed(idOrName)
    if (named.length === 1) return named[0]
    throw new Error(named.length === 0 ? `no image ${idOrName}` : `${named.length} images are named ${idOrName}: use the id`)
  }

  async create (fields: Record<string, unknown>): Promise<Image> { return await this.call<Image>('POST', '/v2/images', fields) }

  async remove (id: string): Promise<void> { await this.call('DELETE', `/v2/images/${id}`) }

  async copyToStores (id: string, stores: string[]): Promise<void> {
    await this.call('POST', `/v2/images/${id}/import`, { method: { name: 'copy-image' }, stores, all_stores_must_succeed: false })
  }

  /** PUT the file as the image's data into `store`; resolves the local digests of what was sent. */
  async upload (id: string, file: string, size: number, store: string | undefined, onBytes: (n: number) => void): Promise<LocalDigest> {
    const md5 = createHash('md5')
    const sha512 = createHash('sha512')
    const headers: Record<string, string> = { 'Content-Type': 'application/octet-stream', Accept: 'application/json', ...this.auth.headers() }
    if (store !== undefined) headers['X-Image-Meta-Store'] = store
    if (size < CONTENT_LENGTH_LIMIT) headers['Content-Length'] = String(size)
    else headers['Transfer-Encoding'] = 'chunked'
    const tap = new Transform({
      transform (chunk: Buffer, _enc, done) {
        md5.update(chunk)
        sha512.update(chunk)
        onBytes(chunk.length)
        done(null, chunk)
      }
    })
    const url = new URL(`/v2/images/${id}/file`, this.auth.endpoint)
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, { method: 'PUT', headers })
    const answered = new Promise<IncomingMessage>((resolve, reject) => { req.on('response', resolve); req.on('error', reject) })
    // The server may answer (and close) before taking the whole body: its answer is the error.
    const sent = pipeline(createReadStream(file, { highWaterMark: 4 * 1024 * 1024 }), tap, req).catch((err: Error) => err)
    const res = await answered
    const body = await readText(res)
    if (res.statusCode !== 204 && res.statusCode !== 200) throw new ApiError(res.statusCode ?? 0, `upload: ${res.statusCode} ${errorText(body)}`)
    const failure = await sent
    if (failure !== undefined) throw failure
    return { size, md5: md5.digest('hex'), sha512: sha512.digest('hex') }
  }

  /** GET the image's data into `out`; resolves the digests of what arrived and Content-MD5. */
  async download (id: string, out: Writable, onBytes: (n: number) => void): Promise<LocalDigest & { contentMd5?: string }> {
    const url = `${this.auth.endpoint}/v2/images/${id}/file`
    const res = await reach(`GET ${url}`, url, { headers: this.auth.headers() })
    if (res.status !== 200) throw new ApiError(res.status, `download: ${res.status} ${errorText(await res.text())}`)
    if (res.body === null) throw new Error('download: no body')
    const md5 = createHash('md5')
    const sha512 = createHash('sha512')
    let size = 0
    const tap = new Transform({
      transform (chunk: Buffer, _enc, done) {
        md5.update(chunk)
        sha512.update(chunk)
        size += chunk.length
        onBytes(chunk.length)
        done(null, chunk)
      }
    })
    await pipeline(res.body as unknown as NodeJS.ReadableStream, tap, out)
    return { size, md5: md5.digest('hex'), sha512: sha512.digest('hex'), contentMd5: res.headers.get('content-md5') ?? undefined }
  }
}

/** md5 and sha512 of a local file, read once. */
export async function digestFile (file: string, onBytes: (n: number) => void = () => {}): Promise<LocalDigest> {
  const md5 = createHash('md5')
  const sha512 = createHash('sha512')
  let size = 0
  for await (const chunk of createReadStream(file, { highWaterMark: 4 * 1024 * 1024 }) as AsyncIterable<Buffer>) {
    md5.update(chunk)
    sha512.update(chunk)
    size += chunk.length
    onBytes(chunk.length)
  }
  return { size, md5: md5.digest('hex'), sha512: sha512.digest('hex') }
}

export function fileSink (path: string): Writable { return createWriteStream(path) }

/** fetch, with the reason a connection failed in the message (fetch itself only says 'fetch failed') */
async function reach (what: string, url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init)
  } catch (err) {
    const cause = (err as { cause?: { message?: string } }).cause?.message
    throw new Error(`${what}: ${cause ?? (err as Error).message}`)
  }
}

async function readText (res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const c of res as AsyncIterable<Buffer>) chunks.push(c)
  return Buffer.concat(chunks).toString()
}

/** The message of a Glance error body (JSON, HTML or text), on one line. */
function errorText (text: string): string {
  try {
    const json = JSON.parse(text)
    if (typeof json?.message === 'string') return json.message.replace(/<br \/>/g, ' ').replace(/\s+/g, ' ').trim()
  } catch {}
  return text.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 300)
}
