// Metadata definitions as Glance shows them (glance/api/v2/model/metadef_*.py through WSME):
// fields in the model's order, null fields left out, whole-second timestamps, and the request
// checks every metadefs deserializer makes before its controller runs.

import { Errors } from '../errors.js'
import { hasNul } from './storable.js'
import { isoTime } from './image.js'
import { firstViolation } from './json-schema.js'
import { definitionProblem, normalizeProperties, normalizeProperty } from './metadef-property.js'
import type { NamespaceRecord } from '../registry/metadefs-namespaces.js'
import type { ObjectRecord } from '../registry/metadefs-objects.js'
import type { PropertyRecord } from '../registry/metadefs-properties.js'
import type { TagRecord } from '../registry/metadefs-tags.js'
import type { AssociationRecord, ResourceTypeRecord } from '../registry/metadefs-resource-types.js'

type Json = Record<string, unknown>

export const NAMESPACE_SCHEMA_LINK = '/v2/schemas/metadefs/namespace'
export const OBJECT_SCHEMA_LINK = '/v2/schemas/metadefs/object'

export const namespaceHref = (ns: string): string => `/v2/metadefs/namespaces/${ns}`
export const objectHref = (ns: string, name: string): string => `/v2/metadefs/namespaces/${ns}/objects/${name}`

/** Copies the entries whose value is not null or undefined, in order (WSME skips None). */
function present (entries: Array<[string, unknown]>): Json {
  const out: Json = {}
  for (const [key, value] of entries) if (value !== null && value !== undefined) out[key] = value
  return out
}

const time = (d: Date | null): string | null => d === null ? null : isoTime(d)

export interface NamespaceExtras {
  resource_type_associations?: Json[]
  properties?: Json
  objects?: Json[]
  tags?: Json[]
}

export function formatNamespace (ns: NamespaceRecord, extras: NamespaceExtras = {}): Json {
  const nonEmpty = <T>(v: T[] | undefined): T[] | undefined => v !== undefined && v.length > 0 ? v : undefined
  return present([
    ['namespace', ns.namespace],
    ['display_name', ns.display_name],
    ['description', ns.description],
    ['visibility', ns.visibility ?? 'private'],
    ['protected', ns.protected ?? false],
    ['owner', ns.owner],
    ['created_at', time(ns.created_at)],
    ['updated_at', time(ns.updated_at)],
    ['resource_type_associations', nonEmpty(extras.resource_type_associations)],
    ['properties', extras.properties !== undefined && Object.keys(extras.properties).length > 0 ? extras.properties : undefined],
    ['objects', nonEmpty(extras.objects)],
    ['tags', nonEmpty(extras.tags)],
    ['self', namespaceHref(ns.namespace)],
    ['schema', NAMESPACE_SCHEMA_LINK]
  ])
}

export function formatAssociation (a: Pick<AssociationRecord, 'name' | 'prefix' | 'properties_target' | 'created_at' | 'updated_at'>): Json {
  return present([
    ['name', a.name],
    ['prefix', a.prefix],
    ['properties_target', a.properties_target],
    ['created_at', time(a.created_at)],
    ['updated_at', time(a.updated_at)]
  ])
}

export function formatResourceType (rt: ResourceTypeRecord): Json {
  return present([['name', rt.name], ['created_at', time(rt.created_at)], ['updated_at', time(rt.updated_at)]])
}

export function formatObject (o: ObjectRecord, namespace: string, prefix?: string): Json {
  const required = o.required !== null && o.required !== '' ? o.required.split(',') : []
  const properties = normalizeProperties(o.json_schema)
  return present([
    ['name', o.name],
    ['required', prefix === undefined ? required : required.map((r) => prefix + r)],
    ['description', o.description],
    ['properties', prefix === undefined ? properties : prefixed(properties, prefix)],
    ['created_at', time(o.created_at)],
    ['updated_at', time(o.updated_at)],
    ['self', objectHref(namespace, o.name)],
    ['schema', OBJECT_SCHEMA_LINK]
  ])
}

/** A namespace's properties keyed by name (the name is the key, not a field). */
export function formatProperties (rows: PropertyRecord[], prefix?: string): Json {
  const out: Json = {}
  for (const row of rows) out[(prefix ?? '') + row.name] = normalizeProperty(row.json_schema)
  return out
}

/** One property as GET/POST/PUT .../properties/{name} answer it: with its name. */
export function formatProperty (row: PropertyRecord): Json {
  return normalizeProperty({ ...row.json_schema, name: row.name }, true)
}

export function formatTag (tag: TagRecord, withTimes = true): Json {
  return withTimes ? present([['name', tag.name], ['created_at', time(tag.created_at)], ['updated_at', time(tag.updated_at)]]) : { name: tag.name }
}

function prefixed (properties: Json, prefix: string): Json {
  const out: Json = {}
  for (const [name, value] of Object.entries(properties)) out[prefix + name] = value
  return out
}

/**
 * The checks Glance's metadefs deserializers make on a body, in their order: read-only
 * attributes (403), then the JSON schema (400).
 */
export function checkBody (body: unknown, schema: Json, readOnly: string[]): asserts body is Json {
  if (typeof body === 'object' && body !== null) {
    for (const key of readOnly) if (key in body) throw Errors.readOnly(key)
  }
  const why = firstViolation(body, schema)
  if (why !== undefined) throw Errors.metadefSchemaInvalid(String(schema.name), why)
  assertNoNul(body, 'Property names')
}

/** PostgreSQL text cannot hold NUL: refuse it anywhere in a body (400), not at the database (500). */
function assertNoNul (value: unknown, key: string): void {
  if (typeof value === 'string') {
    if (hasNul(value)) throw Errors.nulCharacter(key.charAt(0).toUpperCase() + key.slice(1))
  } else if (Array.isArray(value)) {
    for (const item of value) assertNoNul(item, key)
  } else if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) {
      if (hasNul(k)) throw Errors.nulCharacter('Property names')
      assertNoNul(v, k)
    }
  }
}

/** 400 for a property definition Glance's model cannot hold (Glance fails those with a 500). */
export function checkDefinitions (properties: unknown, owner = ''): void {
  if (typeof properties !== 'object' || properties === null) return
  for (const [name, definition] of Object.entries(properties)) {
    const why = definitionProblem(definition)
    if (why !== undefined) throw Errors.metadefBadDefinition(owner === '' ? name : `${owner}.${name}`, why)
  }
}

/**
 * Whether `row` comes after `marker` in the order (keys..., all in `dir`) PostgreSQL sorts them,
 * nulls last ascending: how oslo.db's paginate_query pages from a marker.
 */
export function comesAfter (row: object, marker: object, keys: string[], dir: 'asc' | 'desc'): boolean {
  for (const key of keys) {
    const x = (row as Record<string, unknown>)[key]
    const y = (marker as Record<string, unknown>)[key]
    const xv = x instanceof Date ? x.getTime() : x as any
    const yv = y instanceof Date ? y.getTime() : y as any
    const c = xv === yv ? 0 : xv === null ? 1 : yv === null ? -1 : xv < yv ? -1 : 1
    if (c !== 0) return dir === 'asc' ? c > 0 : c < 0
  }
  return false
}

/** The sort keys Glance pages by: the one asked for, then created_at and id. */
export const pagingKeys = (sortKey: string): string[] => [sortKey, 'created_at', 'id'].filter((k, i, all) => all.indexOf(k) === i)

/** Python's urlencode of query parameters (quote_plus), as Glance builds its paging links. */
export function pyUrlencode (params: Array<[string, string]>): string {
  const quote = (s: string): string => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`).replace(/%20/g, '+')
  return params.map(([k, v]) => `${quote(k)}=${quote(v)}`).join('&')
}

/** strutils.bool_from_string: how Glance reads X-Openstack-Append. */
export function boolFromString (value: string | undefined): boolean {
  return value !== undefined && ['1', 't', 'true', 'on', 'y', 'yes'].includes(value.trim().toLowerCase())
}
