// A store worker thread: one per thread of its store's piscina pool, holding that store's
// backend (for RBD: one rados connection for the thread's whole life). Each task is one
// whole upload, download or delete; uploads and downloads stream over their own MessagePort.

import { workerData } from 'piscina'
import type { MessagePort } from 'node:worker_threads'
import { open } from 'node:fs/promises'
import { fileBackend } from './backends/file.js'
import { rbdBackend } from './backends/rbd.js'
import { httpBackend } from './backends/http.js'
import { storeError, type Backend } from './backends/backend.js'
import { StreamDigest } from './hashing.js'
import {
  serializeError, type TaskOutcome, type DownloadControl, type DownloadTask, type StoreTask, type UploadMessage,
  type StoredImage, type UploadTask, type WorkerInit, type CacheTask
} from './protocol.js'

const init = workerData as WorkerInit
const backend: Backend = init.store.type === 'rbd'
  ? rbdBackend(init.store.rbd!)
  : init.store.type === 'http' ? httpBackend(init.store.http!.filtering) : fileBackend(init.store.file!)

/** Errors lose their `code` when piscina clones them across threads, so they travel as values. */
export default async function run (task: StoreTask): Promise<TaskOutcome> {
  try {
    return { ok: true, value: await perform(task) }
  } catch (err) {
    return { ok: false, error: serializeError(err) }
  }
}

async function perform (task: StoreTask): Promise<unknown> {
  switch (task.op) {
    case 'upload': return await upload(task)
    case 'download': return await download(task)
    case 'delete': return await backend.remove(task.imageId, task.url)
    case 'purge': return await backend.purge(task.imageId)
    case 'list': return await backend.list()
    case 'cache': return await copyToFile(task)
    case 'stat': {
      const reader = await backend.openReader(task.imageId, task.url)
      await reader.close()
      return { size: reader.size }
    }
  }
}

/**
 * Receives the upload's chunks in order, computes md5 over each (in order, on this thread;
 * sha512 runs meanwhile in a hasher thread), writes it (several writes in flight), and
 * acknowledges each chunk once written so the main thread can reuse its buffer.
 */
async function upload (task: UploadTask): Promise<StoredImage> {
  const port = task.port
  let writer
  try {
    writer = await backend.createWriter(task.imageId, task.declaredSize)
  } catch (err) {
    port.close()
    throw err
  }
  const md5 = new StreamDigest('md5')
  const writes = new Set<Promise<void>>()
  let offset = 0
  let failure: unknown

  return await new Promise<StoredImage>((resolve, reject) => {
    const fail = async (err: unknown): Promise<void> => {
      port.close()
      await Promise.allSettled(writes)
      await writer.abort()
      reject(err)
    }
    port.on('message', (message: UploadMessage) => {
      if (message.type === 'chunk') {
        if (failure !== undefined) return
        const bytes = new Uint8Array(message.buffer, 0, message.length)
        md5.update(bytes)
        const seq = message.seq
        const write = writer.write(bytes, offset).then(
          () => { if (failure === undefined) port.postMessage({ type: 'ack', seq }) },
          (err) => {
            if (failure !== undefined) return
            failure = err
            port.postMessage({ type: 'failed', error: serializeError(err) })
          })
        offset += message.length
        writes.add(write)
        void write.finally(() => writes.delete(write))
      } else if (message.type === 'end') {
        void (async () => {
          await Promise.allSettled(writes)
          if (failure !== undefined) { await fail(failure); return }
          try {
            const location = await writer.commit(md5.size)
            port.close()
            resolve({ size: md5.size, checksum: md5.hex(), ...location })
          } catch (err) {
            await fail(err)
          }
        })()
      } else {
        void fail(storeError('GLINT_ABORTED', 'upload aborted'))
      }
    })
  })
}

/**
 * Reads ahead into the buffers the main thread lends: every lent buffer has a read in
 * flight, and filled buffers are sent back strictly in order.
 */
async function download (task: DownloadTask): Promise<void> {
  const port: MessagePort = task.port
  let reader
  try {
    reader = await backend.openReader(task.imageId, task.url)
  } catch (err) {
    port.postMessage({ type: 'error', error: serializeError(err) })
    port.close()
    return
  }
  const end = task.offset + task.length
  let position = task.offset
  let stopped = false
  let inOrder: Promise<void> = Promise.resolve()
  await new Promise<void>((resolve) => {
    const finish = (): void => {
      if (stopped) return
      stopped = true
      void inOrder.finally(() => { port.close(); resolve() })
    }
    const fill = (buffer: ArrayBuffer): void => {
      if (stopped || position >= end) return
      const want = Math.min(buffer.byteLength, end - position)
      const at = position
      position += want
      const read = reader.read(new Uint8Array(buffer, 0, want), at)
      read.catch(() => {}) // handled in order below; this keeps an early failure from counting as unhandled
      inOrder = inOrder.then(async () => {
        if (stopped) return
        try {
          const n = await read
          if (n !== want) throw storeError('EIO', `short read at ${at}: ${n} of ${want} bytes`)
          port.postMessage({ type: 'data', buffer, length: n }, [buffer])
          if (at + n >= end) finish()
        } catch (err) {
          port.postMessage({ type: 'error', error: serializeError(err) })
          stopped = true
          port.close()
          resolve()
        }
      })
    }
    port.on('message', (message: DownloadControl | { type: 'start', buffers: ArrayBuffer[] }) => {
      if (message.type === 'cancel') { finish(); return }
      if (message.type === 'start') { for (const b of message.buffers) fill(b); return }
      fill(message.buffer)
    })
  }).finally(() => reader.close().catch(() => {}))
}

const CACHE_BUFFER_BYTES = 4 * 1024 * 1024

/**
 * Copies the image into `path` (the image cache's incomplete file): each buffer is read while
 * the one before is written, md5 over everything; flushed to disk before it resolves.
 */
async function copyToFile (task: CacheTask): Promise<{ size: number, checksum: string }> {
  const reader = await backend.openReader(task.imageId, task.url)
  const file = await open(task.path, 'w')
  try {
    const md5 = new StreamDigest('md5')
    const buffers = [new Uint8Array(CACHE_BUFFER_BYTES), new Uint8Array(CACHE_BUFFER_BYTES)]
    let position = 0
    let writing: Promise<unknown> = Promise.resolve()
    for (let i = 0; position < reader.size; i ^= 1) {
      const bytes = buffers[i]
      const want = Math.min(bytes.byteLength, reader.size - position)
      const n = await reader.read(bytes.subarray(0, want), position)
      if (n !== want) throw storeError('EIO', `short read at ${position}: ${n} of ${want} bytes`)
      await writing
      md5.update(bytes.subarray(0, n))
      writing = file.write(bytes, 0, n, position)
      position += n
    }
    await writing
    await file.sync()
    return { size: md5.size, checksum: md5.hex() }
  } finally {
    await file.close().catch(() => {})
    await reader.close().catch(() => {})
  }
}
