// The pool of hasher threads (hash-worker.ts) shared by every upload.

import { Piscina } from 'piscina'
import { MessageChannel, type MessagePort } from 'node:worker_threads'
import { unwrapOutcome, type TaskOutcome } from '../workers/protocol.js'
import { watchPool } from '../metrics/registry.js'

export interface Hashers {
  /** Starts one digest; feed `port` with chunks, then 'end'. */
  start: (algorithm: string) => { port: MessagePort, result: Promise<{ size: number, hex: string }> }
  close: () => Promise<void>
}

export function createHashers (threads: number): Hashers {
  const pool = new Piscina({
    filename: new URL('../workers/hash-worker.js', import.meta.url).href,
    minThreads: threads,
    maxThreads: threads,
    idleTimeout: Infinity,
    atomics: 'disabled',
    concurrentTasksPerWorker: 1024
  })
  let running = 0
  watchPool('hashers', () => ({ queued: pool.queueSize, running, threads: pool.threads.length }))
  return {
    start (algorithm) {
      const { port1, port2 } = new MessageChannel()
      running++
      const result = pool.run({ port: port2, algorithm }, { transferList: [port2] })
        .finally(() => { running-- })
        .then((outcome: TaskOutcome) => unwrapOutcome<{ size: number, hex: string }>(outcome))
      return { port: port1, result }
    },
    close: async () => { await pool.destroy() }
  }
}
