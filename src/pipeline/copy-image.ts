// The copy-image import's work, run by whichever gateway claimed its task: every store at
// once, each copy streamed store to store and verified against the image's checksums; each
// copy's location and the store's import property are recorded as it lands (while the task's
// lease is held). A takeover keeps the copies already recorded and redoes the others, after
// removing what the stopped gateway left in those stores.

import { addLocation, findImage } from '../registry/images.js'
import { changeImportState, type TaskRow } from '../registry/tasks.js'
import { copyImageData } from '../stores/copy.js'
import { storeFailure } from '../stores/image-data.js'
import { admitImport } from './quota.js'
import { orderedLocations } from '../domain/location-strategy.js'
import { dropLock, failImport, finishIn, MiB, purgeLeftovers, TaskLost, whileHeld, type ImportJob } from './import-job.js'

export async function copyImage (job: ImportJob): Promise<TaskRow> {
  const { ctx, task } = job
  const image = await findImage(ctx.sql, task.image_id)
  if (image === undefined) return await failImport(job, 'Image has been deleted, aborting import.', [])
  if (image.status !== 'active' || image.locations.length === 0) return await failImport(job, 'Only images with status active can be targeted for copying', job.stores)
  try {
    // Glance's assert_quota: refused, the stores are not marked failed
    await admitImport(ctx, task.owner, 'copy-image', image)
  } catch (err) {
    return await failImport(job, (err as Error).message, [])
  }
  const holding = new Set(image.locations.map((l) => l.store))
  const todo = job.stores.filter((id) => !holding.has(id))
  if (job.takeover) await purgeLeftovers(job, todo)
  const source = orderedLocations(image.locations, ctx.config.locationStrategy)[0]
  const from = ctx.stores.get(source.store)
  const failures: string[] = []

  const copyTo = async (id: string): Promise<void> => {
    const to = ctx.stores.get(id)
    try {
      if (from === undefined || to === undefined) throw new Error(`store ${from === undefined ? source.store : id} is not configured on this gateway`)
      const copy = await copyImageData(from, source.url, to, ctx.hashers, { id: image.id, size: image.size ?? 0, hashAlgo: image.os_hash_algo ?? ctx.config.hashingAlgorithm })
      if (copy.checksum !== image.checksum || copy.osHashValue !== image.os_hash_value) {
        await to.run({ op: 'delete', imageId: image.id, url: copy.url }).catch(() => {})
        throw Object.assign(new Error(`checksum of the copy in ${id} does not match the image`), { code: 'GLINT_COPY_MISMATCH' })
      }
      const recorded = await whileHeld(job, async (tx) => {
        // Deleted while copying: the copy is removed again
        if ((await tx`select 1 from images where id = ${image.id} and not deleted for update`).length === 0) return false
        await addLocation(tx, image.id, { store: id, url: copy.url, metadata: { store: id } })
        await changeImportState(tx, image.id, (state) => { state.importing.delete(id) })
        return true
      }).catch(async (err) => {
        // the lease is gone: whoever holds it now redoes this store (after purging it)
        if (err instanceof TaskLost) throw err
        await to.run({ op: 'delete', imageId: image.id, url: copy.url }).catch(() => {})
        throw err
      })
      if (!recorded) {
        await to.run({ op: 'delete', imageId: image.id, url: copy.url }).catch(() => {})
        throw Object.assign(new Error('image deleted during the copy'), { code: 'GLINT_IMAGE_GONE' })
      }
    } catch (err) {
      if (err instanceof TaskLost) throw err
      const reason = to === undefined ? (err as Error).message : storeFailure(to, err).message
      failures.push(`${id}: ${reason}`)
      ctx.log.warn({ imageId: image.id, store: id, err }, 'copy-image to store failed')
      await whileHeld(job, async (tx) => {
        await changeImportState(tx, image.id, (state) => { state.importing.delete(id); state.failed.add(id) })
      })
    }
  }
  const settled = await Promise.allSettled(todo.map(copyTo))
  const lost = settled.find((s) => s.status === 'rejected')
  if (lost !== undefined) throw (lost as PromiseRejectedResult).reason

  const ok = failures.length === 0 || !job.mustSucceed
  return await whileHeld(job, async (tx) => {
    await changeImportState(tx, image.id, (state) => {
      for (const id of job.stores) state.importing.delete(id)
      return dropLock(state, job)
    })
    return await finishIn(tx, job, ok ? 'success' : 'failure',
      failures.length === 0 ? `Copied ${Math.floor((image.size ?? 0) / MiB)} MiB` : failures.join('; '))
  })
}
