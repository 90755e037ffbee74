// `node dist/src/tools/metadefs.js load|unload|export [DIR] [--config-file glance-api.conf]`:
// glance-manage's db_load_metadefs / db_unload_metadefs / db_export_metadefs for Glint's
// registry (the one [database] connection or DATABASE_URL names, else the embedded one under
// GLINT_DATA_DIR, which must not be open in a running Glint at the same time).
//
//   load [DIR|FILE] [--merge [--prefer-new | --overwrite]]   default DIR /etc/glance/metadefs
//   unload
//   export DIR

import { parseArgs } from 'node:util'
import { ConfigError, loadConfig } from '../config/load.js'
import { openRegistry } from '../registry/connect.js'
import { checkLoadOptions, exportDefinitions, loadDefinitions, LoadOptionError, unloadDefinitions } from '../registry/metadefs-load.js'

const USAGE = `usage: metadefs load [DIR|FILE] [--merge [--prefer-new | --overwrite]] [--config-file FILE]
       metadefs unload [--config-file FILE]
       metadefs export DIR [--config-file FILE]`

export async function runMetadefsCommand (argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      'config-file': { type: 'string' },
      merge: { type: 'boolean', default: false },
      'prefer-new': { type: 'boolean', default: false },
      overwrite: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false }
    }
  })
  const [command, path] = positionals
  if (values.help || command === undefined || !['load', 'unload', 'export'].includes(command) || (command === 'export' && path === undefined)) {
    process.stderr.write(`${USAGE}\n`)
    return values.help ? 0 : 2
  }
  const options = { merge: values.merge, preferNew: values['prefer-new'], overwrite: values.overwrite }
  if (command === 'load') checkLoadOptions(options)
  const config = loadConfig(values['config-file'])
  const registry = await openRegistry({ url: config.databaseUrl, poolSize: 2, dataDir: config.dataDir })
  try {
    if (command === 'load') {
      const report = await loadDefinitions(registry.sql, path ?? '/etc/glance/metadefs', options)
      for (const f of report.failed) process.stderr.write(`failed to read ${f.file}: ${f.error}\n`)
      process.stdout.write(`loaded ${report.loaded.length} namespaces, skipped ${report.skipped.length} already present\n`)
      return report.failed.length > 0 ? 1 : 0
    }
    if (command === 'unload') {
      await unloadDefinitions(registry.sql)
      process.stdout.write('deleted every metadata definition\n')
      return 0
    }
    const files = await exportDefinitions(registry.sql, path!)
    process.stdout.write(`exported ${files.length} namespaces to ${path!}\n`)
    return 0
  } finally {
    await registry.close()
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runMetadefsCommand(process.argv.slice(2)).then((code) => { process.exitCode = code }, (err) => {
    if (err instanceof LoadOptionError || err instanceof ConfigError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') === true) {
      process.stderr.write(`metadefs: ${(err as Error).message}\n`)
      process.exitCode = 2
      return
    }
    process.stderr.write(`metadefs: ${(err as Error)?.stack ?? String(err)}\n`)
    process.exitCode = 1
  })
}
