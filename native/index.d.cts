// Types for native/index.cjs, Glint's librbd binding (found by TypeScript as index.d.cts).
//
// Every method returns a promise. Failures from librados/librbd reject with an
// RbdError (code = errno name, errno = negative rc, syscall = the method name). Calls on
// a closed or closing object reject with code 'EBADF'; closing a pool with open images,
// or shutting down a cluster with open pools, rejects with code 'EBUSY'. Bad arguments
// reject with a TypeError/RangeError (code 'ERR_INVALID_ARG_TYPE'/'ERR_OUT_OF_RANGE').

/** True when the addon loaded and was built with librbd. */
export const available: boolean
/** Why `available` is false; undefined when it is true. */
export const reason: string | undefined
/** librbd/librados versions of a working addon, else undefined. */
export const versions: { librbd: string; librados: string } | undefined

export interface ConnectOptions {
  /** Path of the cluster's ceph.conf. */
  conf: string
  /** cephx id without 'client.' (default 'admin'). */
  user?: string
  /** Keyring path; by default the one the conf names. */
  keyring?: string
  /** Sets client_mount_timeout and rados_mon_op_timeout (whole seconds, rounded up); OSD operations are not bounded by it. */
  timeoutSec?: number
}

/** One rados_t. Rejects with ERR_RBD_UNAVAILABLE when `available` is false. */
export function connect(opts: ConnectOptions): Promise<Cluster>

export interface RbdError extends Error {
  /** errno name: 'ENOENT', 'EEXIST', 'EBUSY', 'ENOTEMPTY', 'ENOSPC', 'ETIMEDOUT', 'EACCES', 'EINVAL', ... */
  code: string
  /** Negative errno, as librados/librbd returned it. */
  errno: number
  /** The method that failed: 'connect', 'open', 'snapUnprotect', ... */
  syscall: string
}

export interface Cluster {
  readonly fsid: string
  openPool(pool: string): Promise<Pool>
  /** Only after every pool is closed (else EBUSY). */
  shutdown(): Promise<void>
}

export interface Pool {
  /**
   * Format 2 image. Features: exactly `features` when given, else as glance_store creates
   * them: the cluster's rbd_default_features (ceph.conf, or Ceph's default), layering alone
   * when that is 0. Order 0 means 22.
   */
  create(name: string, size: number, opts: { order: number; features?: number }): Promise<void>
  open(name: string, opts?: { snapshot?: string; readOnly?: boolean }): Promise<Image>
  remove(name: string): Promise<void>
  /**
   * COW clone of parent@snap (snap must be protected) into child, same pool, with the
   * cluster's default features, as Nova does. order defaults to rbd_default_order (22), not the parent's.
   */
  clone(parent: string, snap: string, child: string, opts?: { order?: number }): Promise<void>
  list(): Promise<string[]>
  /** Only after every image opened from this pool is closed (else EBUSY). */
  close(): Promise<void>
}

export interface ImageStat {
  size: number
  objSize: number
  order: number
}

export interface Image {
  stat(): Promise<ImageStat>
  resize(size: number): Promise<void>
  /**
   * rbd_aio_write. `buf` is referenced until the write completes: do not modify it,
   * and do not transfer or detach its ArrayBuffer, until the promise settles.
   * A write that would extend past the end of the image (as of open/stat/resize)
   * rejects with EINVAL instead of being cut short silently, as librbd would: resize first.
   * An empty buf resolves at once.
   */
  write(buf: Uint8Array, offset: number): Promise<void>
  /**
   * rbd_aio_read into buf (up to buf.byteLength bytes); resolves the bytes read, which is
   * fewer when the read runs past the end of the image. A read starting at or past the
   * end rejects with EINVAL (librbd); an empty buf resolves 0 at once.
   */
  read(buf: Uint8Array, offset: number): Promise<number>
  flush(): Promise<void>
  snapCreate(name: string): Promise<void>
  snapProtect(name: string): Promise<void>
  snapUnprotect(name: string): Promise<void>
  snapRemove(name: string): Promise<void>
  snapIsProtected(name: string): Promise<boolean>
  snapList(): Promise<string[]>
  /**
   * Children of the snapshot this image was opened at (of all its snapshots when opened
   * at the head), rbd_list_children3; includes children in the trash.
   */
  listChildren(): Promise<Array<{ pool: string; image: string }>>
  /** Waits for calls in flight, then rbd_close. */
  close(): Promise<void>
}
