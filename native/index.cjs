'use strict'
// Glint's librbd binding (see src/). The compiled addon is loaded on first use of
// `available`, `reason` or `connect`, not when this file is required, so code paths
// without an RBD store never dlopen librbd. (An ESM named import reads these exports,
// and so loads the addon, at import time; `import rbd from` keeps it lazy.)
//
// connect(opts) -> Promise<Cluster>; Cluster.openPool -> Pool; Pool.open -> Image.
// Errors from librados/librbd carry code (errno name), errno (negative) and syscall.

const path = require('node:path')

const ADDON = path.join(__dirname, 'build', 'Release', 'rbd_native.node')

let state // { binding, available, reason }

function load () {
  if (state) return state
  let binding
  try {
    binding = require(ADDON)
  } catch (err) {
    return (state = { binding: null, available: false, reason: `cannot load ${ADDON}: ${err.message}` })
  }
  if (!binding.hasRbd) {
    return (state = { binding, available: false, reason: 'built without librbd (librbd-dev/librados-dev headers were missing at build time)' })
  }
  return (state = { binding, available: true, reason: undefined })
}

function connect (opts) {
  const s = load()
  if (!s.available) {
    const err = new Error(`connect: rbd addon unavailable: ${s.reason}`)
    err.code = 'ERR_RBD_UNAVAILABLE'
    return Promise.reject(err)
  }
  return s.binding.connect(opts)
}

// The getters keep the one shape cjs-module-lexer accepts (`get () { return a.b }`),
// so ESM code can `import { available, reason, connect } from './native/index.cjs'`.
const lazy = {
  get available () { return load().available },
  get reason () { return load().reason },
  // { librbd, librados } versions of a working addon, else undefined
  get versions () { return load().binding?.versions }
}
Object.defineProperty(exports, 'available', { enumerable: true, get () { return lazy.available } })
Object.defineProperty(exports, 'reason', { enumerable: true, get () { return lazy.reason } })
Object.defineProperty(exports, 'versions', { enumerable: true, get () { return lazy.versions } })
exports.connect = connect
