// uWebSockets.js, checked. The package silently falls back to a slow `ws`-based JS
// implementation when its native binary fails to load; Glint refuses to run on that.

import { createRequire } from 'node:module'
import type * as UWS from 'uWebSockets.js'

const require = createRequire(import.meta.url)
const uWS = require('uWebSockets.js') as typeof UWS

// Only the native build exports getParts (the fallback exports App, _cfg and two helpers).
if (typeof (uWS as any).getParts !== 'function' || process.env.UWS_USE_FALLBACK !== undefined) {
  throw Object.assign(new Error('uWebSockets.js native binary did not load (the ws fallback is not supported)'), { code: 'GLINT_UWS_FALLBACK' })
}

export default uWS
export type { HttpRequest, HttpResponse, TemplatedApp, us_listen_socket } from 'uWebSockets.js'
