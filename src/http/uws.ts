// uWebSockets.js, checked. The build is the npm package `uwebsockets` (README, "HTTP server
// build"): its loader requires the native binary for this platform and Node ABI and throws
// when there is none. Older packagings fell back silently to a slow `ws`-based JS imitation,
// so Glint still checks, before serving, that what loaded is the native module.

import { createRequire } from 'node:module'
import type * as UWS from 'uWebSockets.js'

const require = createRequire(import.meta.url)
const uWS = require('uWebSockets.js') as typeof UWS

// Only the native binary exports getParts and us_socket_local_port next to App.
const native = uWS as unknown as Record<string, unknown>
if (typeof native.App !== 'function' || typeof native.getParts !== 'function' || typeof native.us_socket_local_port !== 'function') {
  throw Object.assign(new Error('uWebSockets.js native binary did not load (a JS fallback is not supported)'), { code: 'GLINT_UWS_FALLBACK' })
}

export default uWS
export type { HttpRequest, HttpResponse, TemplatedApp, us_listen_socket } from 'uWebSockets.js'
