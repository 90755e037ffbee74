// The notifier layer: Glance's notifications (glance/notifier.py) for what went through the
// chain, sent by ctx.notifier (src/notifier). It sits between property protection and policy
// (chain.ts), emits after the inner layers succeeded, `image.upload`/`image.send` errors when
// they failed, and never fails an operation itself.
//
//   image.create / image.update / image.delete      format_image_notification(image)
//   image.prepare, image.upload, image.activate     around an upload
//   image.send                                      a download finished (bytes_sent, receiver)
//   image.member.create / .update / .delete         format_image_member_notification(member)
//   task.create                                     an import was accepted (format_task_notification)

import type { ImageRecord } from '../registry/images.js'
import { findImage } from '../registry/images.js'
import { findMember, type MemberRecord } from '../registry/members.js'
import type { Layer, Op, Operation } from './chain.js'
import type { UploadSink } from './lifecycle.js'
import type { TaskRow } from '../registry/tasks.js'

/** oslo.utils' isotime(): seconds, Z. */
const isotime = (d: Date | null | undefined): string | null => d == null ? null : new Date(d).toISOString().replace(/\.\d+Z$/, 'Z')

/** Glance's format_image_notification. */
export function imagePayload (image: ImageRecord, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: image.id,
    name: image.name,
    status: image.status,
    created_at: isotime(image.created_at),
    updated_at: isotime(image.updated_at),
    min_disk: image.min_disk,
    min_ram: image.min_ram,
    protected: image.protected,
    checksum: image.checksum,
    owner: image.owner,
    disk_format: image.disk_format,
    container_format: image.container_format,
    size: image.size,
    virtual_size: image.virtual_size,
    is_public: image.visibility === 'public',
    visibility: image.visibility,
    properties: { ...image.properties },
    tags: [...image.tags],
    deleted: false,
    deleted_at: null,
    ...extra
  }
}

/** Glance's format_image_member_notification. */
export function memberPayload (member: MemberRecord, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    image_id: member.image_id,
    member_id: member.member,
    status: member.status,
    created_at: isotime(member.created_at),
    updated_at: isotime(member.updated_at),
    deleted: false,
    deleted_at: null,
    ...extra
  }
}

/**
 * Glance's format_task_notification: no input (it may hold secrets), result and message
 * always null; isotime(None) is "now" in Glance, so a task not yet finished says now.
 */
export function taskPayload (task: TaskRow): Record<string, unknown> {
  return {
    id: task.id,
    type: task.type,
    status: task.status,
    result: null,
    owner: task.owner,
    message: null,
    expires_at: isotime(task.expires_at ?? now()),
    created_at: isotime(task.created_at),
    updated_at: isotime(task.updated_at),
    deleted: false,
    deleted_at: null
  }
}

/** _format_import_properties: the import bookkeeping properties as lists. */
function importProperties (image: ImageRecord): Record<string, string[]> {
  const list = (name: string): string[] => (image.properties[name] ?? '').split(',').filter(Boolean)
  return { os_glance_importing_to_stores: list('os_glance_importing_to_stores'), os_glance_failed_import: list('os_glance_failed_import') }
}

const now = (): Date => new Date()
const messageOf = (err: unknown): string => (err as Error)?.message ?? String(err)

export const notifierLayer: Layer = (next) => async (op) => {
  const notifier = op.ctx.notifier
  if (!notifier.enabled) return await next(op)
  switch (op.kind) {
    case 'image.import': {
      // task.create once the task is recorded; its processing/success/failure come from the
      // gateway that runs it (import-tasks.ts)
      const started = await next(op) as { task?: TaskRow }
      if (started.task !== undefined) notifier.info('task.create', taskPayload(started.task))
      return started
    }
    case 'image.create': {
      const image = await next(op) as ImageRecord
      notifier.info('image.create', imagePayload(image))
      return image
    }
    case 'image.update': {
      const image = await next(op) as ImageRecord
      notifier.info('image.update', imagePayload(image))
      return image
    }
    case 'image.deactivate': case 'image.reactivate': {
      await next(op)
      notifier.info('image.update', imagePayload({ ...op.image, status: op.kind === 'image.deactivate' ? 'deactivated' : 'active', updated_at: now() }))
      return
    }
    case 'tag.add': case 'tag.delete': {
      await next(op)
      const tags = op.kind === 'tag.add'
        ? [...new Set([...op.image.tags, op.tag])]
        : op.image.tags.filter((t) => t !== op.tag)
      notifier.info('image.update', imagePayload({ ...op.image, tags, updated_at: now() }))
      return
    }
    case 'image.delete': {
      await next(op)
      const at = isotime(now())
      notifier.info('image.delete', imagePayload({ ...op.image, status: 'deleted', updated_at: now() }, { deleted: true, deleted_at: at }))
      return
    }
    // a stage writes the staging store, not the image's data: Glance sends nothing for it
    case 'image.upload': return op.upload.staging === true ? await next(op) : await notifyUpload(next, op)
    case 'image.download': {
      const result = await next(op) as { image: ImageRecord, sent: (bytes: number, err?: unknown) => void }
      return {
        ...result,
        sent (bytes: number, err?: unknown) {
          result.sent(bytes, err)
          if (err !== undefined) notifier.error('image.send', `An error occurred during image.send notification: ${messageOf(err)}`)
          else {
            notifier.info('image.send', {
              bytes_sent: bytes,
              image_id: op.image.id,
              owner_id: op.image.owner,
              receiver_tenant_id: op.identity.projectId,
              receiver_user_id: op.identity.userId
            })
          }
        }
      }
    }
    case 'member.create': case 'member.update': {
      const member = await next(op) as MemberRecord
      notifier.info(op.kind === 'member.create' ? 'image.member.create' : 'image.member.update', memberPayload(member))
      return member
    }
    case 'member.delete': {
      const before = await findMember(op.ctx.sql, op.image, op.member, op.identity).catch(() => undefined)
      await next(op)
      const at = now()
      notifier.info('image.member.delete', memberPayload(before ?? { image_id: op.image.id, member: op.member, status: 'pending', created_at: at, updated_at: at },
        { deleted: true, deleted_at: isotime(at) }))
      return
    }
    default: return await next(op)
  }
}

async function notifyUpload (next: (op: Operation) => Promise<unknown>, op: Op<'image.upload'>): Promise<UploadSink> {
  const notifier = op.ctx.notifier
  notifier.info('image.prepare', imagePayload(op.image))
  let inner: UploadSink
  try {
    inner = await next(op) as UploadSink
  } catch (err) {
    notifier.error('image.upload', messageOf(err))
    throw err
  }
  return {
    ...inner,
    async finish () {
      await inner.finish()
      const image = await findImage(op.ctx.sql, op.image.id).catch(() => undefined)
      if (image === undefined) return
      notifier.info('image.upload', imagePayload(image, importProperties(image)))
      if (op.image.status !== 'active' && image.status === 'active') notifier.info('image.activate', imagePayload(image))
    },
    async abort (err) {
      await inner.abort(err)
      if ((err as { code?: string })?.code !== 'GLINT_ABORTED') notifier.error('image.upload', messageOf(err))
    }
  }
}
