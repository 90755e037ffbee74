// An image membership as Glance shows it (section 1.11) and the request bodies that make
// or change one (glance/api/v2/image_members.py RequestDeserializer).

import { Errors } from '../errors.js'
import type { MemberRecord } from '../registry/members.js'
import { isoTime } from './image.js'
import { hasNul } from './storable.js'

export const MEMBER_STATUSES = ['pending', 'accepted', 'rejected']

export function formatMember (m: MemberRecord): Record<string, unknown> {
  return {
    member_id: m.member,
    image_id: m.image_id,
    status: m.status,
    created_at: isoTime(m.created_at),
    updated_at: isoTime(m.updated_at),
    schema: '/v2/schemas/member'
  }
}

/** The project named by a `{"member": "<project>"}` body. */
export function memberFromBody (body: unknown): string {
  if (Array.isArray(body)) throw Errors.badMemberBody('Expected a member in the form: {"member": "image_id"}')
  const input = body as Record<string, unknown>
  if (!('member' in input)) throw Errors.badMemberBody('Member to be added not specified')
  const member = input.member
  if (isFalsy(member)) throw Errors.badMemberBody('Member can\'t be empty')
  // Glance would store a number or list as text, or fail in the database: refuse it up front.
  if (typeof member !== 'string' || member.length > 255) {
    throw Errors.badMemberBody('Expected a member in the form: {"member": "image_id"}')
  }
  if (hasNul(member)) throw Errors.nulCharacter('Member')
  return member
}

/** The raw `status` of a `{"status": "..."}` body; checked against MEMBER_STATUSES later, as Glance does. */
export function statusFromBody (body: unknown): unknown {
  if (Array.isArray(body)) throw Errors.badMemberBody('Expected a status in the form: {"status": "status"}')
  const input = body as Record<string, unknown>
  if (!('status' in input)) throw Errors.badMemberBody('Status not specified')
  return input.status
}

/** Python's truthiness, which Glance tests the member with. */
function isFalsy (value: unknown): boolean {
  if (value === null || value === false || value === 0 || value === '') return true
  if (Array.isArray(value)) return value.length === 0
  return typeof value === 'object' && Object.keys(value as object).length === 0
}
