// Glint's server entry point: `node dist/src/main.js [--config-file glance-api.conf]`, the
// same as `glint serve`.

// librbd's blocking calls (connect, open, snapshot...) and file I/O share libuv's pool; a
// connect to a cluster that is down holds a thread for its whole timeout. Set before the
// first use of the pool (the imports below do not use it).
process.env.UV_THREADPOOL_SIZE ??= '16'

const { parseArgs } = await import('./config/load.js')
const { serve } = await import('./serve.js')

serve(parseArgs(process.argv.slice(2)).configFile).catch((err) => {
  process.stderr.write(`glint: failed to start: ${err?.stack ?? err}\n`)
  process.exit(1)
})
