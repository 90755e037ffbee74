// The RBD store, with glance_store's behaviour: the RBD image is named by the image id in
// the store's pool, created with the cluster's rbd_default_features (layering alone when that
// is 0; the addon reads it) and objects of rbd_store_chunk_size;
// resized on write when the size is unknown (chunked uploads) and trimmed at the end; zero
// chunks skipped under rbd_thin_provisioning; a protected snapshot `snap` for Nova's COW
// clones; location rbd://<fsid>/<pool>/<id>/snap. Unlike glance_store, one rados connection
// per worker lives as long as the worker, and writes are pipelined (aio).

import { createRequire } from 'node:module'
import type { RbdStoreConfig } from '../../config/load.js'
import { isAllZero, storeError, type Backend, type ImageReader, type ImageWriter } from './backend.js'
import type * as Native from '../../../native/index.cjs'

type Addon = typeof Native
type Cluster = Native.Cluster
type Pool = Native.Pool
type Image = Native.Image

const SNAPSHOT = 'snap'
const MAX_RESIZE_STEP = 8 * 1024 ** 3
const DEFAULT_TIMEOUT_SEC = 10

export function loadAddon (): Addon {
  const addon = createRequire(import.meta.url)('../../../../native/index.cjs') as Addon
  if (!addon.available) {
    throw storeError('GLINT_RBD_UNAVAILABLE', `an rbd store is configured but the librbd addon is unavailable: ${addon.reason ?? 'not built'}`)
  }
  return addon
}

export function rbdBackend (config: RbdStoreConfig): Backend {
  const addon = loadAddon()
  const chunkSize = config.chunkSizeMiB * 1024 * 1024
  const order = Math.round(Math.log2(chunkSize))
  const zeros = new Uint8Array(chunkSize)
  let connecting: Promise<{ cluster: Cluster, pool: Pool }> | undefined

  /** One connection for the worker's life; after a failure the next call tries again. */
  function connection (): Promise<{ cluster: Cluster, pool: Pool }> {
    connecting ??= (async () => {
      const cluster = await addon.connect({
        conf: config.cephConf,
        user: config.user,
        keyring: config.keyring,
        timeoutSec: config.connectTimeoutSec > 0 ? config.connectTimeoutSec : DEFAULT_TIMEOUT_SEC
      })
      try {
        return { cluster, pool: await cluster.openPool(config.pool) }
      } catch (err) {
        await cluster.shutdown().catch(() => {})
        throw err
      }
    })()
    connecting.catch(() => { connecting = undefined })
    return connecting
  }

  function locationOf (fsid: string, imageId: string): string {
    return `rbd://${[fsid, config.pool, imageId, SNAPSHOT].map(encodeURIComponent).join('/')}`
  }

  async function createWriter (imageId: string, declaredSize: number): Promise<ImageWriter> {
    const { cluster, pool } = await connection()
    await pool.create(imageId, declaredSize, { order })
    let image: Image
    try {
      image = await pool.open(imageId)
    } catch (err) {
      await pool.remove(imageId).catch(() => {})
      throw err
    }
    let allocated = declaredSize
    let resizeStep = chunkSize
    let resizing: Promise<void> = Promise.resolve()
    let closed = false

    // Resize-on-write for unknown sizes: grow ahead of the writes, doubling the step up to
    // 8 GiB as glance_store does, so a long chunked upload resizes only O(log n) times.
    function ensureAllocated (end: number): Promise<void> {
      if (end <= allocated) return resizing
      const target = Math.max(end, allocated + resizeStep)
      resizeStep = Math.min(resizeStep * 2, MAX_RESIZE_STEP)
      allocated = target
      resizing = resizing.then(() => image.resize(target))
      return resizing
    }

    return {
      async write (bytes, offset) {
        if (config.thin && isAllZero(bytes, zeros)) {
          await ensureAllocated(offset + bytes.byteLength)
          return
        }
        await ensureAllocated(offset + bytes.byteLength)
        await image.write(bytes, offset)
      },
      async commit (size) {
        await resizing
        if (allocated !== size) await image.resize(size)
        await image.flush()
        await image.snapCreate(SNAPSHOT)
        await image.snapProtect(SNAPSHOT)
        closed = true
        await image.close()
        return { url: locationOf(cluster.fsid, imageId), metadata: {} }
      },
      async abort () {
        await resizing.catch(() => {})
        if (!closed) { closed = true; await image.close().catch(() => {}) }
        await removeImage(pool, imageId).catch(() => {})
      }
    }
  }

  /**
   * The image a location names: rbd://fsid/pool/image/snap (Nova's direct snapshots add
   * clones of any name, in any pool of the cluster); an rbd:// URL of another cluster is
   * GLINT_OTHER_CLUSTER, so the caller asks the next store.
   */
  async function target (imageId: string, url: string): Promise<{ pool: string, image: string, snap: string }> {
    if (!url.startsWith('rbd://')) return { pool: config.pool, image: imageId, snap: SNAPSHOT }
    const parts = url.slice('rbd://'.length).split('/').map(decodeURIComponent)
    if (parts.length !== 4 || parts.some((p) => p === '')) throw storeError('GLINT_BAD_LOCATION', `not an rbd://fsid/pool/image/snap location: ${url}`)
    const { cluster } = await connection()
    if (parts[0] !== cluster.fsid) throw storeError('GLINT_OTHER_CLUSTER', `${url} is not in cluster ${cluster.fsid}`)
    return { pool: parts[1], image: parts[2], snap: parts[3] }
  }

  async function openReader (imageId: string, url: string): Promise<ImageReader> {
    const where = await target(imageId, url)
    const { cluster, pool: own } = await connection()
    const pool = where.pool === config.pool ? own : await cluster.openPool(where.pool)
    let image: Image
    try {
      image = await pool.open(where.image, { snapshot: where.snap, readOnly: true })
    } catch (err) {
      if (pool !== own) await pool.close().catch(() => {})
      throw err
    }
    const { size } = await image.stat()
    return {
      size,
      read: async (bytes, offset) => await image.read(bytes.byteLength > size - offset ? bytes.subarray(0, Math.max(0, size - offset)) : bytes, offset),
      close: async () => {
        await image.close()
        if (pool !== own) await pool.close()
      }
    }
  }

  /** Only images of this store's pool, with glance_store's snapshot, are removed; others are left alone. */
  async function remove (imageId: string, url: string): Promise<void> {
    const where = await target(imageId, url)
    if (where.pool !== config.pool || where.snap !== SNAPSHOT) return
    const { pool } = await connection()
    await removeImage(pool, where.image)
  }

  async function close (): Promise<void> {
    if (connecting === undefined) return
    const { cluster, pool } = await connecting.catch(() => ({ cluster: undefined, pool: undefined }))
    await pool?.close().catch(() => {})
    await cluster?.shutdown().catch(() => {})
  }

  async function list (): Promise<string[]> {
    const { pool } = await connection()
    return await pool.list()
  }

  return { createWriter, openReader, remove, purge: async (imageId: string) => { await removeImage((await connection()).pool, imageId) }, list, close }
}

/**
 * Removes an RBD image and its protected snapshot. While a COW clone of the snapshot exists
 * this fails with EBUSY and touches nothing (the API answers 409 and keeps the image).
 */
async function removeImage (pool: Pool, imageId: string): Promise<void> {
  let image: Image
  try {
    image = await pool.open(imageId)
  } catch (err) {
    if ((err as { code?: string }).code !== 'ENOENT') throw err
    // Not there, or half there: a writer killed inside rbd_create leaves the image listed
    // (its id object and directory entry) without a header, which opens as ENOENT;
    // rbd_remove cleans that up, and answers ENOENT when there is nothing at all.
    await pool.remove(imageId).catch((e) => { if ((e as { code?: string }).code !== 'ENOENT') throw e })
    return
  }
  try {
    const snapshots = await image.snapList()
    if (snapshots.includes(SNAPSHOT)) {
      const atSnap = await pool.open(imageId, { snapshot: SNAPSHOT, readOnly: true })
      const children = await atSnap.listChildren().finally(() => atSnap.close())
      if (children.length > 0) {
        throw storeError('EBUSY', `image ${imageId} has ${children.length} clone(s) of its snapshot: ${children.map((c) => `${c.pool}/${c.image}`).join(', ')}`)
      }
      if (await image.snapIsProtected(SNAPSHOT)) await image.snapUnprotect(SNAPSHOT)
      await image.snapRemove(SNAPSHOT)
    }
  } finally {
    await image.close()
  }
  await pool.remove(imageId)
}
