// The part of JSON Schema Glance's metadefs schemas use (type, enum, required, properties,
// additionalProperties, items, maxLength, minimum, minItems, uniqueItems, allOf, local $ref),
// with python-jsonschema's wording of the first violation found, values in Python's repr, as
// Glance puts it after "Provided object does not match schema '<name>': ".

type Schema = Record<string, any>

/** The first violation of `schema` by `value`, or undefined when it conforms. */
export function firstViolation (value: unknown, schema: Schema, root: Schema = schema): string | undefined {
  if (typeof schema.$ref === 'string') return firstViolation(value, resolve(schema.$ref, root), root)
  for (const part of schema.allOf ?? []) {
    const why = firstViolation(value, part, root)
    if (why !== undefined) return why
  }
  if (schema.type !== undefined) {
    const types: string[] = [schema.type].flat()
    if (!types.some((t) => isType(value, t))) {
      return `${pyRepr(value)} is not of type ${types.length === 1 ? pyRepr(types[0]) : types.map(pyRepr).join(', ')}`
    }
  }
  if (Array.isArray(schema.enum) && !schema.enum.some((e: unknown) => sameJson(e, value))) {
    return `${pyRepr(value)} is not one of ${pyRepr(schema.enum)}`
  }
  if (typeof value === 'string' && typeof schema.maxLength === 'number' && [...value].length > schema.maxLength) {
    return `${pyRepr(value)} is too long`
  }
  if (typeof value === 'number' && typeof schema.minimum === 'number' && value < schema.minimum) {
    return `${pyRepr(value)} is less than the minimum of ${pyRepr(schema.minimum)}`
  }
  if (Array.isArray(value)) {
    if (typeof schema.minItems === 'number' && value.length < schema.minItems) return `${pyRepr(value)} is too short`
    if (schema.uniqueItems === true && value.some((v, i) => value.findIndex((w) => sameJson(v, w)) !== i)) {
      return `${pyRepr(value)} has non-unique elements`
    }
    if (schema.items !== undefined) {
      for (const item of value) {
        const why = firstViolation(item, schema.items, root)
        if (why !== undefined) return why
      }
    }
  }
  if (isType(value, 'object')) {
    const object = value as Record<string, unknown>
    for (const name of schema.required ?? []) {
      if (!(name in object)) return `${pyRepr(name)} is a required property`
    }
    const properties: Schema = schema.properties ?? {}
    const extra = Object.keys(object).filter((k) => !(k in properties))
    if (schema.additionalProperties === false && extra.length > 0) {
      return `Additional properties are not allowed (${extra.map(pyRepr).join(', ')} ${extra.length === 1 ? 'was' : 'were'} unexpected)`
    }
    for (const [key, item] of Object.entries(object)) {
      const sub = key in properties ? properties[key] : (typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined)
      if (sub === undefined) continue
      const why = firstViolation(item, sub, root)
      if (why !== undefined) return why
    }
  }
  return undefined
}

function resolve (ref: string, root: Schema): Schema {
  let node: any = root
  for (const part of ref.replace(/^#\//, '').split('/')) node = node?.[part]
  if (node === undefined) throw new Error(`unresolvable $ref ${ref}`)
  return node
}

function isType (value: unknown, type: string | null): boolean {
  switch (type) {
    case 'null': return value === null
    case 'string': return typeof value === 'string'
    case 'boolean': return typeof value === 'boolean'
    case 'integer': return typeof value === 'number' && Number.isInteger(value)
    case 'number': return typeof value === 'number'
    case 'array': return Array.isArray(value)
    case 'object': return typeof value === 'object' && value !== null && !Array.isArray(value)
    default: return false
  }
}

function sameJson (a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b)
}

/** Python's repr() of a JSON value: 'text', True, None, [..], {'k': v}. */
export function pyRepr (value: unknown): string {
  if (value === null || value === undefined) return 'None'
  if (value === true) return 'True'
  if (value === false) return 'False'
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : String(value)
  if (typeof value === 'string') {
    const quote = value.includes("'") && !value.includes('"') ? '"' : "'"
    const body = value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t')
    return quote + (quote === "'" ? body.replace(/'/g, "\\'") : body) + quote
  }
  if (Array.isArray(value)) return `[${value.map(pyRepr).join(', ')}]`
  return `{${Object.entries(value as Record<string, unknown>).map(([k, v]) => `${pyRepr(k)}: ${pyRepr(v)}`).join(', ')}}`
}
