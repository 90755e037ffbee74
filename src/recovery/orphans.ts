// Store data that no image owns: files or RBD images left by a crash between the store and
// the registry, by a copy cut short, or by hand. An image owns data in a store when it has a
// location there, or is being written there (saving, importing, or copying to that store).
// Only names that are image ids are considered, so other data in a shared pool is left alone.

import type { Sql } from 'postgres'
import type { StoreSet } from '../stores/stores.js'
import { imagesHeldIn } from '../registry/leases.js'
import { isUuid } from '../domain/uuid.js'


export interface Orphan { store: string, imageId: string }

export async function findOrphans (sql: Sql, stores: StoreSet, only?: string[]): Promise<Orphan[]> {
  const orphans: Orphan[] = []
  for (const store of stores.all()) {
    if (only !== undefined && !only.includes(store.id)) continue
    // Listed before the registry is read: data written after the listing cannot look orphaned.
    const present = await store.run<string[]>({ op: 'list' })
    const held = await imagesHeldIn(sql, store.id)
    for (const id of present) {
      if (isUuid(id) && !held.has(id)) orphans.push({ store: store.id, imageId: id })
    }
  }
  return orphans
}

/** Removes the orphans' data; resolves the ones that could not be removed, with why. */
export async function removeOrphans (stores: StoreSet, orphans: Orphan[]): Promise<Array<Orphan & { error: string }>> {
  const failed: Array<Orphan & { error: string }> = []
  for (const o of orphans) {
    await stores.get(o.store)!.run({ op: 'purge', imageId: o.imageId }).catch((err: Error) => {
      failed.push({ ...o, error: err.message })
    })
  }
  return failed
}
