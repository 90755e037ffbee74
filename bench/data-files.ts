// Test files: random bytes (incompressible, no zero runs a thin store could skip), made once
// per size under the work directory and shared by every target and baseline.

import { createWriteStream, existsSync, rmSync, statSync } from 'node:fs'
import { randomFill } from 'node:crypto'
import { join } from 'node:path'
import { once } from 'node:events'

const fill = async (buffer: Buffer): Promise<Buffer> =>
  await new Promise((resolve, reject) => randomFill(buffer, (err, b) => (err !== null ? reject(err) : resolve(b))))
const BLOCK = 8 * 1024 * 1024

export const MiB = 1024 * 1024

export class DataFiles {
  constructor (private readonly dir: string) {}

  path (mib: number): string { return join(this.dir, `random-${mib}MiB.bin`) }

  async ensure (mib: number): Promise<string> {
    const path = this.path(mib)
    if (existsSync(path) && statSync(path).size === mib * MiB) return path
    const out = createWriteStream(path)
    let left = mib * MiB
    while (left > 0) {
      const block = await fill(Buffer.allocUnsafe(Math.min(BLOCK, left)))
      left -= block.byteLength
      if (!out.write(block)) await once(out, 'drain')
    }
    out.end()
    await once(out, 'finish')
    return path
  }

  /** Frees the disk as soon as a scenario is done with a size. */
  remove (mib: number): void { rmSync(this.path(mib), { force: true }) }
}
