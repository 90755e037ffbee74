// Fetching image data over http(s), safely: the one place Glint opens a connection to a URL a
// client gave (http locations, web-download). Every URL, and every redirect, is
// checked against [import_filtering_opts] as Glance 25.1 does (glance/common/utils.py
// get_validated_address, LP #2161330): scheme, host and explicit port lists, then the host is
// resolved and loopback, link-local (169.254.169.254 included) and, beyond Glance, private
// addresses are refused unless the host is in allowed_hosts. Glint also refuses the unspecified address (0.0.0.0, ::), which
// reaches the local host on Linux. The connection is made to the address that was checked (the
// request's DNS lookup is pinned to it), so a name that resolves differently a moment later
// (DNS rebinding) cannot redirect it. glance_store's http store: HEAD for the size
// (Content-Length), at most 5 redirects and only 301/302, 404 is "not found".

import http from 'node:http'
import https from 'node:https'
import { lookup } from 'node:dns/promises'
import { BlockList, isIP } from 'node:net'
import type { LookupFunction } from 'node:net'
import type { ImportFiltering } from '../config/load.js'

const MAX_REDIRECTS = 5
const TIMEOUT_MS = 60_000

/** Why a URL is not fetched; `code` says how the caller answers (all are "Invalid location" to a client). */
export class FetchRefused extends Error {
  /** the host did not resolve (web-download accepts such a URL and fails in the task, as tempest expects) */
  unresolved = false
  constructor (readonly code: 'GLINT_URL_REFUSED' | 'ENOENT' | 'GLINT_HTTP_ERROR', message: string) { super(message) }
}

const LOCAL = new BlockList()
LOCAL.addSubnet('127.0.0.0', 8, 'ipv4')
LOCAL.addSubnet('169.254.0.0', 16, 'ipv4')
LOCAL.addSubnet('0.0.0.0', 8, 'ipv4')
// private networks (RFC 1918, shared address space RFC 6598, IPv6 unique local): the cloud's
// own, which a client-given URL must not reach either (issue 12)
LOCAL.addSubnet('10.0.0.0', 8, 'ipv4')
LOCAL.addSubnet('172.16.0.0', 12, 'ipv4')
LOCAL.addSubnet('192.168.0.0', 16, 'ipv4')
LOCAL.addSubnet('100.64.0.0', 10, 'ipv4')
LOCAL.addAddress('::1', 'ipv6')
LOCAL.addAddress('::', 'ipv6')
LOCAL.addSubnet('fe80::', 10, 'ipv6')
LOCAL.addSubnet('fc00::', 7, 'ipv6')

/** Loopback, link-local, private or unspecified; an IPv4-mapped IPv6 address is judged by its IPv4 address. */
function isLocal (address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  if (mapped !== null) return LOCAL.check(mapped[1], 'ipv4')
  return LOCAL.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4')
}

export interface CheckedUrl { url: URL, address: string, family: 4 | 6 }

/** The address `url` may be fetched from; throws FetchRefused when the filter refuses it. */
export async function checkUrl (raw: string | URL, f: ImportFiltering): Promise<CheckedUrl> {
  let url: URL
  try {
    url = typeof raw === 'string' ? new URL(raw) : raw
  } catch {
    throw new FetchRefused('GLINT_URL_REFUSED', `not a URL: ${String(raw)}`)
  }
  const scheme = url.protocol.replace(/:$/, '')
  const refuse = (why: string): never => { throw new FetchRefused('GLINT_URL_REFUSED', `${why}: ${url.href}`) }
  if (scheme !== 'http' && scheme !== 'https') refuse('scheme not fetched')
  // as Glance: when both lists are set, only the allowed list counts
  if (f.allowedSchemes.length > 0 ? !f.allowedSchemes.includes(scheme) : f.disallowedSchemes.includes(scheme)) refuse('scheme not allowed')
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase().replace(/\.$/, '')
  if (host === '') refuse('no host')
  const listed = f.allowedHosts.includes(host)
  if (f.allowedHosts.length > 0 ? !listed : f.disallowedHosts.includes(host)) refuse('host not allowed')
  const port = url.port === '' ? undefined : Number(url.port)
  if (port !== undefined && (f.allowedPorts.length > 0 ? !f.allowedPorts.includes(port) : f.disallowedPorts.includes(port))) refuse('port not allowed')

  let addresses: Array<{ address: string, family: number }>
  if (isIP(host) !== 0) {
    addresses = [{ address: host, family: isIP(host) }]
  } else {
    try {
      addresses = await lookup(host, { all: true, verbatim: true })
    } catch (err) {
      throw Object.assign(new FetchRefused('GLINT_URL_REFUSED', `cannot resolve ${host}: ${(err as Error).message}`), { unresolved: true })
    }
  }
  const blocked = f.allowedHosts.length > 0 ? [] : f.disallowedHosts
  for (const { address, family } of addresses) {
    if (!listed && (isLocal(address) || blocked.includes(address))) continue
    return { url, address, family: family === 6 ? 6 : 4 }
  }
  return refuse('no allowed address')
}

/** Whether the URL's host resolves now (an IP literal does); for web-download's "accepted, fails in the task". */
export async function hostResolves (raw: string): Promise<boolean> {
  let host: string
  try { host = new URL(raw).hostname.replace(/^\[(.*)\]$/, '$1') } catch { return true }
  if (host === '' || isIP(host) !== 0) return true
  try {
    await lookup(host)
    return true
  } catch (err) {
    return !['ENOTFOUND', 'EAI_AGAIN', 'ENODATA'].includes((err as { code?: string }).code ?? '')
  }
}

export interface HttpResponse { status: number, headers: http.IncomingHttpHeaders, body: http.IncomingMessage, url: URL }

function requestOnce (target: CheckedUrl, method: 'GET' | 'HEAD', headers: Record<string, string>): Promise<http.IncomingMessage> {
  const { url, address, family } = target
  // the socket goes to the checked address whatever the name resolves to now
  const pinned: LookupFunction = (_host, options, callback) => {
    if ((options as { all?: boolean }).all === true) (callback as any)(null, [{ address, family }])
    else callback(null, address, family)
  }
  const client = url.protocol === 'https:' ? https : http
  return new Promise((resolve, reject) => {
    const req = client.request(url, { method, headers: { ...headers, 'User-Agent': 'glint' }, lookup: pinned, timeout: TIMEOUT_MS })
    req.on('response', resolve)
    req.on('timeout', () => { req.destroy(new FetchRefused('GLINT_HTTP_ERROR', `no answer from ${url.host} within ${TIMEOUT_MS / 1000} s`)) })
    req.on('error', reject)
    req.end()
  })
}

/** Headers that carry a caller's credentials (glance-download sends the caller's token). */
const CREDENTIALS = new Set(['x-auth-token', 'authorization'])

/**
 * One request, following at most 5 redirects (301/302, each checked again); 2xx only. A
 * redirect to another origin is not sent the credentials headers (as curl does): the token
 * is for the service that was asked.
 */
export async function fetchUrl (raw: string, f: ImportFiltering, method: 'GET' | 'HEAD', headers: Record<string, string> = {}): Promise<HttpResponse> {
  let target = await checkUrl(raw, f)
  const origin = target.url.origin
  for (let hops = 0; ; hops++) {
    let res: http.IncomingMessage
    try {
      res = await requestOnce(target, method, headers)
    } catch (err) {
      if (err instanceof FetchRefused) throw err
      throw new FetchRefused('GLINT_HTTP_ERROR', `${target.url.host}: ${(err as Error).message}`)
    }
    const status = res.statusCode ?? 0
    if (status >= 200 && status < 300) return { status, headers: res.headers, body: res, url: target.url }
    res.resume()
    if (status === 404) throw new FetchRefused('ENOENT', `HTTP datastore could not find image at URI: ${target.url.href}`)
    if ((status === 301 || status === 302) && res.headers.location !== undefined) {
      if (hops + 1 >= MAX_REDIRECTS) throw new FetchRefused('GLINT_HTTP_ERROR', `The HTTP URL exceeded ${MAX_REDIRECTS} maximum redirects.`)
      target = await checkUrl(new URL(res.headers.location, target.url), f)
      if (target.url.origin !== origin) headers = Object.fromEntries(Object.entries(headers).filter(([name]) => !CREDENTIALS.has(name.toLowerCase())))
      continue
    }
    throw new FetchRefused('GLINT_HTTP_ERROR', `HTTP URL ${target.url.href} returned a ${status} status code.`)
  }
}

/** The size of the data at `url`: HEAD's Content-Length (0 when it gives none, as glance_store). */
export async function httpSize (url: string, f: ImportFiltering): Promise<number> {
  const res = await fetchUrl(url, f, 'HEAD')
  res.body.resume()
  const length = Number(res.headers['content-length'] ?? 0)
  return Number.isSafeInteger(length) && length > 0 ? length : 0
}

/**
 * Sequential reads of the data at `url` from `offset` on, over one GET (with a Range when
 * offset > 0; a server that ignores it has its first bytes skipped). `read` fills the
 * caller's buffer; it resolves fewer bytes only at the end of the body.
 */
export async function openHttpStream (url: string, f: ImportFiltering, offset: number): Promise<{ read: (into: Uint8Array) => Promise<number>, close: () => void }> {
  const res = await fetchUrl(url, f, 'GET', offset > 0 ? { Range: `bytes=${offset}-` } : {})
  const body = res.body
  let skip = offset > 0 && res.status !== 206 ? offset : 0
  let ended = false
  let failure: Error | undefined
  body.on('end', () => { ended = true })
  body.on('error', (err) => { failure = err })
  body.on('close', () => { ended = true })

  async function readable (): Promise<void> {
    await new Promise<void>((resolve) => {
      const done = (): void => { body.off('readable', done); body.off('end', done); body.off('close', done); body.off('error', done); resolve() }
      body.on('readable', done); body.on('end', done); body.on('close', done); body.on('error', done)
    })
  }
  async function read (into: Uint8Array): Promise<number> {
    let filled = 0
    while (filled < into.byteLength) {
      if (failure !== undefined) throw failure
      const chunk = body.read() as Buffer | null
      if (chunk === null) {
        if (ended || body.readableEnded) break
        await readable()
        continue
      }
      let from = 0
      if (skip > 0) { from = Math.min(skip, chunk.length); skip -= from }
      const n = Math.min(chunk.length - from, into.byteLength - filled)
      into.set(chunk.subarray(from, from + n), filled)
      filled += n
      // what does not fit waits for the next read
      if (from + n < chunk.length) body.unshift(chunk.subarray(from + n))
    }
    return filled
  }
  return { read, close: () => { body.destroy() } }
}
