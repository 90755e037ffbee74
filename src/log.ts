// The logger: pretty lines in a terminal (when pino-pretty, a dev dependency, is installed),
// NDJSON otherwise. Tokens never reach a log line.

import { createRequire } from 'node:module'
import pino, { type Logger } from 'pino'

const redact = {
  paths: ['req.headers["x-auth-token"]', 'req.headers["x-subject-token"]', 'req.headers.authorization', '*.password', '*.token'],
  censor: '[REDACTED]'
}

export function createLogger (level = process.env.GLINT_LOG_LEVEL ?? 'info'): Logger {
  if (process.stdout.isTTY && hasPrettyPrinter()) {
    return pino({
      level,
      redact,
      transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } }
    })
  }
  return pino({ level, redact, base: { svc: 'glint' } }, pino.destination({ dest: 1, sync: false, minLength: 4096 }))
}

function hasPrettyPrinter (): boolean {
  try {
    createRequire(import.meta.url).resolve('pino-pretty')
    return true
  } catch {
    return false
  }
}
