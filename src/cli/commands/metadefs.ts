// `glint metadefs load|unload|export`: glance-manage's db_load_metadefs, db_unload_metadefs and
// db_export_metadefs for Glint's registry (the [database] connection of --config-file, or
// DATABASE_URL, else the embedded registry under GLINT_DATA_DIR, which a running Glint must
// not hold open at the same time).

import type { Command } from 'commander'
import type { Sql } from 'postgres'
import { loadConfig } from '../../config/load.js'
import { openRegistry } from '../../registry/connect.js'
import { checkLoadOptions, exportDefinitions, loadDefinitions, unloadDefinitions } from '../../registry/metadefs-load.js'

const SHIPPED = '/etc/glance/metadefs'

async function withRegistry<T> (configFile: string | undefined, work: (sql: Sql) => Promise<T>): Promise<T> {
  const config = loadConfig(configFile)
  const registry = await openRegistry({ url: config.databaseUrl, poolSize: 2, dataDir: config.dataDir })
  try {
    return await work(registry.sql)
  } finally {
    await registry.close()
  }
}

export function metadefsCommand (program: Command): void {
  const metadefs = program.command('metadefs').description('load, unload or export metadata definitions (Glance\'s metadef JSON files)')

  metadefs.command('load [path]')
    .description(`load a directory of definition files, or one file (default ${SHIPPED}); a namespace already present is skipped unless --merge`)
    .option('--merge', 'add to namespaces already present what they lack')
    .option('--prefer-new', 'with --merge: also replace what they have with the files\' definitions')
    .option('--overwrite', 'with --merge: delete namespaces already present and load them afresh')
    .option('--config-file <file>', "the operator's glance-api.conf")
    .action(async (path: string | undefined, opts: { merge?: boolean, preferNew?: boolean, overwrite?: boolean, configFile?: string }) => {
      const options = { merge: opts.merge === true, preferNew: opts.preferNew === true, overwrite: opts.overwrite === true }
      checkLoadOptions(options)
      const report = await withRegistry(opts.configFile, async (sql) => await loadDefinitions(sql, path ?? SHIPPED, options))
      for (const f of report.failed) process.stderr.write(`glint: failed to read ${f.file}: ${f.error}\n`)
      process.stdout.write(`loaded ${report.loaded.length} namespaces, skipped ${report.skipped.length} already present\n`)
      if (report.failed.length > 0) process.exitCode = 1
    })

  metadefs.command('unload')
    .description('delete every metadata definition (namespaces, their contents, resource types)')
    .option('--config-file <file>', "the operator's glance-api.conf")
    .action(async (opts: { configFile?: string }) => {
      await withRegistry(opts.configFile, unloadDefinitions)
      process.stdout.write('deleted every metadata definition\n')
    })

  metadefs.command('export <dir>')
    .description('write one definition file per namespace into dir, in the format load reads')
    .option('--config-file <file>', "the operator's glance-api.conf")
    .action(async (dir: string, opts: { configFile?: string }) => {
      const files = await withRegistry(opts.configFile, async (sql) => await exportDefinitions(sql, dir))
      process.stdout.write(`exported ${files.length} namespaces to ${dir}\n`)
    })
}
