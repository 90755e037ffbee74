// `glint serve [--config-file FILE]`: the API server (what `npm start` runs).

import type { Command } from 'commander'

export function serveCommand (program: Command): void {
  program.command('serve')
    .description('run the Images API server until SIGTERM/SIGINT')
    .option('--config-file <file>', "the operator's glance-api.conf")
    .action(async (opts: { configFile?: string }) => {
      // librbd's blocking calls share libuv's pool with file I/O (see src/main.ts)
      process.env.UV_THREADPOOL_SIZE ??= '16'
      const { serve } = await import('../../serve.js')
      await serve(opts.configFile)
    })
}
