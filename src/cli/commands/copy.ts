// `glint copy IMAGE... --store ID...`: copy-image imports that put active images into more
// stores, waited for; exits 1 when any copy failed.

import type { Command } from 'commander'
import { apiFrom } from '../connection.js'
import { renderTable } from '../table.js'
import type { Image } from '../api.js'

const collect = (value: string, previous: string[]): string[] => [...previous, value]
const storeSet = (v: unknown): Set<string> => new Set(String(v ?? '').split(',').map((s) => s.trim()).filter(Boolean))

export function copyCommand (program: Command): void {
  program.command('copy')
    .description('copy images (ids or names) into more stores (copy-image import) and wait for the copies')
    .argument('<images...>', 'image ids or names')
    .option('--store <id>', 'a store to copy into (several allowed)', collect, [])
    .option('--timeout <seconds>', 'give up waiting for one image after this long', '3600')
    .action(async (names: string[], flags: { store: string[], timeout: string }) => {
      if (flags.store.length === 0) throw new Error('give at least one --store')
      const api = await apiFrom(program)
      const rows: string[][] = []
      let failed = 0
      await Promise.all(names.map(async (name) => {
        try {
          let image: Image = await api.resolve(name)
          const missing = flags.store.filter((s) => !storeSet(image.stores).has(s))
          if (missing.length > 0) {
            process.stderr.write(`${image.id}: copying to ${missing.join(',')}\n`)
            await api.copyToStores(image.id, missing)
            const deadline = Date.now() + Number(flags.timeout) * 1000
            for (;;) {
              image = await api.image(image.id)
              if (storeSet(image.os_glance_importing_to_stores).size === 0) break
              if (Date.now() > deadline) throw new Error(`still copying after ${flags.timeout} s`)
              await new Promise((resolve) => setTimeout(resolve, 1000))
            }
          }
          const still = flags.store.filter((s) => !storeSet(image.stores).has(s))
          if (still.length > 0) throw new Error(`copy to ${still.join(',')} failed`)
          rows.push([name, image.id, image.stores ?? '', missing.length > 0 ? 'copied' : 'already there'])
        } catch (err) {
          failed++
          rows.push([name, '-', '-', `failed: ${(err as Error).message}`])
        }
      }))
      process.stdout.write(renderTable(['IMAGE', 'ID', 'STORES', 'RESULT'], rows))
      if (failed > 0) process.exitCode = 1
    })
}
