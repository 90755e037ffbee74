// The glint command: `glint <subcommand> ...` (bin/glint.js). Each subcommand is one file in
// commands/ that adds itself to the program; add yours to the list in commands/index.ts.

import { Command } from 'commander'
import { connectionOptions } from './connection.js'
import { SUBCOMMANDS } from './commands/index.js'

const program = new Command('glint')
  .description('Glint, an image service speaking the Glance Images API v2: serve it, ingest images in bulk, adopt a Glance')
  .showHelpAfterError()
connectionOptions(program)
for (const add of SUBCOMMANDS) add(program)

program.parseAsync(process.argv).catch((err: Error) => {
  process.stderr.write(`glint: ${err.message}\n`)
  process.exit(2)
})
