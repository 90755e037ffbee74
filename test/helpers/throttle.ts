// A TCP pass-through that holds client-to-server bytes to a rate, so a test's uploads last
// long enough to be seen (and interrupted) mid-flight on any machine.

import { connect, createServer, type Socket } from 'node:net'

export async function throttledProxy (targetPort: number, bytesPerSecond: number): Promise<{ port: number, close: () => Promise<void> }> {
  const sockets = new Set<Socket>()
  const server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1')
    sockets.add(client).add(upstream)
    const end = (): void => { client.destroy(); upstream.destroy(); sockets.delete(client); sockets.delete(upstream) }
    client.on('error', end).on('close', end)
    upstream.on('error', end).on('close', end)
    upstream.pipe(client)
    client.on('data', (chunk: Buffer) => {
      upstream.write(chunk)
      client.pause()
      setTimeout(() => client.resume(), Math.ceil(chunk.length / bytesPerSecond * 1000))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as { port: number }).port,
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}
