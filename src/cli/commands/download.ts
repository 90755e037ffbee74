// `glint download IMAGE [-o FILE]`: the image's data into a file (or stdout with `-o -`),
// verified against the image's md5 and sha512; a file that does not match is removed and the
// exit code is 1.

import type { Command } from 'commander'
import { rmSync } from 'node:fs'
import { apiFrom } from '../connection.js'
import { fileSink } from '../api.js'
import { createProgress, formatBytes, formatRate } from '../progress.js'

export function downloadCommand (program: Command): void {
  program.command('download')
    .description("download an image's data (by id or name), verified against its checksums")
    .argument('<image>', 'image id or name')
    .option('-o, --output <file>', 'where to write it (- for stdout; default: the image name)')
    .action(async (name: string, flags: { output?: string }) => {
      const api = await apiFrom(program)
      const image = await api.resolve(name)
      if (image.status !== 'active') throw new Error(`image ${image.id} is ${image.status}, not active`)
      const output = flags.output ?? image.name ?? image.id
      const toStdout = output === '-'
      const size = image.size ?? 0
      const progress = createProgress(size, 1)
      const tracker = progress.begin(image.name ?? image.id, size)
      const started = Date.now()
      let got
      try {
        got = await api.download(image.id, toStdout ? process.stdout : fileSink(output), (n) => tracker.add(n))
      } catch (err) {
        tracker.end(`failed: ${(err as Error).message}`)
        progress.stop()
        if (!toStdout) rmSync(output, { force: true })
        throw err
      }
      const problems: string[] = []
      if (got.size !== image.size) problems.push(`size ${got.size}, the image has ${image.size}`)
      if (got.md5 !== image.checksum) problems.push(`md5 ${got.md5}, the image has ${image.checksum}`)
      if (image.os_hash_algo === 'sha512' && got.sha512 !== image.os_hash_value) problems.push('sha512 differs from os_hash_value')
      const seconds = (Date.now() - started) / 1000
      tracker.end(problems.length === 0
        ? `downloaded ${image.id} to ${toStdout ? 'stdout' : output}: ${formatBytes(got.size)} at ${formatRate(got.size, seconds)}, md5 and sha512 verified`
        : `MISMATCH ${image.id}: ${problems.join('; ')}`)
      progress.stop()
      if (problems.length > 0) {
        if (!toStdout) rmSync(output, { force: true })
        process.exitCode = 1
      }
    })
}
