// Baseline commands run under GNU /usr/bin/time, so their CPU seconds and peak RSS sit beside
// the servers' in the tables.

import { describeFailure, type CommandResult } from '../util/process.js'
import type { RunOutcome } from '../measure.js'

export const TIME = '/usr/bin/time'

/** /usr/bin/time's arguments to run `command args...` and report its usage on stderr. */
export function timedArgs (command: string, ...args: string[]): string[] {
  return ['-f', '@@time %U %S %M', command, ...args]
}

/** MB/s for `bytes` over the command's wall time, with its usage; throws if it failed. */
export function timedOutcome (r: CommandResult, bytes: number, what: string): RunOutcome {
  const m = /@@time ([\d.]+) ([\d.]+) (\d+)/.exec(r.stderr)
  if (r.code !== 0 || m === null) throw new Error(describeFailure(what, r))
  return { value: bytes / r.wallSeconds / 1e6, usage: { cpuSeconds: Number(m[1]) + Number(m[2]), peakRssMiB: Number(m[3]) / 1024 } }
}
