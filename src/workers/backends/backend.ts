// What a store's worker needs from its storage: write one image, read one image, remove one.
// Implementations: file.ts (a directory) and rbd.ts (a Ceph pool through the native addon).

export interface ImageWriter {
  /** Writes at `offset`. Several writes may be in flight; the caller keeps `bytes` alive until it settles. */
  write (bytes: Uint8Array, offset: number): Promise<void>
  /** All bytes written: make them durable and visible; returns the location. */
  commit (size: number): Promise<{ url: string, metadata: Record<string, unknown> }>
  /** Something failed: remove every trace of the partial image. */
  abort (): Promise<void>
}

export interface ImageReader {
  readonly size: number
  /** Reads up to bytes.byteLength at `offset`; resolves the byte count (0 at the end). */
  read (bytes: Uint8Array, offset: number): Promise<number>
  close (): Promise<void>
}

export interface Backend {
  createWriter (imageId: string, declaredSize: number): Promise<ImageWriter>
  openReader (imageId: string, url: string): Promise<ImageReader>
  /** Removes the image's data; an image already gone is not an error. */
  remove (imageId: string, url: string): Promise<void>
  /** Removes all the store holds for the image, partial uploads included (crash recovery). */
  purge (imageId: string): Promise<void>
  /** The ids of the images the store holds data for, partial uploads included. */
  list (): Promise<string[]>
  close (): Promise<void>
}

/** A storage error whose `code` the main thread maps onto an HTTP answer. */
export function storeError (code: string, message: string): Error {
  return Object.assign(new Error(message), { code })
}

export function isAllZero (bytes: Uint8Array, zeros: Uint8Array): boolean {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).equals(zeros.subarray(0, bytes.byteLength))
}
