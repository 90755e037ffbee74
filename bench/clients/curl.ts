// Single-stream transfers the way an operator checks them: curl -T for uploads (with the
// store header glanceclient sends), curl -o /dev/null for downloads. The rate is curl's own
// %{speed_upload} / %{speed_download} (bytes over the whole request).
//
// Uploads come in the two encodings clients use: Content-Length (curl -T, openstacksdk/OSC)
// and chunked (python-glanceclient always streams chunked).

import { IDENTITY_HEADERS } from './api.js'
import { describeFailure, runCommand } from '../util/process.js'
import type { RunOutcome } from '../measure.js'

export type UploadEncoding = 'length' | 'chunked'

const WRITE_OUT = '\\n@@ %{http_code} %{speed_upload} %{speed_download} %{size_upload} %{size_download}'
// No store is slower than this on any machine we would benchmark; the bound only stops a hang.
const SLOWEST_BYTES_PER_SECOND = 5e6

function identityArgs (): string[] {
  return Object.entries(IDENTITY_HEADERS).flatMap(([k, v]) => ['-H', `${k}: ${v}`])
}

function encodingArgs (encoding: UploadEncoding): string[] {
  return encoding === 'chunked' ? ['-H', 'Transfer-Encoding: chunked'] : []
}

function boundSeconds (bytes: number): number {
  return Math.ceil(60 + bytes / SLOWEST_BYTES_PER_SECOND)
}

interface CurlFigures { status: number, speedUpload: number, speedDownload: number, sizeUpload: number, sizeDownload: number, body: string, error: string }

async function curl (args: string[], bytes: number): Promise<CurlFigures> {
  const seconds = boundSeconds(bytes)
  const r = await runCommand('curl', ['-sS', '--max-time', String(seconds), '-w', WRITE_OUT, ...args],
    { timeoutMs: (seconds + 15) * 1000 })
  const at = r.stdout.lastIndexOf('\n@@ ')
  if (at < 0) throw new Error(describeFailure('curl', r))
  const [status, up, down, sizeUp, sizeDown] = r.stdout.slice(at + 4).trim().split(' ').map(Number)
  return { status, speedUpload: up, speedDownload: down, sizeUpload: sizeUp, sizeDownload: sizeDown, body: r.stdout.slice(0, at), error: r.stderr.trim() }
}

/** "HTTP 500: <body>", or curl's own complaint when no answer came (status 0). */
function whatHappened (r: CurlFigures): string {
  if (r.status === 0) return `no HTTP answer after ${r.sizeUpload} bytes sent (${r.error.replace(/\s+/g, ' ').slice(0, 160) || 'connection closed'})`
  return `HTTP ${r.status}: ${r.body.trim().replace(/\s+/g, ' ').slice(0, 200)}`
}

function mbps (bytesPerSecond: number): number { return bytesPerSecond / 1e6 }

/** PUT /v2/images/{id}/file into `store`; throws with the server's answer unless 204. */
export async function uploadImage (base: string, imageId: string, store: string, file: string, bytes: number,
  encoding: UploadEncoding = 'length'): Promise<RunOutcome> {
  const r = await curl([...identityArgs(), ...encodingArgs(encoding), '-H', 'Content-Type: application/octet-stream',
    '-H', `X-Image-Meta-Store: ${store}`, '-T', file, `${base}/v2/images/${imageId}/file`], bytes)
  if (r.status !== 204) throw new Error(`upload: ${whatHappened(r)}`)
  if (r.sizeUpload < bytes) throw new Error(`curl sent ${r.sizeUpload} of ${bytes} bytes`)
  return { value: mbps(r.speedUpload) }
}

/** PUT /v2/images/{id}/stage (glance-direct's first step), with Content-Length; throws unless 204. */
export async function stageImage (base: string, imageId: string, file: string, bytes: number): Promise<RunOutcome> {
  const r = await curl([...identityArgs(), '-H', 'Content-Type: application/octet-stream', '-T', file, `${base}/v2/images/${imageId}/stage`], bytes)
  if (r.status !== 204) throw new Error(`stage: ${whatHappened(r)}`)
  if (r.sizeUpload < bytes) throw new Error(`curl sent ${r.sizeUpload} of ${bytes} bytes`)
  return { value: mbps(r.speedUpload) }
}

export async function downloadImage (base: string, imageId: string, bytes: number): Promise<RunOutcome> {
  return await download([...identityArgs(), `${base}/v2/images/${imageId}/file`], bytes)
}

/** The loopback limit: the same curl upload into a server that only discards. */
export async function uploadToSink (trivialUrl: string, file: string, bytes: number, encoding: UploadEncoding = 'length'): Promise<RunOutcome> {
  const r = await curl([...encodingArgs(encoding), '-H', 'Content-Type: application/octet-stream', '-T', file, `${trivialUrl}/sink`], bytes)
  if (r.status !== 204 || r.sizeUpload < bytes) throw new Error(`sink upload: ${whatHappened(r)}`)
  return { value: mbps(r.speedUpload) }
}

/** The loopback limit for downloads: the same file streamed by the trivial server. */
export async function downloadFromSource (trivialUrl: string, file: string, bytes: number): Promise<RunOutcome> {
  return await download([`${trivialUrl}/file?path=${encodeURIComponent(file)}`], bytes)
}

async function download (args: string[], bytes: number): Promise<RunOutcome> {
  const r = await curl(['-o', '/dev/null', ...args], bytes)
  if (r.status !== 200) throw new Error(`download: ${whatHappened(r)}`)
  if (r.sizeDownload !== bytes) throw new Error(`download ended after ${r.sizeDownload} of ${bytes} bytes`)
  return { value: mbps(r.speedDownload) }
}
