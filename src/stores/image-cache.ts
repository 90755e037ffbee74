// The image cache (Glance's image_cache_dir): whole images kept on this node's disk and
// served from there instead of the store. An image is cached after it was served once, or
// when an admin queues it (PUT /v2/cache/{id}); a background prefetcher copies queued
// images one at a time: an image just served at once (Glance tees that first download into
// the cache), an image an admin queued at the prefetcher's next run, every
// cache_prefetcher_interval seconds, as Glance's periodic prefetcher does. The copy is made by the image's store worker into incomplete/,
// checked against the image's size and md5, flushed, and only then moved into place, so a
// partial copy is never served. A cached copy is served only while its recorded checksum is
// the image's and the file still has the image's size. The cache is pruned to
// image_cache_max_size, least recently used first; incomplete copies older than
// image_cache_stall_time are removed.
//
// Layout, as Glance's: <dir>/<id> (data), <dir>/incomplete/<id>, <dir>/queue/<id> (empty
// files: the queue survives a restart), and Glint's <dir>/meta/<id>.json (checksum, hits,
// times; Glance keeps these in sqlite or xattrs).

import { mkdirSync, readdirSync, readFileSync, statSync, rmSync } from 'node:fs'
import { rename, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { Logger } from 'pino'
import type { Sql } from 'postgres'
import { findImage, type ImageRecord } from '../registry/images.js'
import { createStores, type Store, type StoreSet } from './stores.js'
import { cacheStats } from '../metrics/registry.js'

export interface ImageCacheConfig { dir: string, maxSize: number, stallTimeSec: number, prefetchIntervalSec: number }

export interface CachedImage { image_id: string, hits: number, last_accessed: number, last_modified: number, size: number }

interface Entry { checksum: string, size: number, hits: number, lastAccessed: number, lastModified: number }

export interface ImageCache {
  /** The store that serves cached copies, and the URL of this image's copy; undefined when it is not (validly) cached. */
  lookup: (image: ImageRecord) => Promise<{ store: Store, url: string } | undefined>
  /** A whole image was served from a store: cache it in the background. */
  served: (image: ImageRecord) => void
  /** Queues an image for the prefetcher's next run (PUT /v2/cache/{id}). */
  queue: (id: string) => Promise<void>
  list: () => { cached_images: CachedImage[], queued_images: string[] }
  /** Removes the image's cached copy (and its queue entry). */
  remove: (id: string) => Promise<void>
  clear: (target: 'cache' | 'queue' | 'both') => Promise<void>
  /** Resolves once the prefetcher has nothing queued (tests, shutdown). */
  idle: () => Promise<void>
  close: () => Promise<void>
}

const META_FLUSH_MS = 5000

export function openImageCache (config: ImageCacheConfig, deps: { sql: Sql, stores: StoreSet, log: Logger }): ImageCache {
  const { dir } = config
  const incompleteDir = join(dir, 'incomplete')
  const queueDir = join(dir, 'queue')
  const metaDir = join(dir, 'meta')
  for (const d of [dir, incompleteDir, queueDir, metaDir]) mkdirSync(d, { recursive: true })
  // Nothing writes into incomplete/ before this process does: what is there was cut short.
  for (const name of readdirSync(incompleteDir)) rmSync(join(incompleteDir, name), { force: true })

  const dataPath = (id: string): string => join(dir, id)
  const metaPath = (id: string): string => join(metaDir, `${id}.json`)
  const entries = loadEntries()
  const queued = new Set(readdirSync(queueDir))
  /** The queued images the prefetcher may copy now (the rest wait for its next run). */
  const due = new Set<string>()
  const dirty = new Set<string>()
  let flushTimer: NodeJS.Timeout | undefined
  let working: Promise<void> | undefined
  let closed = false
  const cacheStore = createStores([{
    id: 'image-cache', type: 'file', weight: 0,
    file: { dir, chunkSize: 4 * 1024 * 1024, thin: false, directIo: false }
  }], 'image-cache')
  const store = cacheStore.default
  const lookups = cacheStats('image')

  function loadEntries (): Map<string, Entry> {
    const found = new Map<string, Entry>()
    for (const name of readdirSync(metaDir)) {
      const id = name.replace(/\.json$/, '')
      try {
        const entry = JSON.parse(readFileSync(join(metaDir, name), 'utf8')) as Entry
        if (statSync(dataPath(id)).size === entry.size) { found.set(id, entry); continue }
      } catch {}
      // a copy without its record, or of the wrong size: not trusted
      rmSync(join(metaDir, name), { force: true })
      rmSync(dataPath(id), { force: true })
    }
    return found
  }

  const persist = (id: string): void => {
    dirty.add(id)
    flushTimer ??= setTimeout(() => { void flushMeta() }, META_FLUSH_MS).unref()
  }
  async function flushMeta (): Promise<void> {
    flushTimer = undefined
    const ids = [...dirty]
    dirty.clear()
    await Promise.all(ids.map(async (id) => {
      const entry = entries.get(id)
      if (entry !== undefined) await writeFile(metaPath(id), JSON.stringify(entry)).catch(() => {})
    }))
  }

  async function drop (id: string): Promise<void> {
    entries.delete(id)
    dirty.delete(id)
    await rm(metaPath(id), { force: true })
    await rm(dataPath(id), { force: true })
  }

  /** Least recently used first, until the cache fits its size limit. */
  async function prune (): Promise<void> {
    let total = 0
    for (const e of entries.values()) total += e.size
    if (total <= config.maxSize) return
    const byAge = [...entries].sort((a, b) => a[1].lastAccessed - b[1].lastAccessed)
    for (const [id, e] of byAge) {
      if (total <= config.maxSize) break
      await drop(id)
      total -= e.size
      deps.log.info({ image: id, size: e.size }, 'image cache: pruned')
    }
  }

  /** Copies one image into the cache from the first of its stores that can serve it. */
  async function fill (id: string): Promise<void> {
    const image = await findImage(deps.sql, id)
    if (image === undefined || image.status !== 'active' || image.checksum === null || image.size === null) return
    if (image.size > config.maxSize) return
    const cached = entries.get(id)
    if (cached !== undefined && cached.checksum === image.checksum) return
    const partial = join(incompleteDir, id)
    for (const location of image.locations) {
      const source = deps.stores.get(location.store)
      if (source === undefined) continue
      try {
        const copy = await source.run<{ size: number, checksum: string }>({ op: 'cache', imageId: id, url: location.url, path: partial })
        if (copy.size !== image.size || copy.checksum !== image.checksum) {
          throw new Error(`copy has size ${copy.size} and md5 ${copy.checksum}, the image ${image.size} and ${image.checksum}`)
        }
        const now = Date.now() / 1000
        const entry: Entry = { checksum: copy.checksum, size: copy.size, hits: 0, lastAccessed: now, lastModified: now }
        await writeFile(metaPath(id), JSON.stringify(entry))
        await rename(partial, dataPath(id))
        entries.set(id, entry)
        deps.log.info({ image: id, store: source.id, size: copy.size }, 'image cache: cached')
        await prune()
        return
      } catch (err) {
        await rm(partial, { force: true })
        deps.log.warn({ image: id, store: source.id, err }, 'image cache: copy failed')
      }
    }
  }

  /** The prefetcher: works through the queue one image at a time. */
  function work (): void {
    if (working !== undefined || closed) return
    working = (async () => {
      while (!closed) {
        const id = due.values().next().value
        if (id === undefined) break
        try {
          await fill(id)
        } catch (err) {
          deps.log.warn({ image: id, err }, 'image cache: prefetch failed')
        }
        due.delete(id)
        queued.delete(id)
        await rm(join(queueDir, id), { force: true })
      }
    })().finally(() => { working = undefined; if (due.size > 0 && !closed) work() })
  }

  const prefetcher = setInterval(() => {
    for (const id of queued) due.add(id)
    work()
  }, config.prefetchIntervalSec * 1000).unref()

  // Incomplete copies that stopped growing for image_cache_stall_time (a store that hangs).
  const cleaner = setInterval(() => {
    const limit = Date.now() - config.stallTimeSec * 1000
    for (const name of readdirSync(incompleteDir)) {
      const path = join(incompleteDir, name)
      try { if (statSync(path).mtimeMs < limit) rmSync(path, { force: true }) } catch {}
    }
  }, Math.min(config.stallTimeSec, 600) * 1000).unref()

  /** The image's cache entry if its copy may be served: same checksum and size as the image, file whole. */
  async function validEntry (image: ImageRecord): Promise<Entry | undefined> {
    const entry = entries.get(image.id)
    if (entry === undefined) return undefined
    if (entry.checksum !== image.checksum || entry.size !== image.size) {
      await drop(image.id)
      return undefined
    }
    // cut short behind Glint's back (a full disk, a person): not served, and forgotten
    const size = await stat(dataPath(image.id)).then((s) => s.size, () => -1)
    if (size !== entry.size) {
      deps.log.warn({ image: image.id, size, expected: entry.size }, 'image cache: copy has the wrong size, removed')
      await drop(image.id)
      return undefined
    }
    return entry
  }

  /** Queues an image; `now`: the prefetcher copies it at once rather than at its next run. */
  async function enqueue (id: string, now: boolean): Promise<void> {
    if (!queued.has(id)) {
      queued.add(id)
      await writeFile(join(queueDir, id), '')
    }
    if (now) { due.add(id); work() }
  }

  return {
    async lookup (image) {
      const found = await validEntry(image)
      if (found === undefined) { lookups.misses++; return undefined }
      lookups.hits++
      found.hits++
      found.lastAccessed = Date.now() / 1000
      persist(image.id)
      return { store, url: pathToFileURL(dataPath(image.id)).href }
    },
    served (image) {
      if (closed || entries.has(image.id) || queued.has(image.id)) return
      enqueue(image.id, true).catch((err) => deps.log.warn({ image: image.id, err }, 'image cache: cannot queue'))
    },
    queue: async (id) => await enqueue(id, false),
    list: () => ({
      cached_images: [...entries].map(([id, e]) => ({ image_id: id, hits: e.hits, last_accessed: e.lastAccessed, last_modified: e.lastModified, size: e.size })),
      queued_images: [...queued]
    }),
    async remove (id) {
      queued.delete(id)
      due.delete(id)
      await rm(join(queueDir, id), { force: true })
      await drop(id)
    },
    async clear (target) {
      if (target !== 'cache') {
        const ids = [...queued]
        queued.clear()
        due.clear()
        await Promise.all(ids.map(async (id) => await rm(join(queueDir, id), { force: true })))
      }
      if (target !== 'queue') for (const id of [...entries.keys()]) await drop(id)
    },
    async idle () {
      while (working !== undefined) await working
    },
    async close () {
      closed = true
      clearInterval(cleaner)
      clearInterval(prefetcher)
      clearTimeout(flushTimer)
      await flushMeta()
      // a copy under way is cut short with its store's pool; incomplete/ is emptied at the next start
      await cacheStore.close()
    }
  }
}
