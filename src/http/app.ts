// The uWS application: one catch-all route that normalizes the version prefix, finds the
// handler, runs the auth layer, reads a JSON body when the route takes one, and renders any
// error in Glance's format. Also owns listening and draining on shutdown.

import uWS, { type us_listen_socket } from './uws.js'
import { Errors, GlintError } from '../errors.js'
import { Exchange } from './exchange.js'
import { createRouter, normalizeVersion, type Handler, type Routes } from './router.js'
import { parseJson, readSmallBody } from './body.js'
import { versionsDocument } from './routes/versions.js'
import type { AppContext } from '../context.js'
import { registryFailure } from '../registry/connect.js'
import { countRequest } from '../metrics/registry.js'

const BODYLESS = new Set(['GET', 'HEAD', 'DELETE'])

export interface Server {
  port: number
  /** Stops accepting, waits (bounded) for requests in flight, then closes connections. */
  drain (timeoutMs: number): Promise<void>
}

export function startServer (ctx: AppContext, routes: Routes<AppContext>): Promise<Server> {
  const match = createRouter(routes)
  const inFlight = new Set<Exchange>()
  /** Work that outlives its response and must end before the process does (see Exchange.linger). */
  const lingering = new Set<Promise<void>>()
  let idle: (() => void) | undefined

  const logRequest = (ex: Exchange): void => {
    inFlight.delete(ex)
    if (inFlight.size === 0) idle?.()
    const ms = Number(process.hrtime.bigint() - ex.startedAt) / 1e6
    const status = ex.aborted && ex.status === 0 ? 499 : ex.status
    countRequest(ex.route, ex.method, status, ms / 1000)
    const entry = {
      reqId: ex.requestId, method: ex.method, path: ex.url, status,
      bytes: ex.bytesSent, ms: Math.round(ms * 100) / 100, aborted: ex.aborted || undefined
    }
    if (ex.error !== undefined) ctx.log.error({ ...entry, err: ex.error }, 'request failed')
    else ctx.log.info(entry, 'request')
  }

  const app = uWS.App()
  app.any('/*', (res, req) => {
    const ex = new Exchange(res, req)
    ex.onFinished = logRequest
    ex.onLinger = (work) => {
      const tracked: Promise<void> = work.then(() => {}, () => {}).finally(() => lingering.delete(tracked))
      lingering.add(tracked)
    }
    inFlight.add(ex)
    try {
      dispatch(ex)
    } catch (err) {
      ex.refuse(err)
    }
  })

  function dispatch (ex: Exchange): void {
    const path = normalizeVersion(ex.url)
    if (path === undefined || ex.url === '/') {
      ex.route = '/'
      ex.json(300, versionsDocument(ctx, ex))
      return
    }
    const found = match(path)
    if (found === undefined) throw Errors.routeNotFound()
    const handler = found.methods[ex.method]
    if (handler === undefined) throw Errors.methodNotAllowed(Object.keys(found.methods))
    ex.path = path
    ex.route = found.pattern
    ex.params = found.params
    if (handler.anonymous === true) { run(ex, handler); return }
    const identity = ctx.authenticate(ex.headers)
    if (!(identity instanceof Promise)) {
      ex.identity = identity
      run(ex, handler)
      return
    }
    // A token Keystone has to validate first: keep the body until the handler can take it.
    if ((handler.body ?? 'none') !== 'none') ex.holdBody()
    identity.then((id) => {
      if (ex.aborted) return
      ex.identity = id
      try {
        run(ex, handler)
      } catch (err) {
        settle(ex, err)
      }
    }, (err) => {
      ex.dropHeldBody()
      settle(ex, err)
    })
  }

  function run (ex: Exchange, handler: Handler<AppContext>): void {
    const mode = handler.body ?? 'none'
    if (mode === 'none' && BODYLESS.has(ex.method) && ex.hasBody) throw Errors.bodyNotExpected()
    if (mode === 'json') {
      readSmallBody(ex, ctx.config.maxBodySize)
        .then((raw) => { ex.body = parseJson(raw); return handler.handle(ex, ctx) })
        .catch((err) => settle(ex, err))
      return
    }
    const result = handler.handle(ex, ctx)
    if (result instanceof Promise) result.catch((err) => settle(ex, err))
  }

  function settle (ex: Exchange, err: unknown): void {
    if (ex.aborted || ex.finished) return
    const known = registryFailure(err)
    if (known !== undefined) { ctx.log.warn({ reqId: ex.requestId, err }, 'registry query failed'); ex.fail(known); return }
    if (!(err instanceof GlintError)) ctx.log.error({ reqId: ex.requestId, err }, 'unexpected error')
    ex.fail(err)
  }

  return new Promise((resolve, reject) => {
    // LIBUS_LISTEN_EXCLUSIVE_PORT (1): by default uSockets sets SO_REUSEPORT, so a second Glint
    // on a port already served starts anyway and the kernel splits the connections between them
    // (Glance fails with EADDRINUSE). The typings lack the (host, port, options, cb) overload.
    ;(app as unknown as { listen: (host: string, port: number, options: number, cb: (socket: us_listen_socket | false) => void) => unknown })
      .listen(ctx.config.bindHost, ctx.config.bindPort, 1, (socket: us_listen_socket | false) => {
      if (socket === false) {
        reject(Object.assign(new Error(`cannot listen on ${ctx.config.bindHost}:${ctx.config.bindPort}`), { code: 'GLINT_LISTEN_FAILED' }))
        return
      }
      resolve({
        port: uWS.us_socket_local_port(socket as any),
        async drain (timeoutMs) {
          uWS.us_listen_socket_close(socket)
          if (inFlight.size > 0) {
            await new Promise<void>((done) => {
              const timer = setTimeout(done, timeoutMs)
              idle = () => { clearTimeout(timer); done() }
            })
          }
          // Closing runs each exchange's abort handlers, which start their cleanup (an upload
          // removes its partial data); the stores must still be open while it runs.
          for (const ex of inFlight) if (!ex.aborted) ex.res.close()
          app.close()
          if (lingering.size > 0) {
            await Promise.race([Promise.all(lingering), new Promise((done) => setTimeout(done, timeoutMs).unref())])
          }
        }
      })
    })
  })
}
