// One request and its response. uWS's HttpRequest dies when the handler returns, so
// everything a handler needs is read here, synchronously, up front. Every write goes through
// cork() (writes after an await must be corked) and checks `aborted` (touching a response
// after the client went away throws).

import { randomUUID } from 'node:crypto'
import type { HttpRequest, HttpResponse } from './uws.js'
import { GlintError, Errors, STATUS_TITLES } from '../errors.js'
import type { Identity } from '../identity.js'

export class Exchange {
  readonly method: string
  readonly url: string
  readonly rawQuery: string
  readonly query: URLSearchParams
  readonly headers: Record<string, string> = {}
  readonly requestId: string
  readonly startedAt = process.hrtime.bigint()
  path = ''
  /** the route pattern that served the request (the metrics' label); set once routed */
  route = 'unrouted'
  params: string[] = []
  identity!: Identity
  body: unknown = undefined
  aborted = false
  finished = false
  status = 0
  bytesSent = 0
  error?: unknown
  /** Close the connection after this response (a request body was left unread, or the client asked). */
  closeConnection = false
  /**
   * uWS closes the connection after the response by itself when the request's Connection
   * header is five characters long ("close"), but does not say so in the response; a client
   * that is not told (urllib3, as tempest uses it) pools the socket and reuses it once closed.
   */
  private readonly uwsCloses: boolean
  /** Something reads the request body (a handler called onData). */
  private bodyRead = false
  private abortHandlers: Array<() => void> = []
  onFinished?: (ex: Exchange) => void
  onLinger?: (work: Promise<unknown>) => void

  constructor (readonly res: HttpResponse, req: HttpRequest) {
    this.method = req.getCaseSensitiveMethod().toUpperCase()
    this.url = req.getUrl()
    this.rawQuery = req.getQuery() ?? ''
    this.query = new URLSearchParams(this.rawQuery)
    req.forEach((key, value) => { this.headers[key] = value })
    const connection = this.headers.connection ?? ''
    this.uwsCloses = connection.length === 5
    if (/(?:^|,)\s*close\s*(?:,|$)/i.test(connection)) this.closeConnection = true
    const given = this.headers['x-openstack-request-id']
    this.requestId = given !== undefined && given.length > 0 && given.length <= 64
      ? (given.startsWith('req-') ? given : `req-${given}`)
      : `req-${randomUUID()}`
    // Must be attached before the handler returns or awaits (uWS aborts the process otherwise).
    res.onAborted(() => {
      this.aborted = true
      for (const fn of this.abortHandlers) fn()
      this.complete()
    })
  }

  onAbort (fn: () => void): void { this.abortHandlers.push(fn) }

  private held?: { chunks: ArrayBuffer[], last: boolean, dropped: boolean }

  /**
   * Keeps the request body while the request waits before its handler runs (a token being
   * validated): the socket is paused and what arrived before the pause took effect is copied
   * (uWS drops data nobody listens for). The handler gets it through onData.
   */
  holdBody (): void {
    const held = { chunks: [] as ArrayBuffer[], last: false, dropped: false }
    this.held = held
    this.res.onData((ab, isLast) => {
      if (!held.dropped && ab.byteLength > 0) held.chunks.push(ab.slice(0))
      if (isLast) held.last = true
    })
    this.res.pause()
  }

  /** The request was refused before its handler ran: read and drop the rest of a held body. */
  dropHeldBody (): void {
    const held = this.held
    if (held === undefined) return
    this.held = undefined
    held.dropped = true
    held.chunks.length = 0
    if (!this.aborted) this.res.resume()
  }

  /** res.onData, after replaying what holdBody kept. Call it synchronously from the handler. */
  onData (fn: (chunk: ArrayBuffer, isLast: boolean) => void): void {
    this.bodyRead = true
    const held = this.held
    if (held === undefined) { this.res.onData(fn); return }
    this.held = undefined
    const { chunks, last } = held
    if (!last) this.res.onData(fn)
    // holdBody paused the socket: a connection left paused never reads its next request
    if (!this.aborted) this.res.resume()
    for (let i = 0; i < chunks.length; i++) fn(chunks[i], last && i === chunks.length - 1)
    if (last && chunks.length === 0) fn(new ArrayBuffer(0), true)
  }
  /** Work that may outlive the response (undoing an aborted upload): shutdown waits for it. */
  linger (work: Promise<unknown>): void { this.onLinger?.(work) }

  get hasBody (): boolean {
    const length = this.headers['content-length']
    return (length !== undefined && length !== '0') || this.headers['transfer-encoding'] !== undefined
  }

  get wantsJson (): boolean { return (this.headers.accept ?? '').includes('application/json') }

  /** Sends a whole JSON response. */
  json (status: number, body: unknown, headers?: Record<string, string>): void {
    const text = JSON.stringify(body)
    this.send(status, text, { 'Content-Type': 'application/json', ...headers })
  }

  /** Sends a response without a body (204, 201 without content...). */
  empty (status: number, headers?: Record<string, string>): void {
    this.send(status, '', { 'Content-Type': 'text/html; charset=UTF-8', ...headers })
  }

  send (status: number, body: string | Uint8Array, headers: Record<string, string>): void {
    if (this.aborted || this.finished) return
    this.res.cork(() => {
      this.writeHead(status, headers, true)
      this.res.end(body, this.closeConnection)
    })
    this.bytesSent = typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength
    this.complete()
  }

  /**
   * Status line and headers only; for streamed bodies. Call inside cork(). `endCloses`: the
   * response ends with end(body, closeConnection), which writes `Connection: close` itself
   * unless uWS already closes on its own.
   */
  writeHead (status: number, headers: Record<string, string>, endCloses = false): void {
    this.status = status
    this.res.writeStatus(`${status} ${STATUS_TITLES[status] ?? statusText(status)}`)
    this.res.writeHeader('x-openstack-request-id', this.requestId)
    for (const name in headers) this.res.writeHeader(name, headers[name])
    if (this.uwsCloses || (this.closeConnection && !endCloses)) this.res.writeHeader('Connection', 'close')
  }

  /**
   * fail(), for a request refused before anything read its body. When the connection closes
   * after the answer, the body is read and dropped first: closing a socket with unread input
   * makes the kernel send a reset, and the client loses the answer.
   */
  refuse (err: unknown): void {
    if (!this.closeConnection || this.bodyRead || !this.hasBody || this.aborted) { this.fail(err); return }
    this.onData((_chunk, isLast) => { if (isLast) this.fail(err) })
  }

  /** Renders an error the way Glance (WebOb) does: JSON, HTML or plain text by Accept. */
  fail (err: unknown): void {
    const e = err instanceof GlintError ? err : Errors.internal()
    if (!(err instanceof GlintError)) this.error = err
    if (e.fixedBody !== undefined) {
      this.send(e.status, e.fixedBody.text, { 'Content-Type': e.fixedBody.type, ...e.headers })
      return
    }
    const title = STATUS_TITLES[e.status] ?? statusText(e.status)
    const statusLine = `${e.status} ${title}`
    const accept = this.headers.accept ?? ''
    let body: string
    let type: string
    if (accept.includes('application/json')) {
      body = JSON.stringify({ message: `${e.message}<br /><br />\n\n\n`, code: statusLine, title })
      type = 'application/json'
    } else if (accept.includes('text/html') || accept.includes('*/*')) {
      body = `<html>\n <head>\n  <title>${statusLine}</title>\n </head>\n <body>\n  <h1>${statusLine}</h1>\n  ${escapeHtml(e.message)}<br /><br />\n\n\n\n </body>\n</html>`
      type = 'text/html; charset=UTF-8'
    } else {
      body = `${statusLine}\n\n${e.message}\n\n   `
      type = 'text/plain; charset=UTF-8'
    }
    this.send(e.status, body, { 'Content-Type': type, ...e.headers })
  }

  /** Marks the exchange done (once) and reports it for the request log. */
  complete (): void {
    if (this.finished) return
    this.finished = true
    this.onFinished?.(this)
  }
}

function statusText (status: number): string {
  return ({ 200: 'OK', 201: 'Created', 202: 'Accepted', 204: 'No Content', 206: 'Partial Content' } as Record<number, string>)[status] ?? ''
}

// WebOb's html_escape: Python's html.escape(s, quote=True), then non-ASCII as decimal character references
function escapeHtml (text: string): string {
  return text.replace(/[&<>"']|[^\x00-\x7f]/gu, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#x27;' } as Record<string, string>)[c] ?? `&#${c.codePointAt(0)!};`)
}
