// A notification as oslo.messaging's Notifier sends it: the message dict, and for the
// messagingv2 driver the 2.0 envelope around it (`oslo.message` is the dict as a JSON string).

import { randomUUID } from 'node:crypto'

export type Priority = 'INFO' | 'WARN' | 'ERROR'

export interface NotificationMessage {
  message_id: string
  publisher_id: string
  event_type: string
  priority: Priority
  payload: unknown
  timestamp: string
}

/** Python's str(datetime.utcnow()): "2026-11-29 23:59:01.123000". */
export function pythonUtcNow (date = new Date()): string {
  return `${date.toISOString().replace('T', ' ').replace('Z', '')}000`
}

export function notificationMessage (publisherId: string, eventType: string, priority: Priority, payload: unknown): NotificationMessage {
  return { message_id: randomUUID(), publisher_id: publisherId, event_type: eventType, priority, payload, timestamp: pythonUtcNow() }
}

/** The body on the wire: messagingv2 wraps the message, messaging (v1) sends it bare. */
export function wireBody (message: NotificationMessage, driver: 'messagingv2' | 'messaging'): string {
  if (driver === 'messaging') return JSON.stringify(message)
  return JSON.stringify({ 'oslo.version': '2.0', 'oslo.message': JSON.stringify(message) })
}
