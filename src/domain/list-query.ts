// GET /v2/images query parameters, parsed and checked as Glance does (section 1.5): paging,
// both sort syntaxes, and every filter. Bad input is a 400 naming the parameter.

import type { Config } from '../config/load.js'
import { Errors } from '../http/errors.js'

export const SORT_KEYS = ['name', 'status', 'container_format', 'disk_format', 'size', 'id', 'created_at', 'updated_at'] as const
export type SortKey = typeof SORT_KEYS[number]
export type SortDir = 'asc' | 'desc'

const IN_FILTERS = ['name', 'id', 'status', 'container_format', 'disk_format'] as const
const TIME_OPS = ['gt', 'gte', 'eq', 'neq', 'lt', 'lte'] as const
export type TimeOp = typeof TIME_OPS[number]
const VISIBILITY = ['public', 'private', 'shared', 'community', 'all']
const MEMBER_STATUS = ['pending', 'accepted', 'rejected', 'all']
const PAGING = new Set(['limit', 'marker', 'sort', 'sort_key', 'sort_dir'])

export interface ListQuery {
  limit: number
  marker?: string
  sort: Array<{ key: SortKey, dir: SortDir }>
  /** exact or `in:` matches on base columns */
  inFilters: Partial<Record<typeof IN_FILTERS[number], string[]>>
  times: Array<{ column: 'created_at' | 'updated_at', op: TimeOp, at: Date }>
  sizeMin?: number
  sizeMax?: number
  size?: number
  visibility?: string
  memberStatus: string
  owner?: string
  protected?: boolean
  osHidden: boolean
  checksum?: string
  osHashValue?: string
  tags: string[]
  properties: Array<[string, string]>
  firstQuery: string
  nextQuery: (marker: string) => string
}

export function parseListQuery (params: URLSearchParams, config: Config): ListQuery {
  const q: ListQuery = {
    limit: parseLimit(params.get('limit'), config),
    marker: params.get('marker') ?? undefined,
    sort: parseSort(params),
    inFilters: {},
    times: [],
    memberStatus: 'accepted',
    osHidden: false,
    tags: params.getAll('tag'),
    properties: [],
    firstQuery: '',
    nextQuery: () => ''
  }
  for (const [key, value] of params) {
    if (PAGING.has(key) || key === 'tag') continue
    if ((IN_FILTERS as readonly string[]).includes(key)) { q.inFilters[key as typeof IN_FILTERS[number]] = parseIn(key, value); continue }
    switch (key) {
      case 'created_at': case 'updated_at': q.times.push(parseTime(key, value)); break
      case 'size_min': q.sizeMin = parseInteger(key, value); break
      case 'size_max': q.sizeMax = parseInteger(key, value); break
      case 'size': q.size = parseInteger(key, value); break
      case 'visibility':
        if (!VISIBILITY.includes(value)) throw Errors.badFilter(`Invalid visibility value: ${value}`)
        q.visibility = value; break
      case 'member_status':
        if (!MEMBER_STATUS.includes(value)) throw Errors.badFilter(`Invalid status value: ${value}`)
        q.memberStatus = value; break
      case 'owner': q.owner = value; break
      case 'protected': q.protected = parseBool(key, value); break
      case 'os_hidden': q.osHidden = parseBool(key, value); break
      case 'checksum': q.checksum = value; break
      case 'os_hash_value': q.osHashValue = value; break
      case 'changes-since': throw Errors.badFilter('The changes-since filter is no longer available on v2.')
      default: q.properties.push([key, value])
    }
  }
  if (q.sizeMin !== undefined && q.sizeMax !== undefined && q.sizeMin > q.sizeMax) {
    throw Errors.badFilter('size_min must not be greater than size_max')
  }
  const withoutMarker = new URLSearchParams([...params].filter(([k]) => k !== 'marker'))
  const rest = withoutMarker.toString()
  q.firstQuery = rest === '' ? '' : `?${rest}`
  q.nextQuery = (marker) => (rest === '' ? '' : `${rest}&`) + `marker=${encodeURIComponent(marker)}`
  return q
}

function parseLimit (raw: string | null, config: Config): number {
  if (raw === null) return Math.min(config.limitDefault, config.limitMax)
  if (!/^-?\d+$/.test(raw)) throw Errors.badLimit('limit param must be an integer')
  const limit = Number(raw)
  if (limit < 0) throw Errors.badLimit('limit param must be positive')
  return Math.min(limit, config.limitMax)
}

function parseSort (params: URLSearchParams): Array<{ key: SortKey, dir: SortDir }> {
  const sort = params.get('sort')
  const keys = params.getAll('sort_key')
  const dirs = params.getAll('sort_dir')
  const out: Array<{ key: SortKey, dir: SortDir }> = []
  if (sort !== null) {
    if (keys.length > 0 || dirs.length > 0) throw Errors.badSort('The \'sort\' argument is not supported with \'sort_key\' or \'sort_dir\'.')
    for (const item of sort.split(',')) {
      const [key, dir = 'desc', extra] = item.trim().split(':')
      if (extra !== undefined) throw Errors.badSort(`Invalid sort value: ${item}`)
      out.push({ key: sortKey(key), dir: sortDir(dir) })
    }
  } else {
    if (dirs.length > 1 && dirs.length !== keys.length) {
      throw Errors.badSort('Number of sort dirs does not match the number of sort keys')
    }
    if (dirs.length > 0 && keys.length === 0) keys.push('created_at')
    keys.forEach((key, i) => out.push({ key: sortKey(key), dir: sortDir(dirs.length === 1 ? dirs[0] : dirs[i] ?? 'desc') }))
  }
  // Glance's tiebreakers: created_at, then id, so paging never skips or repeats a row.
  const tieDir = out[0]?.dir ?? 'desc'
  if (!out.some((s) => s.key === 'created_at')) out.push({ key: 'created_at', dir: tieDir })
  if (!out.some((s) => s.key === 'id')) out.push({ key: 'id', dir: tieDir })
  return out
}

function sortKey (key: string): SortKey {
  if (!(SORT_KEYS as readonly string[]).includes(key)) throw Errors.badSortKey(key)
  return key as SortKey
}

function sortDir (dir: string): SortDir {
  if (dir !== 'asc' && dir !== 'desc') throw Errors.badSortDir(dir)
  return dir
}

/** `in:a,"b,c"` or a plain value. A comparison operator on these fields is a 400. */
function parseIn (key: string, value: string): string[] {
  if (value.startsWith('in:')) {
    const items: string[] = []
    const re = /\s*(?:"((?:[^"\\]|\\.)*)"|([^,]*))\s*(?:,|$)/g
    const body = value.slice(3)
    let m: RegExpExecArray | null
    while ((m = re.exec(body)) !== null && m.index < body.length) {
      items.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2])
    }
    return items
  }
  const op = /^(eq|neq|gt|gte|lt|lte):/.exec(value)
  if (op !== null && op[1] !== 'eq') throw Errors.badFilter(`Unable to filter by ${key} using operator ${op[1]}`)
  return [op !== null ? value.slice(3) : value]
}

function parseTime (column: 'created_at' | 'updated_at', value: string): { column: 'created_at' | 'updated_at', op: TimeOp, at: Date } {
  const m = /^(gt|gte|eq|neq|lt|lte):(.+)$/.exec(value)
  const op = (m?.[1] ?? 'eq') as TimeOp
  const text = m?.[2] ?? value
  const at = new Date(text)
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(at.getTime())) {
    throw Errors.badFilter(`Unable to filter on a ${column} of '${text}': not an ISO 8601 date-time`)
  }
  return { column, op, at }
}

function parseInteger (key: string, value: string): number {
  if (!/^\d+$/.test(value)) throw Errors.badFilter(`Unable to filter on a range with a non-numeric value: ${key}=${value}`)
  return Number(value)
}

function parseBool (key: string, value: string): boolean {
  const lower = value.toLowerCase()
  if (lower === 'true') return true
  if (lower === 'false') return false
  throw Errors.badFilter(`Invalid value for ${key}: ${value}; expected true or false`)
}
