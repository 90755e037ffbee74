// Glance's notifications through oslo.messaging's drivers ([oslo_messaging_notifications]
// driver): messagingv2 and messaging publish to RabbitMQ (one message per topic), log writes
// them to Glint's log, noop (or no driver) sends nothing. `disabled_notifications` drops an
// event type (`image.create`) or a whole group (`image`), as Glance does.
//
// Other modules emit through ctx.notifier: `ctx.notifier.info('metadef_namespace.create', payload)`.
// Emitting never throws and never waits for the broker.

import type { Logger } from 'pino'
import { notificationMessage, wireBody, type Priority } from './envelope.js'
import { amqpUrl, rabbitPublisher, type RabbitPublisher } from './rabbit.js'

export interface NotifierConfig {
  drivers: string[]
  transportUrl?: string
  topics: string[]
  /** oslo.messaging's control_exchange: `glance` */
  exchange: string
  publisherId: string
  disabled: string[]
}

export interface Notifier {
  readonly enabled: boolean
  info: (eventType: string, payload: unknown) => void
  warn: (eventType: string, payload: unknown) => void
  error: (eventType: string, payload: unknown) => void
  /** Waits (bounded) until what was emitted is with the broker; for shutdown. */
  flush: (timeoutMs: number) => Promise<void>
  close: () => Promise<void>
}

export const NOTIFIER_DRIVERS = ['messagingv2', 'messaging', 'log', 'noop', 'routing', 'test']

export function createNotifier (config: NotifierConfig, log: Logger): Notifier {
  const drivers = config.drivers.filter((d) => d !== 'noop')
  const wire = drivers.find((d): d is 'messagingv2' | 'messaging' => d === 'messagingv2' || d === 'messaging')
  const toLog = drivers.includes('log')
  let rabbit: RabbitPublisher | undefined
  if (wire !== undefined) {
    if (config.transportUrl === undefined) throw new Error('[oslo_messaging_notifications] driver = ' + wire + ' needs a transport_url')
    rabbit = rabbitPublisher(amqpUrl(config.transportUrl), config.exchange, log)
  }
  const disabled = new Set(config.disabled)
  const enabled = wire !== undefined || toLog

  const emit = (priority: Priority) => (eventType: string, payload: unknown): void => {
    if (!enabled || disabled.has(eventType) || disabled.has(eventType.split('.', 1)[0])) return
    try {
      const message = notificationMessage(config.publisherId, eventType, priority, payload)
      if (toLog) log.info({ notification: message }, 'notification')
      if (rabbit !== undefined) {
        const body = wireBody(message, wire!)
        for (const topic of config.topics) rabbit.publish({ routingKey: `${topic}.${priority.toLowerCase()}`, body })
      }
    } catch (err) {
      log.error({ err, eventType }, 'notification not sent')
    }
  }

  return {
    enabled,
    info: emit('INFO'),
    warn: emit('WARN'),
    error: emit('ERROR'),
    flush: async (timeoutMs) => { await rabbit?.flush(timeoutMs) },
    close: async () => { await rabbit?.close() }
  }
}
