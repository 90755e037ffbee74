// A consumer on the real RabbitMQ for notification tests: an exclusive queue bound to a
// topic of the test's own on the `glance` exchange, collecting every message.

import amqp from 'amqplib'

export const BROKER = process.env.GLINT_TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672/'
export const TRANSPORT = 'rabbit://guest:guest@127.0.0.1:5672/'

export async function brokerMissing (): Promise<string | undefined> {
  try {
    const conn = await amqp.connect(BROKER, { timeout: 5000 })
    await conn.close()
    return undefined
  } catch (err) {
    return `RabbitMQ is not reachable at ${BROKER}: ${(err as Error).message}`
  }
}

export interface Received { routingKey: string, contentType?: string, body: any }

/** An exclusive queue bound to `<topic>.*` on the glance exchange; collects every message. */
export async function listen (topic: string): Promise<{ messages: Received[], waitFor: (n: number) => Promise<Received[]>, close: () => Promise<void> }> {
  const conn = await amqp.connect(BROKER)
  const ch = await conn.createChannel()
  await ch.assertExchange('glance', 'topic', { durable: false, autoDelete: false })
  const { queue } = await ch.assertQueue('', { exclusive: true })
  await ch.bindQueue(queue, 'glance', `${topic}.*`)
  const messages: Received[] = []
  await ch.consume(queue, (m) => {
    if (m === null) return
    messages.push({ routingKey: m.fields.routingKey, contentType: m.properties.contentType, body: JSON.parse(m.content.toString()) })
  }, { noAck: true })
  return {
    messages,
    async waitFor (n) {
      for (let i = 0; i < 600 && messages.length < n; i++) await new Promise((resolve) => setTimeout(resolve, 100))
      return messages
    },
    async close () {
      // the default queues Glint declared (as oslo.messaging does) go too
      for (const priority of ['info', 'error', 'warn']) await ch.deleteQueue(`${topic}.${priority}`).catch(() => {})
      await conn.close().catch(() => {})
    }
  }
}

