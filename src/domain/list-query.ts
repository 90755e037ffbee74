// GET /v2/images query parameters, parsed and checked as Glance 25 does (section 1.5;
// glance/api/v2/images.py RequestDeserializer.index and glance/db/sqlalchemy/api.py
// _make_conditions_from_filters): paging, both sort syntaxes, every filter, and the
// `first`/`next` links. Bad input is a 400 with Glance's message.

import type { Config } from '../config/load.js'
import { Errors } from '../errors.js'
import { parseIsoTime } from './iso8601.js'
import { hasNul } from './storable.js'

/**
 * What one list request may ask for. Each filter is a subquery the registry plans and runs;
 * a thousand of them took PostgreSQL minutes to plan and froze the embedded registry, while
 * no client needs more than a handful.
 */
export const MAX_FILTERS = 32
/** Values of all `in:` lists together. */
export const MAX_IN_VALUES = 256

export const SORT_KEYS = ['name', 'status', 'container_format', 'disk_format', 'size', 'id', 'created_at', 'updated_at'] as const
export type SortKey = typeof SORT_KEYS[number]
export type SortDir = 'asc' | 'desc'

const IN_COLUMNS = ['name', 'id', 'status', 'container_format', 'disk_format'] as const
const TIME_COLUMNS = ['created_at', 'updated_at'] as const
const TIME_OPS = ['gt', 'gte', 'eq', 'neq', 'lt', 'lte'] as const
export type TimeOp = typeof TIME_OPS[number]
/** Image columns Glance compares a plain `key=value` against (any other key is an extra property). */
const TEXT_COLUMNS = ['owner', 'checksum', 'os_hash_value', 'os_hash_algo'] as const
const INTEGER_COLUMNS = ['size', 'virtual_size', 'min_disk', 'min_ram'] as const
const VISIBILITIES = ['community', 'public', 'private', 'shared', 'all']
const MEMBER_STATUSES = ['pending', 'accepted', 'rejected', 'all']

export type Filter =
  | { kind: 'in', column: typeof IN_COLUMNS[number], values: string[] }
  | { kind: 'time', column: typeof TIME_COLUMNS[number], op: TimeOp, at: Date }
  | { kind: 'min' | 'max', column: typeof INTEGER_COLUMNS[number], value: number }
  | { kind: 'equals', column: typeof TEXT_COLUMNS[number] | typeof INTEGER_COLUMNS[number] | 'protected', value: string | number | boolean }
  | { kind: 'tag', value: string }
  | { kind: 'property', name: string, value: string }
  /** `deleted_at=...`: a live image has none, so nothing matches. */
  | { kind: 'nothing' }

export interface ListQuery {
  limit: number
  marker?: string
  /** The requested keys, then Glance's created_at and id tiebreakers. */
  sort: Array<{ key: SortKey, dir: SortDir }>
  filters: Filter[]
  /** Undefined: Glance's default (community images only when owned). */
  visibility?: string
  memberStatus: string
  osHidden: boolean
  /** `/v2/images?...` without the marker */
  first: string
  next: (marker: string) => string
}

export function parseListQuery (params: URLSearchParams, config: Config): ListQuery {
  // Glance pops paging parameters from WebOb's MultiDict (the first of a repeated one counts)
  // and reads filters through a dict (the last one counts).
  const firstOf = (key: string): string | undefined => params.get(key) ?? undefined
  const one = (key: string): string | undefined => params.has(key) ? lastOf(params, key) : undefined
  const visibility = one('visibility')
  // Glance answers 500 to an empty visibility or changes-since; a 400 is what it means.
  if (visibility !== undefined && !VISIBILITIES.includes(visibility)) throw Errors.badFilter(`Invalid visibility value: ${visibility}`)
  if (params.has('changes-since')) throw Errors.badFilter('The "changes-since" filter is no longer available on v2.')
  const memberStatus = firstOf('member_status') ?? 'accepted'
  if (!MEMBER_STATUSES.includes(memberStatus)) throw Errors.badFilter(`Invalid status: ${memberStatus}`)
  const limit = parseLimit(firstOf('limit'), config)
  const sort = parseSort(params)
  const osHidden = (one('os_hidden') ?? 'false').toLowerCase()
  if (osHidden !== 'true' && osHidden !== 'false') {
    throw Errors.badFilter(`Invalid value '${osHidden}' for 'os_hidden' filter. Valid values are 'true' or 'false'.`)
  }
  const protectedValue = one('protected')
  if (protectedValue !== undefined && protectedValue !== 'true' && protectedValue !== 'false') {
    throw Errors.badFilter(`Invalid value '${protectedValue}' for 'protected' filter. Valid values are 'true' or 'false'.`)
  }

  const tags = params.getAll('tag')
  const seen = new Set(['limit', 'marker', 'member_status', 'tag', 'sort', 'sort_key', 'sort_dir', 'visibility', 'changes-since', 'os_hidden', 'deleted'])
  const keys = [...new Set(params.keys())].filter((key) => !seen.has(key))
  if (tags.length + keys.length > MAX_FILTERS) throw Errors.tooManyFilters(tags.length + keys.length, MAX_FILTERS)
  const filters: Filter[] = tags.map((tag) => storableOnly({ kind: 'tag', value: tag.trim() }))
  for (const key of keys) filters.push(storableOnly(parseFilter(key, lastOf(params, key))))
  const inValues = filters.reduce((n, f) => n + (f.kind === 'in' ? f.values.length : 0), 0)
  if (inValues > MAX_IN_VALUES) throw Errors.badFilter(`Too many values in 'in:' filters: ${inValues} given, at most ${MAX_IN_VALUES} are accepted in one request.`)

  const query = encodeQuery([...params].filter(([key]) => key !== 'marker'))
  return {
    limit,
    marker: firstOf('marker'),
    sort,
    filters,
    visibility,
    memberStatus,
    osHidden: osHidden === 'true',
    first: query === '' ? '/v2/images' : `/v2/images?${query}`,
    next: (marker) => `/v2/images?${query === '' ? '' : `${query}&`}marker=${quotePlus(marker)}`
  }
}

/** Nothing the registry holds contains NUL, so a filter on such a text matches nothing. */
function storableOnly (f: Filter): Filter {
  switch (f.kind) {
    case 'in': return { ...f, values: f.values.filter((v) => !hasNul(v)) }
    case 'tag': return hasNul(f.value) ? { kind: 'nothing' } : f
    case 'property': return hasNul(f.name) || hasNul(f.value) ? { kind: 'nothing' } : f
    case 'equals': return typeof f.value === 'string' && hasNul(f.value) ? { kind: 'nothing' } : f
    default: return f
  }
}

function lastOf (params: URLSearchParams, key: string): string {
  const all = params.getAll(key)
  return all[all.length - 1]
}

function parseFilter (key: string, value: string): Filter {
  if ((IN_COLUMNS as readonly string[]).includes(key)) return parseInFilter(key as typeof IN_COLUMNS[number], value)
  if ((TIME_COLUMNS as readonly string[]).includes(key)) return parseTimeFilter(key as typeof TIME_COLUMNS[number], value)
  const range = /^(.*)_(min|max)$/.exec(key)
  if (range !== null) {
    const bound = pythonInt(value)
    if (bound === undefined) throw Errors.badFilter('Unable to filter on a range with a non-numeric value.')
    if ((INTEGER_COLUMNS as readonly string[]).includes(range[1])) {
      return { kind: range[2] as 'min' | 'max', column: range[1] as typeof INTEGER_COLUMNS[number], value: bound }
    }
    return { kind: 'property', name: key, value }
  }
  if ((INTEGER_COLUMNS as readonly string[]).includes(key)) {
    const exact = pythonInt(value)
    if (exact === undefined) throw Errors.badFilter(`Unable to filter on ${key} with a non-numeric value.`)
    return { kind: 'equals', column: key as typeof INTEGER_COLUMNS[number], value: exact }
  }
  if ((TEXT_COLUMNS as readonly string[]).includes(key)) return { kind: 'equals', column: key as typeof TEXT_COLUMNS[number], value }
  if (key === 'protected') return { kind: 'equals', column: 'protected', value: value === 'true' }
  if (key === 'deleted_at') return { kind: 'nothing' }
  return { kind: 'property', name: key, value }
}

/** `in:a,"b,c"`, `eq:a` or `a`; any other operator is a 400. */
function parseInFilter (column: typeof IN_COLUMNS[number], value: string): Filter {
  const [op, operand] = splitFilterOp(value)
  if (op === 'in') return { kind: 'in', column, values: splitQuoted(operand) }
  if (op === 'eq') return { kind: 'in', column, values: [operand] }
  throw Errors.badFilter(`Unable to filter by unknown operator '${op}'.`)
}

function parseTimeFilter (column: typeof TIME_COLUMNS[number], value: string): Filter {
  const [op, operand] = splitFilterOp(value)
  const at = parseIsoTime(operand)
  if (at === undefined) throw Errors.badFilter(`Bad "${column}" query filter format. Use ISO 8601 DateTime notation.`)
  if (!(TIME_OPS as readonly string[]).includes(op)) throw Errors.badFilter('Unable to filter on a unknown operator.')
  return { kind: 'time', column, op: op as TimeOp, at }
}

/** glance.common.utils.split_filter_op: `op:operand`, unless the whole value is a date-time. */
function splitFilterOp (expression: string): [string, string] {
  const colon = expression.indexOf(':')
  if (colon < 0 || parseIsoTime(expression) !== undefined) return ['eq', expression]
  return [expression.slice(0, colon), expression.slice(colon + 1)]
}

/** glance.common.utils.split_filter_value_for_quotes: commas split, double quotes protect. */
function splitQuoted (value: string): string[] {
  validateQuotes(value)
  const items: string[] = []
  const re = /"([^"\\]*(?:\\.[^"\\]*)*)",?|([^,]+),?|,/g
  for (const m of value.matchAll(re)) items.push(m[1] !== undefined && m[1] !== '' ? m[1] : m[2] ?? '')
  return items
}

function validateQuotes (value: string): void {
  let opening = true
  for (let i = 0; i < value.length; i++) {
    if (value[i] !== '"' || (i > 0 && value[i - 1] === '\\')) continue
    if (opening && i > 0 && value[i - 1] !== ',') {
      throw Errors.badFilter(`Invalid filter value ${value}. There is no comma before opening quotation mark.`)
    }
    if (!opening && i + 1 !== value.length && value[i + 1] !== ',') {
      throw Errors.badFilter(`Invalid filter value ${value}. There is no comma after closing quotation mark.`)
    }
    opening = !opening
  }
  if (!opening) throw Errors.badFilter(`Invalid filter value ${value}. The quote is not closed.`)
}

function parseLimit (raw: string | undefined, config: Config): number {
  if (raw === undefined) return Math.min(config.limitDefault, config.limitMax)
  const limit = pythonInt(raw)
  if (limit === undefined) throw Errors.badLimit('limit param must be an integer')
  if (limit < 0) throw Errors.badLimit('limit param must be positive')
  return Math.min(limit, config.limitMax)
}

function parseSort (params: URLSearchParams): Array<{ key: SortKey, dir: SortDir }> {
  const keys: SortKey[] = []
  const dirs: SortDir[] = []
  if (params.has('sort')) {
    if (params.has('sort_key') || params.has('sort_dir')) throw Errors.badSort('Old and new sorting syntax cannot be combined')
    for (const item of params.get('sort')!.trim().split(',')) {
      const colon = item.indexOf(':')
      const key = colon < 0 ? item : item.slice(0, colon)
      const dir = colon < 0 ? '' : item.slice(colon + 1)
      keys.push(sortKey(key.trim()))
      dirs.push(sortDir(dir === '' ? 'desc' : dir.trim()))
    }
  } else {
    for (const key of params.getAll('sort_key')) keys.push(sortKey(key.trim()))
    for (const dir of params.getAll('sort_dir')) dirs.push(sortDir(dir.trim()))
    if (dirs.length > 1 && dirs.length !== keys.length) throw Errors.badSort('Number of sort dirs does not match the number of sort keys')
  }
  if (keys.length === 0) keys.push('created_at')
  if (dirs.length === 0) dirs.push('desc')
  // One direction applies to every key and to the tiebreakers; with one per key the
  // tiebreakers are descending (glance.db.sqlalchemy.api.image_get_all).
  const tieDir: SortDir = dirs.length === 1 ? dirs[0] : 'desc'
  // A key sorted on again changes nothing: keeping only its first use bounds the query
  // (the marker condition grows with the square of the key count).
  const sort: Array<{ key: SortKey, dir: SortDir }> = []
  keys.forEach((key, i) => { if (!sort.some((s) => s.key === key)) sort.push({ key, dir: dirs.length === 1 ? dirs[0] : dirs[i] }) })
  for (const key of ['created_at', 'id'] as const) if (!keys.includes(key)) sort.push({ key, dir: tieDir })
  return sort
}

function sortKey (key: string): SortKey {
  if (!(SORT_KEYS as readonly string[]).includes(key)) throw Errors.badSortKey(key)
  return key as SortKey
}

function sortDir (dir: string): SortDir {
  if (dir !== 'asc' && dir !== 'desc') throw Errors.badSortDir(dir)
  return dir
}

/** Python's int() on a query string: surrounding blanks and a sign are fine. */
function pythonInt (text: string): number | undefined {
  const m = /^\s*([+-]?\d+)\s*$/.exec(text)
  if (m === null) return undefined
  const n = Number(m[1])
  return Number.isSafeInteger(n) ? n : undefined
}

/** Python's urllib.parse.urlencode, which Glance builds its links with. */
function encodeQuery (pairs: Array<[string, string]>): string {
  return pairs.map(([k, v]) => `${quotePlus(k)}=${quotePlus(v)}`).join('&')
}

function quotePlus (text: string): string {
  return encodeURIComponent(text)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+')
}
