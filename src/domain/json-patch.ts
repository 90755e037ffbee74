// JSON patch documents as Glance's RequestDeserializer reads them (section 1.6): the RFC 6902
// subset of application/openstack-images-v2.1-json-patch and the draft-4 form of the
// deprecated v2.0 media type ({"replace": "/name", "value": ...}). Only the document's shape
// is checked here; what a change may do to an image is decided in image-patch.ts.

import { Errors } from '../errors.js'
import { assertJsonDepth } from './json-depth.js'

/** JSON Schema draft each media type speaks: 4 for v2.0, 10 for v2.1. */
export type PatchDraft = 4 | 10
export type PatchOpName = 'add' | 'remove' | 'replace'

export interface PatchOp {
  op: PatchOpName
  /** Decoded JSON pointer tokens. */
  path: string[]
  value?: unknown
  draft: PatchDraft
}

const MEDIA_TYPES: Record<string, PatchDraft> = {
  'application/openstack-images-v2.0-json-patch': 4,
  'application/openstack-images-v2.1-json-patch': 10
}
const OPERATIONS: PatchOpName[] = ['add', 'remove', 'replace']
/** Pointer depth per operation; everything not listed is a top-level attribute (depth 1). */
const DEPTH_LIMITS: Record<string, Partial<Record<PatchOpName, number>>> = {
  locations: { add: 2, remove: 2, replace: 1 }
}

/** The draft for a request's Content-Type (parameters ignored, as WebOb does); 415 otherwise. */
export function patchDraft (contentType: string | undefined): PatchDraft {
  const type = (contentType ?? '').split(';')[0].trim().toLowerCase()
  const draft = MEDIA_TYPES[type]
  if (draft === undefined) throw Errors.unsupportedPatchType()
  return draft
}

export function parsePatchBody (raw: Buffer): unknown {
  if (raw.length === 0) throw Errors.bodyExpected()
  assertJsonDepth(raw)
  try {
    return JSON.parse(raw.toString('utf8'))
  } catch {
    throw Errors.malformedJson()
  }
}

export function parsePatch (body: unknown, draft: PatchDraft): PatchOp[] {
  if (!Array.isArray(body)) throw Errors.invalidPatch('Request body must be a JSON array of operation objects.')
  return body.map((raw) => {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw Errors.invalidPatch('Operations must be JSON objects.')
    const change = raw as Record<string, unknown>
    const op = draft === 10 ? operationD10(change) : operationD4(change)
    const pointer = draft === 10 ? pathD10(change) : change[op]
    const path = decodePointer(pointer)
    const depth = DEPTH_LIMITS[path[0]]?.[op] ?? 1
    if (path.length !== depth) throw Errors.invalidPatch(`Invalid JSON pointer for this resource: '/${path.join('/')}'`)
    const parsed: PatchOp = { op, path, draft }
    if (op !== 'remove') {
      if (!Object.hasOwn(change, 'value')) throw Errors.invalidPatch(`Operation "${op}" requires a member named "value".`)
      parsed.value = change.value
    }
    return parsed
  })
}

function operationD10 (change: Record<string, unknown>): PatchOpName {
  const op = change.op
  const available = OPERATIONS.join(', ')
  if (op === undefined) throw Errors.invalidPatch(`Unable to find \`op\` in JSON Schema change. It must be one of the following: ${available}.`)
  if (!OPERATIONS.includes(op as PatchOpName)) throw Errors.invalidPatch(`Invalid operation: \`${String(op)}\`. It must be one of the following: ${available}.`)
  return op as PatchOpName
}

function operationD4 (change: Record<string, unknown>): PatchOpName {
  const present = OPERATIONS.filter((name) => Object.hasOwn(change, name))
  if (present.length > 1) throw Errors.invalidPatch('Operation objects must contain only one member named "add", "remove", or "replace".')
  if (present.length === 0) throw Errors.invalidPatch('Operation objects must contain exactly one member named "add", "remove", or "replace".')
  return present[0]
}

function pathD10 (change: Record<string, unknown>): unknown {
  if (!Object.hasOwn(change, 'path')) throw Errors.invalidPatch("Unable to find 'path' in JSON Schema change")
  return change.path
}

/** Glance's restricted JSON pointer: "/a" or "/a/b", with ~1 for "/" and ~0 for "~". */
export function decodePointer (pointer: unknown): string[] {
  if (typeof pointer !== 'string' || !pointer.startsWith('/')) throw Errors.invalidPatch(`Pointer \`${String(pointer)}\` does not start with "/".`)
  if (/\/\s*?\//.test(pointer.slice(1))) throw Errors.invalidPatch(`Pointer \`${pointer}\` contains adjacent "/".`)
  if (pointer.length > 1 && pointer.endsWith('/')) throw Errors.invalidPatch(`Pointer \`${pointer}\` end with "/".`)
  if (/~[^01]/.test(pointer) || pointer.endsWith('~')) {
    throw Errors.invalidPatch(`Pointer \`${pointer}\` contains "~" not part of a recognized escape sequence.`)
  }
  // ~1 first: "~01" is the literal "~1", not "/"
  const path = pointer.replace(/^\/+/, '').split('/').map((part) => part.replaceAll('~1', '/').replaceAll('~0', '~').trim())
  // Glance would store a property named "" (or " "); no client means that
  if (path.some((part) => part === '')) throw Errors.invalidPatch(`Pointer \`${pointer}\` does not contains valid token.`)
  return path
}
