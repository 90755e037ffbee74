// Slow clients (issue 15): hundreds of connections trickling a request header a byte at a
// time. Others are served meanwhile, memory stays bounded, and the server closes the idle
// connections itself (the native parser's idle timeout, about 10 s).

import t from 'tap'
import { connect, type Socket } from 'node:net'
import { startGlint } from './helpers/glint.js'
import { memoryOf } from './helpers/data.js'

t.test('slowloris: 200 connections trickling headers a byte at a time', async (t) => {
  const glint = await startGlint({ database: 'postgres' })
  t.teardown(() => glint.stop())
  const pid = glint.proc.pid!
  for (let i = 0; i < 20; i++) await glint.request('GET', '/healthcheck')
  const before = (await memoryOf(pid)).rss
  const N = 200
  let closedByServer = 0
  let gaveUp = false
  const sockets: Socket[] = []
  const closed = Array.from({ length: N }, async () => await new Promise<void>((resolve) => {
    const socket = connect(glint.port, '127.0.0.1')
    sockets.push(socket)
    const head = `GET /healthcheck HTTP/1.1\r\nHost: x\r\nX-Slow: ${'s'.repeat(10_000)}`
    let i = 0
    const timer = setInterval(() => { if (!socket.destroyed) socket.write(head[i++ % head.length]) }, 1000)
    socket.on('error', () => {})
    socket.on('close', () => { clearInterval(timer); if (!gaveUp) closedByServer++; resolve() })
  }))
  // the parser's idle timeout is about 10 s; a server that never closes them is given up on here
  const bound = setTimeout(() => { gaveUp = true; for (const s of sockets) s.destroy() }, 120_000)
  t.teardown(() => { clearTimeout(bound); for (const s of sockets) s.destroy() })
  await new Promise((resolve) => setTimeout(resolve, 3000))
  let served = 0
  for (let i = 0; i < 10; i++) if ((await glint.request('GET', '/healthcheck')).status === 200) served++
  t.equal(served, 10, 'others are served while the slow connections trickle')
  t.equal((await glint.request('POST', '/v2/images', { json: { name: 'beside-slowloris' } })).status, 201, 'the API too')
  const during = (await memoryOf(pid)).rss
  t.ok(during - before < 64 * 1024 * 1024, `resident memory grew by ${Math.round((during - before) / 1024)} KiB for ${N} connections (bound 64 MiB)`)
  await Promise.all(closed)
  clearTimeout(bound)
  t.comment(`slowloris: ${closedByServer} of ${N} connections closed by the server, RSS ${Math.round(before / 1048576)} -> ${Math.round(during / 1048576)} MiB`)
  t.equal(closedByServer, N, 'the server closes every idle, trickling connection')
  t.equal((await glint.request('GET', '/healthcheck')).status, 200, 'and serves on')
})
