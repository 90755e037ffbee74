// The copy-image import's work, after the 202: every store at once, each copy streamed store
// to store and verified against the image's checksums; the outcome lands in the task and the
// image's import properties.

import type { AppContext } from '../context.js'
import { addLocation, findImage, type ImageRecord } from '../registry/images.js'
import { finishTask, updateImportState } from '../registry/tasks.js'
import { copyImageData } from '../stores/copy.js'
import { storeFailure } from '../stores/image-data.js'
import type { ImportRequest } from './chain.js'

export async function copyToStores (ctx: AppContext, image: ImageRecord, request: ImportRequest, taskId: string): Promise<void> {
  if (!await admitted(ctx, image, request, taskId)) return
  const source = image.locations[0]
  const from = ctx.stores.get(source.store)!
  const failures: string[] = []
  await Promise.all(request.stores.map(async (id) => {
    const to = ctx.stores.get(id)!
    try {
      const copy = await copyImageData(from, source.url, to, ctx.hashers, { id: image.id, size: image.size ?? 0, hashAlgo: image.os_hash_algo ?? ctx.config.hashingAlgorithm })
      if (copy.checksum !== image.checksum || copy.osHashValue !== image.os_hash_value) {
        await to.run({ op: 'delete', imageId: image.id, url: copy.url }).catch(() => {})
        throw Object.assign(new Error(`checksum of the copy in ${id} does not match the image`), { code: 'GLINT_COPY_MISMATCH' })
      }
      // Deleted while copying: remove the copy again.
      if (await findImage(ctx.sql, image.id) === undefined) {
        await to.run({ op: 'delete', imageId: image.id, url: copy.url }).catch(() => {})
        throw Object.assign(new Error('image deleted during the copy'), { code: 'GLINT_IMAGE_GONE' })
      }
      await addLocation(ctx.sql, image.id, { store: id, url: copy.url, metadata: { store: id } })
      await updateImportState(ctx.sql, image.id, (state) => { state.importing.delete(id) })
    } catch (err) {
      const reason = storeFailure(to, err).message
      failures.push(`${id}: ${reason}`)
      ctx.log.warn({ imageId: image.id, store: id, err }, 'copy-image to store failed')
      await updateImportState(ctx.sql, image.id, (state) => { state.importing.delete(id); state.failed.add(id) }).catch(() => {})
    }
  }))
  await updateImportState(ctx.sql, image.id, () => ({ task: null })).catch(() => {})
  const ok = failures.length === 0 || !request.mustSucceed
  await finishTask(ctx.sql, taskId, ok ? 'success' : 'failure',
    failures.length === 0 ? `Copied ${Math.round((image.size ?? 0) / 1024 / 1024)} MiB` : failures.join('; '),
    ok ? { image_id: image.id } : null).catch((err) => ctx.log.error({ err, taskId }, 'could not record the task outcome'))
}

/**
 * The quota layer's checks, as Glance's assert_quota runs them: refused, the stores are no
 * longer being imported into (not marked failed), the image's import lock is dropped and
 * the task fails with the refusal's message.
 */
async function admitted (ctx: AppContext, image: ImageRecord, request: ImportRequest, taskId: string): Promise<boolean> {
  if (request.admit === undefined) return true
  try {
    await request.admit()
    return true
  } catch (err) {
    ctx.log.warn({ imageId: image.id, taskId, err: (err as Error).message }, 'copy-image refused by the unified limits')
    await updateImportState(ctx.sql, image.id, (state) => {
      for (const id of request.stores) state.importing.delete(id)
      return { task: null }
    }).catch((e) => ctx.log.error({ err: e, imageId: image.id }, 'could not undo a refused import'))
    await finishTask(ctx.sql, taskId, 'failure', (err as Error).message, null)
      .catch((e) => ctx.log.error({ err: e, taskId }, 'could not record the task outcome'))
    return false
  }
}
