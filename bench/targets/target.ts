// A server under test (Glint or Glance), started and stopped by the harness.

import type { Role } from '../measure.js'

export interface Target {
  role: Exclude<Role, 'baseline'>
  /** e.g. "Glint 0.1.0", "Glance 25.1.0" */
  label: string
  url: string
  /** the server's main pid; its process tree is what gets measured */
  pid: number
  /** store ids the server reports in /v2/info/stores */
  stores: string[]
  logFile: string
  /** the directory glance-direct stages into and web-download fetches into (os_glance_staging_store) */
  stagingDir?: string
  stop: () => Promise<void>
}

/** A target that runs, or the reason it does not. */
export type TargetSlot = { target: Target, unavailable?: undefined } | { target?: undefined, unavailable: string }

/** Why a target cannot be measured for a store, if it cannot. */
export function storeUnavailable (slot: TargetSlot, storeId: string): string | undefined {
  if (slot.target === undefined) return slot.unavailable
  if (!slot.target.stores.includes(storeId)) return `${slot.target.label} has no store ${storeId}`
  return undefined
}
