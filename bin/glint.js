#!/usr/bin/env node
// The `glint` command of a checkout (package.json "bin"): runs the compiled CLI in dist/.
import { existsSync } from 'node:fs'

const cli = new URL('../dist/src/cli/glint.js', import.meta.url)
if (!existsSync(cli)) {
  process.stderr.write('glint: not built yet: run `npx tsc -p .` (or `npm run build`) in the checkout first\n')
  process.exit(2)
}
await import(cli.href)
