// Messages between the main thread and a store worker. Each upload or download is one
// long-lived piscina task fed over its own MessagePort (piscina has no worker affinity, so
// per-upload state cannot live in a worker across tasks). Upload chunks are shared
// (SharedArrayBuffer, read by the store worker and a hasher thread at once), download
// buffers are transferred; neither is ever copied, and both are reused.

import type { MessagePort } from 'node:worker_threads'
import type { StoreConfig } from '../config/load.js'

export interface WorkerInit { store: StoreConfig }

export interface UploadTask { op: 'upload', port: MessagePort, imageId: string, declaredSize: number }
export interface DownloadTask { op: 'download', port: MessagePort, imageId: string, url: string, offset: number, length: number }
export interface DeleteTask { op: 'delete', imageId: string, url: string }
/** Every piece of data the store holds for the image, finished or partial (crash recovery). */
export interface PurgeTask { op: 'purge', imageId: string }
/** The ids of every image the store holds data for, finished or partial. */
export interface ListTask { op: 'list' }
/** Copies the whole image into a local file (the image cache); resolves its size and md5. */
export interface CacheTask { op: 'cache', imageId: string, url: string, path: string }
/** Is the data at `url` there, and how big is it (glint adopt checks a Glance's locations with it) */
export interface StatTask { op: 'stat', imageId: string, url: string }
export type StoreTask = UploadTask | DownloadTask | DeleteTask | PurgeTask | ListTask | CacheTask | StatTask

/** What the store worker returns for an upload: md5 and size it computed, where the data lives. */
export interface StoredImage { size: number, checksum: string, url: string, metadata: Record<string, unknown> }

/** An upload's complete outcome: the stored image plus the sha512 from the hasher thread. */
export interface UploadResult extends StoredImage { osHashAlgo: string, osHashValue: string }

/** main → worker during an upload */
export type UploadMessage =
  | { type: 'chunk', seq: number, buffer: SharedArrayBuffer, length: number }
  | { type: 'end' }
  | { type: 'abort' }

/** worker → main during an upload: chunk `seq` written (and hashed), or the store failed */
export type UploadReply = { type: 'ack', seq: number } | { type: 'failed', error: SerializedError }

/** worker → main during a download */
export type DownloadMessage = { type: 'data', buffer: ArrayBuffer, length: number } | { type: 'error', error: SerializedError }

/** main → worker during a download: a buffer sent to the client, free to refill; or stop */
export type DownloadControl = { type: 'ack', buffer: ArrayBuffer } | { type: 'cancel' }

export type TaskOutcome = { ok: true, value: unknown } | { ok: false, error: SerializedError }

/** Errors cross the thread boundary as plain objects; `code` drives the HTTP answer. */
export interface SerializedError { message: string, code?: string }

export function serializeError (err: unknown): SerializedError {
  const e = err as { message?: string, code?: string }
  return { message: e?.message ?? String(err), code: e?.code }
}

/** The error a SerializedError stands for, on this side of the thread boundary. */
/** `fromWorker` tells a store's ECONNREFUSED or ETIMEDOUT from the registry connection's. */
export function deserializeError (error: SerializedError): Error & { code?: string, fromWorker: true } {
  return Object.assign(new Error(error.message), { code: error.code, fromWorker: true as const })
}

/** A worker task's value, or its error thrown again here. */
export function unwrapOutcome<T> (outcome: TaskOutcome): T {
  if (!outcome.ok) throw deserializeError(outcome.error)
  return outcome.value as T
}
