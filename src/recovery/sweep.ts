// The recovery sweep, run by every gateway at start and then periodically: images left in
// `saving` (or `uploading` mid-stage) by a gateway that died (their upload lease ran out) get their partial data removed
// from the store and go back to `queued`, as a failed upload leaves them. Gateways race for
// each image through the registry (claimExpired), so each is recovered once. Also keeps this
// gateway's own leases alive while its uploads run.

import type { Logger } from 'pino'
import type { Sql } from 'postgres'
import type { StoreSet } from '../stores/stores.js'
import { claimExpired, endUpload, expiredUploads, renewLeases } from '../registry/leases.js'

const NO_DATA = { size: null, virtual_size: null, checksum: null, os_hash_algo: null, os_hash_value: null }
const BATCH = 100

export interface Gateway {
  /** unique to this process: host, pid and a random part */
  readonly id: string
  readonly leaseSeconds: number
  /** the images this process is uploading now: only their leases are renewed */
  readonly uploads: Set<string>
}

export interface Sweeper {
  /** Recovers what has expired now; resolves the ids put back to queued. */
  sweep: () => Promise<string[]>
  stop: () => void
}

export function startSweeper (deps: { sql: Sql, stores: StoreSet, log: Logger, gateway: Gateway }): Sweeper {
  const { sql, stores, log, gateway } = deps
  let running: Promise<string[]> | undefined

  async function recover (id: string, storeId: string | null, status: 'saving' | 'uploading'): Promise<boolean> {
    if (!await claimExpired(sql, id, gateway.id, gateway.leaseSeconds)) return false
    const store = storeId === null ? undefined : stores.get(storeId) ?? (stores.staging?.id === storeId ? stores.staging : undefined)
    if (store !== undefined) {
      // Removed before the image is queued again, so a new upload cannot lose data to it.
      // A store that cannot be reached keeps the claim until it expires and is tried again.
      await store.run({ op: 'purge', imageId: id })
    }
    return await endUpload(sql, id, gateway.id, 'queued', NO_DATA, status)
  }

  async function sweepOnce (): Promise<string[]> {
    const recovered: string[] = []
    for (const { id, store, gateway: deadGateway, status } of await expiredUploads(sql, BATCH)) {
      try {
        if (await recover(id, store, status)) {
          recovered.push(id)
          log.warn({ imageId: id, store, gateway: deadGateway }, 'recovered an upload whose gateway stopped: partial data removed, image queued')
        }
      } catch (err) {
        log.error({ err, imageId: id, store }, 'could not recover an abandoned upload; will retry')
      }
    }
    return recovered
  }

  const sweep = async (): Promise<string[]> => {
    running ??= sweepOnce().finally(() => { running = undefined })
    return await running
  }

  const leaseMs = gateway.leaseSeconds * 1000
  const renewTimer = setInterval(() => {
    // An upload that ended without reaching the registry (it was down) is no longer in the
    // set, so its lease runs out and a sweep recovers it.
    if (gateway.uploads.size === 0) return
    renewLeases(sql, gateway.id, [...gateway.uploads], gateway.leaseSeconds).catch((err) => log.error({ err }, 'could not renew upload leases'))
  }, Math.max(250, leaseMs / 3))
  const sweepTimer = setInterval(() => { sweep().catch((err) => log.error({ err }, 'recovery sweep failed')) }, Math.max(500, leaseMs / 2))
  renewTimer.unref()
  sweepTimer.unref()
  void sweep().catch((err) => log.error({ err }, 'recovery sweep failed'))

  return {
    sweep,
    stop () { clearInterval(renewTimer); clearInterval(sweepTimer) }
  }
}
