// glint adopt: a Glance's images, properties, tags, members, locations and tasks taken into
// Glint's registry, the data left where it is. Reads Glance's database read-only, plans
// (plan.ts), checks that every location's data is there with the image's size (through the
// store workers Glint itself reads with), then, unless it is a dry run, writes each image in
// one transaction. Running it again takes only what is new.

import type { Config } from '../config/load.js'
import { openRegistry } from '../registry/connect.js'
import { insertAdoptedImage, insertAdoptedTask, knownImageIds } from '../registry/adopted.js'
import { createStores } from '../stores/stores.js'
import { readGlance, type GlanceTask } from './glance-db.js'
import { planAdoption, type Decision } from './plan.js'

export interface AdoptOptions {
  glanceConnection: string
  apply: boolean
  storeMap: Record<string, string>
  /** check each location's data through the stores (default true) */
  verifyData: boolean
}

export interface AdoptReport {
  decisions: Decision[]
  tasks: { take: GlanceTask[], present: number }
  /** with apply: images and tasks written */
  written: { images: number, tasks: number }
}

const VERIFY_CONCURRENCY = 8

export async function adopt (config: Config, opts: AdoptOptions): Promise<AdoptReport> {
  const glance = await readGlance(opts.glanceConnection)
  const registry = await openRegistry({ url: config.databaseUrl, poolSize: 4, dataDir: config.dataDir })
  try {
    const sql = registry.sql
    const present = await knownImageIds(sql, glance.images.map((i) => i.id))
    const decisions = planAdoption({ images: glance.images, stores: config.stores, storeMap: opts.storeMap, present })
    if (opts.verifyData) await verifyData(config, decisions)

    const knownTasks = new Set((await sql<Array<{ id: string }>>`select id::text as id from tasks`).map((r) => r.id))
    const tasks = glance.tasks.filter((t) => !knownTasks.has(t.id))
    const written = { images: 0, tasks: 0 }
    if (opts.apply) {
      for (const d of decisions) {
        if (d.action !== 'take') continue
        const i = d.image
        const updated = i.updated_at ?? i.created_at
        const ok = await insertAdoptedImage(sql, {
          id: i.id,
          columns: {
            name: i.name, status: i.status, visibility: i.visibility, size: i.size, virtual_size: i.virtual_size,
            checksum: i.checksum, os_hash_algo: i.os_hash_algo, os_hash_value: i.os_hash_value, disk_format: i.disk_format,
            container_format: i.container_format, min_disk: i.min_disk, min_ram: i.min_ram, protected: i.protected,
            os_hidden: i.os_hidden, owner: i.owner, created_at: i.created_at, updated_at: updated
          },
          properties: i.properties,
          tags: i.tags,
          members: i.members.map((m) => ({ member: m.member, status: m.status, created_at: m.created_at, updated_at: m.updated_at ?? m.created_at })),
          locations: d.locations
        })
        if (ok) written.images++
        else { d.action = 'present'; d.reason = 'already in Glint' }
      }
      for (const t of tasks) {
        if (await insertAdoptedTask(sql, { ...t, updated_at: t.updated_at ?? t.created_at })) written.tasks++
      }
    }
    return { decisions, tasks: { take: tasks, present: glance.tasks.length - tasks.length }, written }
  } finally {
    await registry.close()
  }
}

/** Every location to take must hold the image's data (size as recorded) in its Glint store. */
async function verifyData (config: Config, decisions: Decision[]): Promise<void> {
  const checks = decisions.filter((d) => d.action === 'take' && d.locations.length > 0)
  if (checks.length === 0) return
  const stores = createStores(config.stores.filter((s) => checks.some((d) => d.locations.some((l) => l.store === s.id))), checks[0].locations[0].store)
  try {
    const queue = [...checks]
    await Promise.all(Array.from({ length: VERIFY_CONCURRENCY }, async () => {
      for (let d = queue.shift(); d !== undefined; d = queue.shift()) {
        for (const l of d.locations) {
          try {
            const { size } = await stores.get(l.store)!.run<{ size: number }>({ op: 'stat', imageId: d.image.id, url: l.url })
            if (d.image.size !== null && size !== d.image.size) {
              d.action = 'cannot'
              d.reason = `the data at ${l.url} is ${size} bytes, the image ${d.image.size}`
            }
          } catch (err) {
            d.action = 'cannot'
            d.reason = `no readable data at ${l.url} in store '${l.store}': ${(err as Error).message}`
          }
          if (d.action === 'cannot') break
        }
      }
    }))
  } finally {
    await stores.close()
  }
}
