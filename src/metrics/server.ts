// The /metrics listener: its own port, apart from the API's, so a scrape never passes the
// API's authentication and a busy API never delays a scrape's accept. Off unless
// `metrics_port` is set.

import { createServer, type Server } from 'node:http'
import { metricsRegistry } from './registry.js'

export interface MetricsServer { port: number, close: () => Promise<void> }

export async function startMetricsServer (host: string, port: number): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0]
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(path === '/metrics' ? 405 : 404, { 'Content-Type': 'text/plain' }).end('scrape GET /metrics\n')
      return
    }
    metricsRegistry.metrics().then((text) => {
      res.writeHead(200, { 'Content-Type': metricsRegistry.contentType }).end(req.method === 'HEAD' ? undefined : text)
    }, (err: Error) => {
      res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`metrics failed: ${err.message}\n`)
    })
  })
  // longer than a scrape interval, so a scraper's kept-alive connection is not closed under it
  server.keepAliveTimeout = 65_000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => { server.off('error', reject); resolve() })
  })
  return {
    port: (server.address() as { port: number }).port,
    close: async () => await new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) })
  }
}
