// A property definition as Glance shows it: its WSME PropertyType
// (glance/api/v2/model/metadef_property_type.py) in and out. Keys come in the class's order,
// unknown keys are dropped, and values take the type's coercions: `default` becomes a string
// (Python's str(): 80 -> "80", true -> "True"; lists and objects are dropped), the integer
// fields are truncated, the flags made booleans, and `items` keeps only type and enum.

type Kind = 'text' | 'texts' | 'bytes' | 'bool' | 'int' | 'items' | 'any'

const FIELDS: Array<[string, Kind]> = [
  ['name', 'text'],
  ['type', 'text'],
  ['title', 'text'],
  ['description', 'text'],
  ['operators', 'texts'],
  ['default', 'bytes'],
  ['readonly', 'bool'],
  ['minimum', 'int'],
  ['maximum', 'int'],
  ['enum', 'texts'],
  ['pattern', 'text'],
  ['minLength', 'int'],
  ['maxLength', 'int'],
  ['confidential', 'bool'],
  ['items', 'items'],
  ['uniqueItems', 'bool'],
  ['minItems', 'int'],
  ['maxItems', 'int'],
  ['additionalItems', 'bool']
]

export type PropertyDefinition = Record<string, unknown>

/** The definition as Glance stores and serves it; `name` only when `withName`. */
export function normalizeProperty (raw: unknown, withName = false): PropertyDefinition {
  const source = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>
  const out: PropertyDefinition = {}
  for (const [key, kind] of FIELDS) {
    if (key === 'name' && !withName) continue
    const value = coerce(source[key], kind)
    if (value !== undefined) out[key] = value
  }
  return out
}

const KNOWN = new Set(FIELDS.map(([key]) => key))

/**
 * Why Glance's model could not hold this definition (where Glance's WSME answers 500), or
 * undefined: a key PropertyType lacks (`required`, anything the schema lets through), or
 * `items` with other keys than type and enum, or without a type.
 */
export function definitionProblem (raw: unknown): string | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined
  for (const key of Object.keys(raw)) if (!KNOWN.has(key)) return `unknown attribute '${key}'`
  const items = (raw as Record<string, unknown>).items
  if (typeof items === 'object' && items !== null && !Array.isArray(items)) {
    for (const key of Object.keys(items)) if (key !== 'type' && key !== 'enum') return `unknown attribute 'items.${key}'`
    if (typeof (items as Record<string, unknown>).type !== 'string') return "'items' needs a 'type'"
  }
  return undefined
}

/** Every property of an object or namespace, normalized, in the order given. */
export function normalizeProperties (raw: unknown): Record<string, PropertyDefinition> {
  const out: Record<string, PropertyDefinition> = {}
  if (typeof raw !== 'object' || raw === null) return out
  for (const [name, definition] of Object.entries(raw)) out[name] = normalizeProperty(definition)
  return out
}

function coerce (value: unknown, kind: Kind): unknown {
  if (value === undefined || value === null) return undefined
  switch (kind) {
    case 'bytes':
      if (typeof value === 'string') return value
      if (typeof value === 'boolean') return value ? 'True' : 'False'
      if (typeof value === 'number') return pythonNumber(value)
      return undefined
    case 'int':
      return typeof value === 'number' ? Math.trunc(value) : typeof value === 'boolean' ? Number(value) : value
    case 'bool':
      return typeof value === 'number' || typeof value === 'boolean' ? Boolean(value) : value
    case 'items': {
      if (typeof value !== 'object' || Array.isArray(value)) return value
      const item = value as Record<string, unknown>
      const out: Record<string, unknown> = {}
      if (item.type !== undefined && item.type !== null) out.type = item.type
      if (item.enum !== undefined && item.enum !== null) out.enum = item.enum
      return out
    }
    default:
      return value
  }
}

// str() of a Python int or float parsed from JSON (JSON.parse does not keep "1.0" apart from "1").
function pythonNumber (n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e16) return String(n)
  const text = String(n)
  return text.includes('e') ? text.replace(/e([+-])(\d)$/, 'e$10$2') : text
}
