// A hasher thread: one task per upload computes one digest over the chunks the main thread
// shares with it (SharedArrayBuffer, so the store worker reads the same bytes at the same
// time), acknowledging each chunk so its buffer can be reused.

import type { MessagePort } from 'node:worker_threads'
import { StreamDigest } from './hashing.js'
import { serializeError, type TaskOutcome } from './protocol.js'

export interface HashTask { port: MessagePort, algorithm: string }
type HashMessage = { type: 'chunk', seq: number, buffer: SharedArrayBuffer, length: number } | { type: 'end' } | { type: 'abort' }

export default async function hash (task: HashTask): Promise<TaskOutcome> {
  try {
    return { ok: true, value: await digestStream(task) }
  } catch (err) {
    return { ok: false, error: serializeError(err) }
  }
}

function digestStream ({ port, algorithm }: HashTask): Promise<{ size: number, hex: string }> {
  const digest = new StreamDigest(algorithm)
  return new Promise((resolve, reject) => {
    port.on('message', (message: HashMessage) => {
      if (message.type === 'chunk') {
        digest.update(new Uint8Array(message.buffer, 0, message.length))
        port.postMessage(message.seq)
      } else if (message.type === 'end') {
        port.close()
        resolve({ size: digest.size, hex: digest.hex() })
      } else {
        port.close()
        reject(Object.assign(new Error('upload aborted'), { code: 'GLINT_ABORTED' }))
      }
    })
  })
}
