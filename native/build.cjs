'use strict'
// Builds the librbd addon (native/build/Release/rbd_native.node) with node-gyp.
// Run by the root package.json `install` script. It never fails the install: when the
// addon cannot be built it prints one line, "glint: rbd addon unavailable: <why>", and
// exits 0 (the RBD store then reports the reason at startup). The full node-gyp output
// of a failed build is kept in native/build.log.
//
//   node native/build.cjs          build (a stub if librbd-dev/librados-dev are missing)
//   node native/build.cjs --stub   build the stub on purpose (-Dhas_rbd=0)
//   GLINT_SKIP_RBD_BUILD=1         skip the build
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const dir = __dirname
const log = path.join(dir, 'build.log')

function unavailable (why) {
  console.log(`glint: rbd addon unavailable: ${why}`)
  process.exit(0)
}

function findNodeGyp () {
  const candidates = [
    process.env.npm_config_node_gyp, // set by npm for lifecycle scripts
    (() => { try { return require.resolve('node-gyp/bin/node-gyp.js', { paths: [dir] }) } catch { return undefined } })(),
    path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    '/usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'
  ]
  return candidates.find(p => p && fs.existsSync(p))
}

function main () {
  if (process.env.GLINT_SKIP_RBD_BUILD) unavailable('GLINT_SKIP_RBD_BUILD is set')
  try {
    require.resolve('node-addon-api', { paths: [dir] })
  } catch {
    unavailable('node-addon-api is not installed')
  }
  const nodeGyp = findNodeGyp()
  if (!nodeGyp) unavailable('node-gyp not found')

  const args = [nodeGyp, 'rebuild', '--jobs=max']
  // node-gyp run by hand (not by npm) would try to download node headers, which fails
  // offline: point it at the headers installed with node.
  if (!process.env.npm_config_nodedir) {
    const prefix = path.resolve(path.dirname(process.execPath), '..')
    args.push(`--nodedir=${fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? prefix : '/usr'}`)
  }
  if (process.argv.includes('--stub')) args.push('--', '-Dhas_rbd=0')

  const r = spawnSync(process.execPath, args, { cwd: dir, encoding: 'utf8', maxBuffer: 64 << 20, timeout: 600e3 })
  const output = `$ node ${args.join(' ')}\n${r.stdout ?? ''}${r.stderr ?? ''}`
  if (r.error || r.status !== 0) {
    fs.writeFileSync(log, output)
    const why = r.error
      ? r.error.message
      : (output.split('\n').find(l => /error:|gyp ERR! stack Error:|ERR!.*not found/.test(l)) ?? `node-gyp exited with ${r.status ?? r.signal}`)
    unavailable(`${why.trim()} (full log: ${path.relative(process.cwd(), log)})`)
  }
  fs.rmSync(log, { force: true })

  // Load it here (in a child, so this script never holds librbd) to catch link and
  // load errors now rather than at first use.
  const probe = spawnSync(process.execPath, ['-p', `JSON.stringify(require(${JSON.stringify(path.join(dir, 'build', 'Release', 'rbd_native.node'))}))`], { encoding: 'utf8' })
  if (probe.status !== 0) unavailable(`built, but it does not load: ${(probe.stderr.split('\n').find(l => /Error/.test(l)) ?? probe.stderr).trim()}`)
  const exported = JSON.parse(probe.stdout)
  if (!exported.hasRbd) unavailable(process.argv.includes('--stub') ? 'stub built on request (--stub)' : 'librbd-dev/librados-dev headers not found, built a stub')
  console.log(`glint: rbd addon built (librbd ${exported.versions.librbd}, librados ${exported.versions.librados})`)
}

main()
