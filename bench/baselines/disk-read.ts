// The baseline for a file-store image's first read: the disk itself. The test file is copied
// with direct I/O (so none of it is in the page cache, as after a Glint upload), then read
// once by `dd` through the page cache, the way a server reads it, under /usr/bin/time
// (timed.ts).

import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { describeFailure, runCommand } from '../util/process.js'
import type { RunOutcome } from '../measure.js'
import { TIME, timedArgs, timedOutcome } from './timed.js'

const SLOWEST_BYTES_PER_SECOND = 5e6

export async function diskRead (file: string, bytes: number, workDir: string): Promise<RunOutcome> {
  const timeoutMs = (60 + bytes / SLOWEST_BYTES_PER_SECOND) * 1000
  const cold = join(workDir, 'disk-read-baseline.bin')
  try {
    const copy = await runCommand('dd', [`if=${file}`, `of=${cold}`, 'bs=4M', 'oflag=direct'], { timeoutMs })
    if (copy.code !== 0) throw new Error(describeFailure('dd copy with oflag=direct', copy))
    const r = await runCommand(TIME, timedArgs('dd', `if=${cold}`, 'of=/dev/null', 'bs=4M'), { timeoutMs })
    return timedOutcome(r, bytes, 'dd read')
  } finally {
    rmSync(cold, { force: true })
  }
}
