// `glint orphans [--config-file FILE] [--store ID...] [--delete]`: store data that no image
// owns (left by a crash between the store and the registry, or by hand), found by listing
// each store against the registry. A dry run unless --delete. It reads the same
// glance-api.conf as the server, and talks to the registry and the stores directly (as
// glance-manage does): with the embedded registry, stop the server first.

import type { Command } from 'commander'
import { renderTable } from '../table.js'

export function orphansCommand (program: Command): void {
  program.command('orphans')
    .description('find (and with --delete remove) store data that no image owns')
    .option('--config-file <file>', "the operator's glance-api.conf")
    .option('--store <id...>', 'only these stores')
    .option('--delete', 'remove what is found (default: only report it)')
    .action(async (flags: { configFile?: string, store?: string[], delete?: boolean }) => {
      const { loadConfig } = await import('../../config/load.js')
      const { openRegistry } = await import('../../registry/connect.js')
      const { createStores } = await import('../../stores/stores.js')
      const { findOrphans, removeOrphans } = await import('../../recovery/orphans.js')
      const config = loadConfig(flags.configFile)
      const registry = await openRegistry({ url: config.databaseUrl, poolSize: 2, dataDir: config.dataDir })
      const stores = createStores(config.stores, config.defaultStore)
      try {
        const orphans = await findOrphans(registry.sql, stores, flags.store)
        process.stdout.write(renderTable(['store', 'image data'], orphans.map((o) => [o.store, o.imageId])))
        if (flags.delete !== true) {
          process.stdout.write(`${orphans.length} orphaned (dry run: nothing removed; --delete removes them)\n`)
          return
        }
        const failed = await removeOrphans(stores, orphans)
        for (const f of failed) process.stderr.write(`could not remove ${f.store}/${f.imageId}: ${f.error}\n`)
        process.stdout.write(`${orphans.length - failed.length} removed, ${failed.length} failed\n`)
        if (failed.length > 0) process.exitCode = 1
      } finally {
        await stores.close()
        await registry.close()
      }
    })
}
