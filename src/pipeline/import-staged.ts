// glance-direct, web-download and glance-download: the image's data in the staging store
// (staged by PUT .../stage, or downloaded by the task first; glance-download reads the source
// image's record first, src/pipeline/glance-download.ts) is streamed into every target store at once,
// each copy hashed on its way in; the copies must agree. Then, in the transaction that ends
// the task: the locations, the image `active` with its size and hashes (when every store
// succeeded, or at least one did and all_stores_must_succeed is false), or else the image back
// to `queued` and the copies removed. The staged file is deleted after, either way.
//
// Staging on one gateway and importing through another works when the gateways share the
// staging directory ([os_glance_staging_store] filesystem_store_datadir on shared storage):
// the staged file is found by the image id there, whichever gateway runs the task.
//
// With the image_conversion plugin on, the staged image is converted first (Glance's checks,
// src/stores/conversion.ts) into a file beside the staged one, which the copies then read:
// the original stays untouched until the task ends, so a gateway that takes the task over
// converts again from it.

import { rm, stat } from 'node:fs/promises'
import { pathToFileURL } from 'node:url'
import { join } from 'node:path'
import { addLocation, findImage, type ImageRecord } from '../registry/images.js'
import { changeImportState, type TaskRow } from '../registry/tasks.js'
import { ConversionError, convertStaged } from '../stores/conversion.js'
import { copyImageData } from '../stores/copy.js'
import { storeFailure } from '../stores/image-data.js'
import type { UploadResult } from '../workers/protocol.js'
import { admitImport } from './quota.js'
import { dropLock, failImport, finishIn, MiB, purgeLeftovers, TaskLost, whileHeld, type ImportJob } from './import-job.js'
import { downloadToStaging, type Staged } from './web-download.js'
import { asRemote, copyProperties, remoteImage, RemoteImageError, type RemoteImage } from './glance-download.js'

export async function importStaged (job: ImportJob): Promise<TaskRow> {
  const { ctx, task } = job
  const staging = ctx.stores.staging!
  const stagedPath = join(staging.config.file!.dir, task.image_id)
  const stagedUrl = pathToFileURL(stagedPath).href
  const conversion = ctx.config.imageConversion
  const convertedPath = conversion !== undefined ? `${stagedPath}.${conversion.outputFormat}` : undefined
  const removeStaged = async (): Promise<void> => {
    if (convertedPath !== undefined) await rm(convertedPath, { force: true })
    await staging.run({ op: 'delete', imageId: task.image_id, url: stagedUrl }).catch((err) => {
      if ((err as { code?: string }).code !== 'ENOENT') ctx.log.warn({ err, imageId: task.image_id }, 'could not remove the staged data')
    })
  }
  const fail = async (message: string, failed: string[]): Promise<TaskRow> => {
    const finished = await failImport(job, message, failed)
    await removeStaged()
    return finished
  }

  const found = await findImage(ctx.sql, task.image_id)
  if (found === undefined) return await fail('Image has been deleted, aborting import.', [])
  if (found.status !== 'importing') return await fail(`Image ${found.id} is ${found.status}, not importing`, job.stores)
  try {
    await admitImport(ctx, task.owner, job.method, found)
  } catch (err) {
    return await fail((err as Error).message, [])
  }

  let staged: Staged = { size: found.size ?? 0, virtualSize: found.virtual_size }
  let described: ImageRecord = found
  let remote: RemoteImage | undefined
  if (job.method === 'web-download' || job.method === 'glance-download') {
    if (job.takeover) await purgeLeftovers(job, [staging.id])
    let uri = String(task.input?.import_req?.method?.uri ?? '')
    try {
      if (job.method === 'glance-download') {
        remote = await remoteImage(job)
        uri = remote.fileUrl
        // the data is inspected (and stored) as the source's formats say
        described = asRemote(found, remote)
      }
      staged = await downloadToStaging(job, described, uri, remote?.headers)
    } catch (err) {
      if (err instanceof TaskLost) throw err
      // Glance's download revert: every store failed, nothing was staged
      if (err instanceof RemoteImageError) return await fail(err.message, job.stores)
      return await fail(`Failed to download ${uri}: ${(err as Error).message}`, job.stores)
    }
  }
  const image = described
  if (job.takeover) await purgeLeftovers(job, job.stores)

  let source = { url: stagedUrl, diskFormat: image.disk_format }
  if (conversion !== undefined) {
    try {
      const converted = await convertStaged(stagedPath, image.disk_format ?? '', {
        outputFormat: conversion.outputFormat,
        vmdkAllowedTypes: ctx.config.imageFormat.vmdkAllowedTypes,
        maxVirtualSize: ctx.config.imageSizeCap
      })
      if (converted.converted) {
        source = { url: pathToFileURL(converted.path).href, diskFormat: converted.diskFormat }
        staged = { size: (await stat(converted.path)).size, virtualSize: converted.virtualSize }
      } else staged = { ...staged, virtualSize: converted.virtualSize }
    } catch (err) {
      if (!(err instanceof ConversionError)) throw err
      return await fail(`Image conversion failed: ${err.message}`, job.stores)
    }
  }

  const copies = await Promise.allSettled(job.stores.map(async (id) => {
    const to = ctx.stores.get(id)
    if (to === undefined) throw new Error(`store ${id} is not configured on this gateway`)
    try {
      return await copyImageData(staging, source.url, to, ctx.hashers, { id: image.id, size: staged.size, hashAlgo: image.os_hash_algo ?? ctx.config.hashingAlgorithm })
    } catch (err) {
      throw new Error(storeFailure(to, err).message)
    }
  }))
  const landed: Array<{ store: string, copy: UploadResult }> = []
  const failures: Array<{ store: string, reason: string }> = []
  copies.forEach((c, i) => {
    if (c.status === 'fulfilled') landed.push({ store: job.stores[i], copy: c.value })
    else failures.push({ store: job.stores[i], reason: (c.reason as Error).message })
  })
  // every copy read the same staged bytes: one that hashed otherwise is not kept
  const reference = landed[0]?.copy
  for (const l of landed.slice(1)) {
    if (l.copy.checksum !== reference!.checksum || l.copy.osHashValue !== reference!.osHashValue) failures.push({ store: l.store, reason: 'the copy does not match the others' })
  }
  const kept = landed.filter((l) => !failures.some((f) => f.store === l.store))
  const removeCopies = async (which: typeof landed): Promise<void> => {
    await Promise.all(which.map(async (l) => await ctx.stores.get(l.store)!.run({ op: 'delete', imageId: image.id, url: l.copy.url }).catch((err) => {
      ctx.log.error({ err, imageId: image.id, store: l.store }, 'could not remove the copy of a failed import')
    })))
  }
  await removeCopies(landed.filter((l) => !kept.includes(l)))
  for (const f of failures) ctx.log.warn({ imageId: image.id, store: f.store, reason: f.reason, taskId: task.id }, `${job.method} into store failed`)

  const ok = kept.length > 0 && (failures.length === 0 || !job.mustSucceed)
  let gone = false
  let finished: TaskRow
  try {
    finished = await whileHeld(job, async (tx) => {
      gone = (await tx`select 1 from images where id = ${image.id} and not deleted for update`).length === 0
      if (gone) return await finishIn(tx, job, 'failure', 'Image has been deleted, aborting import.')
      if (ok) await activate(tx, image, kept, staged, source.diskFormat, remote)
      else {
        await tx`update images set status = 'queued', size = null, virtual_size = null, updated_at = now()
          where id = ${image.id} and status = 'importing'`
      }
      await changeImportState(tx, image.id, (state) => {
        for (const id of job.stores) state.importing.delete(id)
        for (const f of failures) state.failed.add(f.store)
        return dropLock(state, job)
      })
      return await finishIn(tx, job, ok ? 'success' : 'failure',
        ok ? `Copied ${Math.floor(staged.size / MiB)} MiB` : failures.map((f) => `${f.store}: ${f.reason}`).join('; '))
    })
  } catch (err) {
    // not recorded: the copies are not the image's (a takeover redoes them after a purge)
    if (!(err instanceof TaskLost)) await removeCopies(kept)
    throw err
  }
  if (!ok || gone) await removeCopies(kept)
  await removeStaged()
  return finished
}

async function activate (tx: Parameters<Parameters<typeof whileHeld>[1]>[0], image: ImageRecord,
  kept: Array<{ store: string, copy: UploadResult }>, staged: Staged, diskFormat: string | null, remote?: RemoteImage): Promise<void> {
  // a converted image is what Glance's plugin leaves: the new disk format, in a bare container
  const converted = diskFormat !== image.disk_format
  const first = kept[0].copy
  // in store order: `stores` then reads as the sorted list clients (tempest's waiter) compare with
  for (const { store, copy } of [...kept].sort((a, b) => a.store < b.store ? -1 : 1)) await addLocation(tx, image.id, { store, url: copy.url, metadata: { ...copy.metadata, store } })
  const moved = await tx`update images set status = 'active', size = ${first.size}, virtual_size = ${staged.virtualSize},
      disk_format = ${diskFormat}, container_format = ${converted ? 'bare' : image.container_format},
      checksum = ${first.checksum}, os_hash_algo = ${first.osHashAlgo}, os_hash_value = ${first.osHashValue}, updated_at = now()
    where id = ${image.id} and status = 'importing'`
  // glance-download: the source's properties, with the data they describe
  if (moved.count === 1 && remote !== undefined) await copyProperties(tx, image.id, remote)
}
