// The notifier layer's slot in the chain (see chain.ts for where it sits and what it may do).
// Until notifications are built it passes every operation through unchanged.

import type { Layer } from './chain.js'

export const notifierLayer: Layer = (next) => async (op) => await next(op)
