// The innermost layer: each operation's reads and writes in the registry (src/registry), and
// for uploads the store session that receives the bytes (./store-upload.ts).

import { Errors } from '../errors.js'
import { findImage, insertImage, moveStatus, softDelete, updateImage, type ImageRecord } from '../registry/images.js'
import { listImages } from '../registry/list.js'
import { addMember, findMember, listMembers, removeMember, setMemberStatus } from '../registry/members.js'
import { addTag, removeTag } from '../registry/tags.js'
import { changeImportState, findTask, insertTask, listTasks, tasksOfImage, type TaskRow } from '../registry/tasks.js'
import { FORMAT_ATTRIBUTES, FORMAT_MUTABLE_STATUSES, applyPatch } from '../domain/image-patch.js'
import { MEMBER_STATUSES } from '../domain/member.js'
import { hasNul } from '../domain/storable.js'
import type { Dispatch, Op } from './chain.js'
import { storeUpload } from './store-upload.js'
import { formatLayer } from './format.js'
import { saveCredentials } from './glance-download.js'

async function reload (op: { ctx: { sql: any }, image: ImageRecord }): Promise<ImageRecord> {
  const now = await findImage(op.ctx.sql, op.image.id)
  if (now === undefined) throw Errors.imageNotFound(op.image.id)
  return now
}

/** Deactivate/reactivate: idempotent compare-and-set; if the status moved underneath, decide again. */
async function transition (op: Op<'image.deactivate' | 'image.reactivate'>, name: string, from: string, to: string): Promise<void> {
  let status = op.image.status
  while (status !== to) {
    if (status !== from) throw Errors.invalidStatusTransition(`Not allowed to ${name} image in status '${status}'`)
    if (await moveStatus(op.ctx.sql, op.image.id, [from], to)) return
    status = (await reload(op)).status
  }
}

/** Where each staged method's image comes from, and Glance's 409 when it is elsewhere. */
const IMPORT_FROM: Record<string, { status: string, refused: string }> = {
  'glance-direct': { status: 'uploading', refused: 'Image needs to be staged before \'glance-direct\' method can be used' },
  'web-download': { status: 'queued', refused: 'Image needs to be in \'queued\' state to use \'web-download\' method' },
  'glance-download': { status: 'queued', refused: 'Image needs to be in \'queued\' state to use \'glance-download\' method' }
}

/**
 * In one transaction: the image's import lock (os_glance_import_task, busted when it names a
 * task that no longer runs: missing, or finished without dropping it), the stores marked as
 * importing, the image moved to `importing` (not for copy-image; a stage still being written
 * holds its upload_gateway and is not staged yet), and the task row, `pending`, that any
 * gateway's poller then claims. A task that is running keeps the lock: a dead gateway's task
 * is taken over after its lease, so it cannot hold the lock forever.
 */
async function recordImport (op: Op<'image.import'>): Promise<TaskRow> {
  const { ctx, identity: who, image, request } = op
  const taskId = crypto.randomUUID()
  return await ctx.sql.begin(async (tx) => {
    let task: TaskRow | undefined
    await changeImportState(tx, image.id, async (state) => {
      if (state.task !== undefined) {
        const [holder] = await tx<Array<{ status: string }>>`select status from tasks where id::text = ${state.task} and not deleted`
        if (holder !== undefined && (holder.status === 'pending' || holder.status === 'processing')) throw Errors.importConflict('Image has active task')
        ctx.log.warn({ imageId: image.id, task: state.task, status: holder?.status ?? 'missing' }, 'import lock of a task that no longer runs: busted')
      }
      const from = IMPORT_FROM[request.method]
      if (from !== undefined) {
        const moved = await tx`update images set status = 'importing', updated_at = now()
          where id = ${image.id} and not deleted and status = ${from.status} and upload_gateway is null`
        if (moved.count !== 1) throw Errors.importConflict(from.refused)
      }
      for (const id of request.stores) { state.importing.add(id); state.failed.delete(id) }
      task = await insertTask(tx, {
        id: taskId,
        // Glance: the task belongs to the caller's project (ctxt.owner)
        owner: who.projectId ?? image.owner ?? '',
        image_id: image.id,
        request_id: op.requestId,
        user_id: who.userId,
        input: { image_id: image.id, import_req: request.body, backend: request.stores }
      })
      if (request.credentials !== undefined) await saveCredentials(tx, taskId, request.credentials)
      return { task: taskId }
    })
    return task!
  })
}

export const registry: Dispatch = async (op) => {
  const { ctx, identity: who } = op
  const sql = ctx.sql
  switch (op.kind) {
    case 'image.create':
      try {
        await insertImage(sql, op.input)
      } catch (err) {
        if ((err as { code?: string }).code === '23505') throw Errors.imageExists(op.input.id)
        throw err
      }
      return (await findImage(sql, op.input.id))!
    case 'image.show': return op.image
    case 'image.list': {
      const list = async (): Promise<Awaited<ReturnType<typeof listImages>>> => await listImages(sql, op.query, who)
      if (ctx.reads === undefined) return await list()
      // what the query sees depends on the caller's project and adminship only
      return await ctx.reads.get(`list\n${who.isAdmin}\n${who.projectId}\n${JSON.stringify(op.query)}`, list)
    }
    case 'image.update': {
      // Glance saves nothing for an empty patch
      if (op.changes.length === 0) return op.image
      const save = applyPatch(op.image, op.changes, ctx.config)
      const formats = Object.keys(save.columns).filter((name) => FORMAT_ATTRIBUTES.has(name))
      if (formats.length > 0) save.whileStatus = FORMAT_MUTABLE_STATUSES
      if (op.locations !== undefined) {
        save.locations = op.locations.save
        Object.assign(save.columns, op.locations.columns)
      }
      if (!await updateImage(sql, op.image.id, save)) {
        // Deleted meanwhile, or data arrived and fixed the formats, or the locations moved on
        await reload(op)
        if (op.locations !== undefined) throw Errors.locationsMoved()
        throw Errors.formatLocked(formats[0])
      }
      return await reload(op)
    }
    case 'image.delete': await softDelete(sql, op.image.id); return
    // the format layer inspects the bytes on their way into the store session
    case 'image.upload': return await formatLayer(storeUpload)(op.upload)
    case 'image.download': return { image: op.image, sent: () => {} }
    case 'image.deactivate': return await transition(op, 'deactivate', 'active', 'deactivated')
    case 'image.reactivate': return await transition(op, 'reactivate', 'deactivated', 'active')
    case 'image.import': return { task: await recordImport(op) }
    case 'image.tasks': return await tasksOfImage(sql, op.image.id)
    case 'tag.add': {
      const limit = op.limit ?? -1
      const result = await addTag(sql, op.image.id, op.tag, limit)
      if (result.outcome === 'gone') throw Errors.imageNotFound(op.image.id)
      if (result.outcome === 'over-quota') throw Errors.tooManyTags(result.attempted, limit)
      return
    }
    case 'tag.delete': {
      // No stored tag holds a NUL: the registry could not even compare one
      const result = hasNul(op.tag) ? 'absent' : await removeTag(sql, op.image.id, op.tag)
      if (result === 'gone') throw Errors.imageNotFound(op.image.id)
      if (result === 'absent') throw Errors.tagNotFound(op.tag)
      return
    }
    case 'member.list': return await listMembers(sql, op.image, who)
    case 'member.show': {
      // a NUL can be in no member id (PostgreSQL refuses it in text)
      const row = hasNul(op.member) ? undefined : await findMember(sql, op.image, op.member, who)
      if (row === undefined) throw Errors.memberNotFound(op.member, op.image.id)
      return row
    }
    case 'member.create': return await addMember(sql, op.image.id, op.member, op.limit ?? -1)
    case 'member.update': {
      if (hasNul(op.member) || await findMember(sql, op.image, op.member, who) === undefined) throw Errors.memberNotFound(op.member, op.image.id)
      if (typeof op.status !== 'string' || !MEMBER_STATUSES.includes(op.status)) throw Errors.badMemberStatus()
      const row = await setMemberStatus(sql, op.image.id, op.member, op.status)
      if (row === undefined) throw Errors.memberNotFound(op.member, op.image.id)
      return row
    }
    case 'member.delete':
      if (hasNul(op.member) || !await removeMember(sql, op.image.id, op.member)) throw Errors.memberNotFound(op.member, op.image.id)
      return
    // a non-admin sees its own project's tasks only (Glance's task repo)
    case 'task.list': return await listTasks(sql, who.isAdmin ? op.query : { ...op.query, owner: who.projectId ?? '' })
    case 'task.show': {
      const task = await findTask(sql, op.taskId)
      if (task === undefined || (!who.isAdmin && task.owner !== who.projectId)) throw Errors.taskNotFound(op.taskId)
      return task
    }
    case 'store.delete': case 'stores.detail': return
  }
}
