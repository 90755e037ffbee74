// Live progress for the glint command: on a terminal, one bar per transfer in flight and a
// total, with rates and ETA (cli-progress); otherwise (a pipe, a log file) plain lines: one
// when a transfer starts and ends, and a total every few seconds.

import { MultiBar, type SingleBar } from 'cli-progress'

export interface Tracker {
  /** `n` more bytes moved */
  add: (n: number) => void
  /** `n` bytes that need not move (already there): done, but not part of the rate */
  skip: (n: number) => void
  /** what the transfer is doing now (uploading, verifying, copying to b...) */
  phase: (text: string) => void
  /** the transfer ended; its line says `message` */
  end: (message: string) => void
}

export interface Progress {
  /** a transfer of `size` bytes begins */
  begin: (label: string, size: number) => Tracker
  /** a line of its own, above the bars on a terminal */
  log: (line: string) => void
  stop: () => void
}

export function formatBytes (n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let i = 0
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++ }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`
}

export function formatRate (bytes: number, seconds: number): string {
  return seconds <= 0 ? '-' : `${(bytes / seconds / 1e6).toFixed(1)} MB/s`
}

function formatSeconds (s: number): string {
  if (!Number.isFinite(s) || s < 0) return '-'
  if (s < 60) return `${Math.round(s)}s`
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
}

/**
 * `totalBytes` across all transfers and `count` of them, for the total bar; `tty` picks bars
 * (default: whether stderr is a terminal).
 */
export function createProgress (totalBytes: number, count: number, opts: { tty?: boolean, stream?: NodeJS.WriteStream, intervalMs?: number } = {}): Progress {
  const stream = opts.stream ?? process.stderr
  const tty = opts.tty ?? stream.isTTY === true
  const started = Date.now()
  let moved = 0
  let skipped = 0
  let finished = 0
  const rateOf = (bytes: number, since: number): string => formatRate(bytes, (Date.now() - since) / 1000)
  /** time left for `left` bytes at the rate `bytes` moved since `since` */
  const etaOf = (bytes: number, left: number, since: number): string => {
    const elapsed = (Date.now() - since) / 1000
    return bytes <= 0 ? '-' : formatSeconds(left * elapsed / bytes)
  }
  const label = (text: string): string => text.length > 28 ? `${text.slice(0, 27)}~` : text.padEnd(28)

  if (!tty) {
    const inFlight = new Set<string>()
    const timer = setInterval(() => {
      if (inFlight.size === 0) return
      stream.write(`progress: ${finished}/${count} done, ${formatBytes(moved + skipped)} of ${formatBytes(totalBytes)}, ${rateOf(moved, started)}, ETA ${etaOf(moved, totalBytes - moved - skipped, started)}\n`)
    }, opts.intervalMs ?? 5000)
    timer.unref()
    return {
      begin (name, size) {
        inFlight.add(name)
        stream.write(`start: ${name} (${formatBytes(size)})\n`)
        let last = ''
        return {
          add: (n) => { moved += n },
          skip: (n) => { skipped += n },
          phase: (text) => { if (text !== last) { last = text; stream.write(`${name}: ${text}\n`) } },
          end: (message) => { inFlight.delete(name); finished++; stream.write(`${message}\n`) }
        }
      },
      log: (line) => { stream.write(`${line}\n`) },
      stop: () => { clearInterval(timer) }
    }
  }

  const bars = new MultiBar({
    stream,
    // payload names differ from cli-progress's own tokens ({eta}, {value}...), which it fills itself
    format: '{label} |{bar}| {percentage}% {done} {speed} ETA {left}',
    barsize: 24,
    hideCursor: true,
    clearOnComplete: false,
    stopOnComplete: false,
    forceRedraw: true,
    autopadding: true
  })
  const totalLabel = (): string => label(`TOTAL ${finished}/${count} images`)
  const totalPayload = (): Record<string, string> => ({
    label: totalLabel(),
    done: `${formatBytes(moved + skipped)}/${formatBytes(totalBytes)}`,
    speed: rateOf(moved, started),
    left: etaOf(moved, totalBytes - moved - skipped, started)
  })
  const total: SingleBar = bars.create(Math.max(totalBytes, 1), 0, totalPayload())
  const refreshTotal = (): void => { total.update(moved + skipped, totalPayload()) }
  return {
    begin (name, size) {
      const since = Date.now()
      let value = 0
      let phase = ''
      const payload = (): Record<string, string> => ({
        label: label(phase === '' ? name : `${name} ${phase}`),
        done: `${formatBytes(value)}/${formatBytes(size)}`,
        speed: rateOf(value, since),
        left: etaOf(value, size - value, since)
      })
      const bar = bars.create(Math.max(size, 1), 0, payload())
      const refresh = (): void => { bar.update(value, payload()) }
      return {
        add: (n) => { value += n; moved += n; refresh(); refreshTotal() },
        skip: (n) => { value += n; skipped += n; refresh(); refreshTotal() },
        phase: (text) => { phase = text; refresh() },
        end: (message) => {
          finished++
          bars.remove(bar)
          bars.log(`${message}\n`)
          refreshTotal()
        }
      }
    },
    log: (line) => { bars.log(`${line}\n`) },
    stop: () => { refreshTotal(); bars.stop() }
  }
}
