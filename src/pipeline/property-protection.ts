// The property-protection layer (glance/api/property_protections.py, common/property_utils.py):
// `property_protection_file` names, per regular expression over extra property names (sections
// in file order, the first that matches decides; a name no section matches is refused), who
// may create, read, update and delete such a property: roles (`roles` format, `@` everyone,
// `!` no one) or one policy rule (`policies` format, `<rule>` evaluated as `rule:<rule>`).
// Applied as Glance applies it: create refuses a protected property (403 "Attribute 'x' is
// reserved."), reads (show, list, and what create/update/import see) hide unreadable ones,
// and a PATCH needs update rights to change a property the caller can read, create rights to
// add one it cannot read or that does not exist, delete rights to remove one; replacing or
// removing one it cannot read is a 409 "does not exist". Checks and filters only.

import { readFileSync } from 'node:fs'
import { Errors } from '../errors.js'
import type { Identity } from '../identity.js'
import type { ImageRecord } from '../registry/images.js'
import { BASE_COLUMNS, DISALLOWED, READ_ONLY, RESERVED } from '../domain/image.js'
import { parseRule, type Check } from './policy/language.js'
import type { Policy } from './policy/enforcer.js'
import type { Layer } from './chain.js'

export type PropertyOperation = 'create' | 'read' | 'update' | 'delete'
const OPERATIONS: PropertyOperation[] = ['create', 'read', 'update', 'delete']

/** One section: '@' allows all, '!' none, else the roles (or the single policy rule) allowed. */
type Permission = { kind: 'all' } | { kind: 'none' } | { kind: 'roles', roles: string[] } | { kind: 'rule', check: Check }

export interface PropertyRules {
  allows: (policy: Policy, identity: Identity, property: string, operation: PropertyOperation) => boolean
}

export class PropertyProtectionError extends Error {}

/** Python configparser's shape, enough for this file: [section] headers, `key = value` or `key: value`, # and ; comments. */
function readSections (text: string, file: string): Array<{ name: string, options: Map<string, string> }> {
  const sections: Array<{ name: string, options: Map<string, string> }> = []
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim()
    if (line === '' || line.startsWith('#') || line.startsWith(';')) return
    const header = /^\[(.+)\]$/.exec(line)
    if (header !== null) {
      if (sections.some((s) => s.name === header[1])) throw new PropertyProtectionError(`${file}: line ${i + 1}: section [${header[1]}] appears twice`)
      sections.push({ name: header[1], options: new Map() })
      return
    }
    const option = /^([^=:]+?)\s*[=:]\s*(.*)$/.exec(line)
    if (option === null || sections.length === 0) throw new PropertyProtectionError(`${file}: line ${i + 1}: not a section header or an option: ${line}`)
    sections[sections.length - 1].options.set(option[1].toLowerCase(), option[2])
  })
  return sections
}

export function loadPropertyRules (file: string, format: 'roles' | 'policies'): PropertyRules {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw new PropertyProtectionError(`cannot read property protection file ${file}: ${(err as Error).message}`)
  }
  const rules = readSections(text, file).map(({ name, options }) => {
    let pattern: RegExp
    try {
      pattern = new RegExp(name)
    } catch (err) {
      throw new PropertyProtectionError(`${file}: malformed property protection rule [${name}]: ${(err as Error).message}`)
    }
    const permissions = {} as Record<PropertyOperation, Permission>
    for (const operation of OPERATIONS) {
      const value = options.get(operation)
      if (value === undefined) throw new PropertyProtectionError(`${file}: [${name}] has no '${operation}' (every section needs create, read, update and delete)`)
      permissions[operation] = permissionOf(value.trim(), format, `${file}: [${name}] ${operation}`)
    }
    return { pattern, permissions }
  })

  return {
    allows (policy, identity, property, operation) {
      const rule = rules.find((r) => r.pattern.test(property))
      if (rule === undefined) return false
      const permission = rule.permissions[operation]
      switch (permission.kind) {
        case 'all': return true
        case 'none': return false
        case 'rule': return policy.evaluate(identity, permission.check, {})
        case 'roles': {
          const extra = identity as Identity & { serviceRoles?: string[] }
          const held = new Set([...identity.roles, ...(extra.serviceRoles ?? [])].map((r) => r.toLowerCase()))
          return permission.roles.some((r) => held.has(r))
        }
      }
    }
  }
}

function permissionOf (value: string, format: 'roles' | 'policies', where: string): Permission {
  // An empty value: no one (Glance warns and allows no role).
  if (value === '') return { kind: 'none' }
  if (format === 'policies') {
    if (value.includes(',')) throw new PropertyProtectionError(`${where}: multiple policies '${value}' not allowed for a given operation; combine them in the policy file`)
    if (value === '@') return { kind: 'all' }
    if (value === '!') return { kind: 'none' }
    return { kind: 'rule', check: parseRule(`rule:${value}`) }
  }
  const roles = value.split(',').map((r) => r.trim())
  if (roles.includes('@') && roles.includes('!')) throw new PropertyProtectionError(`${where}: '@' and '!' are mutually exclusive`)
  if (roles.includes('!')) return { kind: 'none' }
  if (roles.includes('@')) return { kind: 'all' }
  return { kind: 'roles', roles: roles.map((r) => r.toLowerCase()) }
}

const NOT_EXTRA = new Set([...BASE_COLUMNS, ...READ_ONLY, ...DISALLOWED, ...RESERVED, 'id', 'tags'])

/** The image as the caller may read it: unreadable extra properties left out. */
function readable (rules: PropertyRules, policy: Policy, who: Identity, image: ImageRecord): ImageRecord {
  const properties: Record<string, string> = Object.create(null)
  let hidden = false
  for (const name in image.properties) {
    if (rules.allows(policy, who, name, 'read')) properties[name] = image.properties[name]
    else hidden = true
  }
  return hidden ? { ...image, properties } : image
}

export const propertyProtectionLayer: Layer = (next) => async (op) => {
  const rules = op.ctx.propertyRules
  if (rules === undefined) return await next(op)
  const { policy } = op.ctx
  const who = op.identity
  const allows = (name: string, operation: PropertyOperation): boolean => rules.allows(policy, who, name, operation)
  const view = (image: ImageRecord): ImageRecord => readable(rules, policy, who, image)

  switch (op.kind) {
    case 'image.create': {
      for (const name of Object.keys(op.input.properties)) if (!allows(name, 'create')) throw Errors.reserved(name)
      return view(await next(op) as ImageRecord)
    }
    case 'image.show': return view(await next({ ...op, image: view(op.image) }) as ImageRecord)
    case 'image.list': {
      const page = await next(op) as { images: ImageRecord[], next?: string }
      return { ...page, images: page.images.map(view) }
    }
    case 'image.update': {
      const image = view(op.image)
      for (const change of op.changes) {
        const name = change.path[0]
        if (change.path.length !== 1 || NOT_EXTRA.has(name)) continue
        const known = name in image.properties
        // replacing or removing what the caller cannot see is "no such property" (409), answered further in
        const operation: PropertyOperation | undefined = known
          ? (change.op === 'remove' ? 'delete' : 'update')
          : (change.op === 'add' ? 'create' : undefined)
        if (operation !== undefined && !allows(name, operation)) throw Errors.reserved(name)
      }
      return view(await next({ ...op, image }) as ImageRecord)
    }
    case 'image.import': return await next({ ...op, image: view(op.image) })
  }
  return await next(op)
}
