// Publishes notifications to RabbitMQ as oslo.messaging's rabbit driver does: to the control
// exchange (a topic exchange, `glance`) with routing key `<topic>.<priority>`, after declaring
// the default queue of that name bound to it (so nothing is lost before a consumer exists).
// Publishing never blocks or fails the caller: messages wait in a bounded queue while the
// broker is away, the connection is retried with backoff, and the outage is logged once.

import amqp, { type ChannelModel, type ConfirmChannel } from 'amqplib'
import type { Logger } from 'pino'

export interface Outgoing { routingKey: string, body: string }

export interface RabbitPublisher {
  publish: (message: Outgoing) => void
  /** Resolves once everything queued so far was confirmed by the broker (bounded by timeoutMs). */
  flush: (timeoutMs: number) => Promise<void>
  close: () => Promise<void>
}

/** oslo.messaging's rabbit://user:pass@host:port/vhost (several hosts: the first) as an AMQP URL. */
export function amqpUrl (transportUrl: string): string {
  const m = /^(?:rabbit|amqp):\/\/(?:([^@/]*)@)?([^/,]+)(?:,[^/]*)?(\/.*)?$/.exec(transportUrl)
  if (m === null) throw new Error(`transport_url ${transportUrl.replace(/:[^:@/]*@/, ':***@')} is not rabbit://[user:pass@]host[:port][/vhost]`)
  const auth = m[1] !== undefined ? `${m[1]}@` : ''
  const host = m[2].includes(':') ? m[2] : `${m[2]}:5672`
  return `amqp://${auth}${host}${m[3] ?? '/'}`
}

const MAX_QUEUED = 10_000
const MAX_BACKOFF_MS = 30_000

export function rabbitPublisher (url: string, exchange: string, log: Logger): RabbitPublisher {
  const queue: Outgoing[] = []
  const declared = new Set<string>()
  let connection: ChannelModel | undefined
  let channel: ConfirmChannel | undefined
  let connecting = false
  let pumping = false
  let closed = false
  let backoffMs = 500
  let retryTimer: NodeJS.Timeout | undefined
  let down = false
  let dropped = 0
  const idleWaiters: Array<() => void> = []

  const settleIdle = (): void => {
    if (queue.length > 0 || pumping) return
    for (const done of idleWaiters.splice(0)) done()
  }

  function lost (err: unknown): void {
    channel = undefined
    connection = undefined
    declared.clear()
    if (!down) log.error({ err: (err as Error)?.message ?? String(err), queued: queue.length }, 'notifications: RabbitMQ unreachable, retrying')
    down = true
    if (closed) return
    clearTimeout(retryTimer)
    retryTimer = setTimeout(() => { void connect() }, backoffMs)
    retryTimer.unref()
    backoffMs = Math.min(backoffMs * 2, MAX_BACKOFF_MS)
  }

  async function connect (): Promise<void> {
    if (connecting || channel !== undefined || closed) return
    connecting = true
    try {
      const conn = await amqp.connect(url, { timeout: 10_000 })
      conn.on('error', () => {})
      conn.on('close', () => { if (connection === conn) lost(new Error('connection closed')) })
      const ch = await conn.createConfirmChannel()
      ch.on('error', () => {})
      await ch.assertExchange(exchange, 'topic', { durable: false, autoDelete: false })
      connection = conn
      channel = ch
      backoffMs = 500
      if (down) log.warn({ queued: queue.length }, 'notifications: RabbitMQ reachable again')
      down = false
    } catch (err) {
      lost(err)
    } finally {
      connecting = false
    }
    void pump()
  }

  async function pump (): Promise<void> {
    if (pumping) return
    pumping = true
    try {
      while (queue.length > 0 && channel !== undefined) {
        const ch = channel
        const batch = queue.slice(0, 100)
        for (const { routingKey } of batch) {
          if (!declared.has(routingKey)) {
            await ch.assertQueue(routingKey, { durable: false, autoDelete: false })
            await ch.bindQueue(routingKey, exchange, routingKey)
            declared.add(routingKey)
          }
        }
        for (const m of batch) {
          ch.publish(exchange, m.routingKey, Buffer.from(m.body), { contentType: 'application/json', contentEncoding: 'utf-8', persistent: true })
        }
        await ch.waitForConfirms()
        // confirmed: only now are they off our hands (a lost connection re-sends the batch)
        queue.splice(0, batch.length)
      }
    } catch (err) {
      if (channel !== undefined) {
        const conn = connection
        channel = undefined
        connection = undefined
        await conn?.close().catch(() => {})
        lost(err)
      }
    } finally {
      pumping = false
      settleIdle()
    }
  }

  return {
    publish (message) {
      if (closed) return
      if (queue.length >= MAX_QUEUED) {
        queue.shift()
        if (dropped++ % 1000 === 0) log.error({ dropped }, 'notifications: queue full while RabbitMQ is unreachable, dropping the oldest')
      }
      queue.push(message)
      if (channel === undefined) void connect()
      else void pump()
    },
    async flush (timeoutMs) {
      if (queue.length === 0 && !pumping) return
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs)
        idleWaiters.push(() => { clearTimeout(timer); resolve() })
      })
    },
    async close () {
      closed = true
      clearTimeout(retryTimer)
      await connection?.close().catch(() => {})
      connection = undefined
      channel = undefined
    }
  }
}
