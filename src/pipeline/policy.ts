// The policy layer: Glance 25.1's API policy (glance/api/v2/policy.py) for every operation,
// through one enforce(identity, action, target) (./policy/enforcer.ts). While
// enforce_new_defaults is false the legacy checks Glance 25.1 keeps beside the rules apply
// too (admin or owner may modify; members' ownership rules). A refusal on an image the
// caller may not see (get_image) is a 404, as Glance hides it. Checks only: nothing to undo.

import { Errors } from '../errors.js'
import type { Identity } from '../identity.js'
import type { ImageRecord } from '../registry/images.js'
import type { Policy } from './policy/enforcer.js'
import type { Target } from './policy/language.js'
import { throughUpload, type Layer, type Op, type Operation } from './chain.js'
import type { UploadLayer } from './lifecycle.js'

/** What rules see of an image (Glance's ImageTarget): its attributes, extra properties, project_id = owner. */
export function imageTarget (image: ImageRecord, memberId?: string): Target {
  const target: Target = {
    ...image.properties,
    id: image.id,
    name: image.name,
    status: image.status,
    visibility: image.visibility,
    protected: image.protected,
    os_hidden: image.os_hidden,
    owner: image.owner,
    project_id: image.owner,
    disk_format: image.disk_format,
    container_format: image.container_format,
    min_disk: image.min_disk,
    min_ram: image.min_ram,
    size: image.size,
    virtual_size: image.virtual_size,
    checksum: image.checksum,
    os_hash_algo: image.os_hash_algo,
    os_hash_value: image.os_hash_value,
    tags: image.tags
  }
  if (memberId !== undefined) target.member_id = memberId
  return target
}

function onImage (policy: Policy, who: Identity, image: ImageRecord, action: string, target = imageTarget(image)): void {
  if (policy.check(who, action, target)) return
  // Forbidden on an image the caller cannot see reads as "no such image".
  if (action === 'get_image' || !policy.check(who, 'get_image', imageTarget(image))) throw Errors.imageHidden()
  throw Errors.forbidden(action)
}

/** Glance's check_is_image_mutable, kept while the legacy (non secure-RBAC) defaults are in force. */
function mutable (policy: Policy, who: Identity, image: ImageRecord, action: string): void {
  onImage(policy, who, image, action)
  if (policy.newDefaults || who.isAdmin) return
  if (image.owner === null || who.projectId === null || image.owner !== who.projectId) throw Errors.notOwner()
}

function visibility (policy: Policy, who: Identity, value: unknown, target: Target): void {
  if (value === 'public') policy.enforce(who, 'publicize_image', target)
  else if (value === 'community') policy.enforce(who, 'communitize_image', target)
}

function authorizeCreate (policy: Policy, who: Identity, op: Op<'image.create'>): void {
  const owner = (op.input.columns.owner as string | null | undefined) ?? who.projectId
  // A caller of no project would make an image nobody owns (visible to all): only an admin may.
  if (owner === null && !who.isAdmin) throw Errors.forbidden('add_image')
  const target = { project_id: owner, owner, visibility: op.input.columns.visibility ?? 'private' }
  if (!policy.check(who, 'add_image', target)) {
    if (owner !== who.projectId) throw Errors.ownerPolicyForbidden(String(owner))
    throw Errors.forbidden('add_image')
  }
  visibility(policy, who, target.visibility, target)
  if (!policy.newDefaults && !who.isAdmin && owner !== who.projectId) throw Errors.ownerForbidden(String(owner))
}

/** glance/api/v2/image_members.py: shared images only, the legacy ownership rules, then the member rule. */
type MemberOp = Extract<Operation, { kind: 'member.list' | 'member.show' | 'member.create' | 'member.update' | 'member.delete' }>

function authorizeMembers (policy: Policy, who: Identity, op: MemberOp): void {
  const image = op.image
  const shared = image.visibility === 'shared'
  const legacy = !policy.newDefaults && !who.isAdmin
  const memberId = 'member' in op ? op.member : (image.owner === who.projectId ? undefined : who.projectId ?? undefined)
  const target = imageTarget(image, memberId)
  const rule = (action: string): void => {
    onImage(policy, who, image, 'get_image')
    onImage(policy, who, image, action, target)
  }
  switch (op.kind) {
    case 'member.list':
      if (!shared) throw Errors.membersNotShared(image.id)
      return rule('get_members')
    case 'member.show':
      // Glance maps every refusal here to 404 so that nothing leaks.
      if (!shared) throw Errors.memberHiddenNotShared()
      try { rule('get_member') } catch { throw Errors.memberNotFound(op.member, image.id) }
      return
    case 'member.create':
      if (!shared) throw Errors.memberNotShared('create', image.id)
      if (legacy && (image.owner === null || image.owner !== who.projectId)) throw Errors.memberForbidden('create', image.id)
      return rule('add_member')
    case 'member.update':
      if (!shared) throw Errors.memberNotShared('update', image.id)
      // Only the member decides; the owner offering the image may not accept it for them.
      if (legacy && image.owner === who.projectId) throw Errors.memberForbidden('update', image.id)
      return rule('modify_member')
    case 'member.delete':
      if (!shared) throw Errors.memberNotShared('delete', image.id)
      if (legacy && image.owner !== who.projectId) throw Errors.memberForbidden('delete', image.id)
      return rule('delete_member')
  }
}

const uploadPolicy = (policy: Policy): UploadLayer => (next) => async (u) => {
  // Glance's stage checks modify_image (image_data.py stage), an upload upload_image
  mutable(policy, u.identity, u.image, u.staging === true ? 'modify_image' : 'upload_image')
  if (u.image.status !== 'queued') throw u.staging === true ? Errors.stageConflict(u.image.status) : Errors.uploadConflict(u.image.status)
  if (u.image.disk_format === null || u.image.container_format === null) throw Errors.formatsRequired()
  return await next(u)
}

export const policyLayer: Layer = (next) => async (op: Operation) => {
  const policy = op.ctx.policy
  const who = op.identity
  switch (op.kind) {
    case 'image.create': authorizeCreate(policy, who, op); break
    case 'image.show': case 'image.tasks': onImage(policy, who, op.image, 'get_image'); break
    case 'image.list': {
      // "may you list at all", then each image against get_image, as Glance's index does
      policy.enforce(who, 'get_images', { project_id: who.projectId })
      const page = await next(op) as { images: ImageRecord[], next?: string }
      return { ...page, images: page.images.filter((image) => policy.check(who, 'get_image', imageTarget(image))) }
    }
    case 'image.update':
      // Per change in Glance's order (images.py _do_replace/_do_add/_do_remove); nothing for an empty patch.
      for (const change of op.changes) {
        const name = change.path[0]
        // glance/api/v2/policy.py update_locations / delete_locations (with check_is_image_mutable)
        if (name === 'locations') {
          if (change.op === 'replace' && Array.isArray(change.value) && change.value.length === 0) throw Errors.locationsEmpty()
          mutable(policy, who, op.image, change.op === 'remove' ? 'delete_image_location' : 'set_image_location')
          continue
        }
        if (name === 'owner' && change.op !== 'remove' && !who.isAdmin) throw Errors.ownerUpdateForbidden()
        if (name === 'visibility' && change.op !== 'remove') visibility(policy, who, change.value, imageTarget(op.image))
        mutable(policy, who, op.image, 'modify_image')
      }
      break
    case 'image.delete': mutable(policy, who, op.image, 'delete_image'); break
    case 'image.upload': return await throughUpload(uploadPolicy(policy), next, op)
    case 'image.download':
      if (op.image.status === 'deactivated' && !who.isAdmin) throw Errors.deactivated()
      onImage(policy, who, op.image, 'download_image')
      break
    case 'image.deactivate': mutable(policy, who, op.image, 'deactivate'); break
    case 'image.reactivate': mutable(policy, who, op.image, 'reactivate'); break
    case 'image.import':
      if (op.request.method === 'copy-image') onImage(policy, who, op.image, 'copy_image')
      else mutable(policy, who, op.image, 'modify_image')
      break
    case 'tag.add': case 'tag.delete': mutable(policy, who, op.image, 'modify_image'); break
    case 'member.list': case 'member.show': case 'member.create': case 'member.update': case 'member.delete':
      authorizeMembers(policy, who, op)
      break
    case 'store.delete':
      onImage(policy, who, op.image, 'get_image_location')
      mutable(policy, who, op.image, 'delete_image_location')
      break
    case 'stores.detail': policy.enforce(who, 'stores_info_detail', {}); break
    // Glance's TasksAPIPolicy: tasks_api_access for every call, then the call's own rule
    case 'task.list': policy.enforce(who, 'tasks_api_access', {}); policy.enforce(who, 'get_tasks', {}); break
    case 'task.show': policy.enforce(who, 'tasks_api_access', {}); policy.enforce(who, 'get_task', {}); break
  }
  return await next(op)
}
