// The query checks the objects' and tags' list deserializers make (sort_dir, visibility,
// limit) before their controllers run.

import { Errors } from '../../errors.js'
import type { Exchange } from '../exchange.js'

export interface ListQuery { limit?: number, marker?: string, sortKey: string, sortDir: 'asc' | 'desc' }

/** `zeroLimit`: whether limit=0 is accepted (tags) or refused as not positive (objects). */
export function checkListQuery (ex: Exchange, opts: { zeroLimit: boolean }): ListQuery {
  const sortDir = ex.query.get('sort_dir') ?? 'desc'
  if (sortDir !== 'asc' && sortDir !== 'desc') throw Errors.badSortDir(sortDir)
  const visibility = ex.query.get('visibility')
  if (visibility !== null && visibility !== '' && !['public', 'private', 'shared'].includes(visibility)) throw Errors.metadefBadVisibility(visibility)
  const out: ListQuery = { sortKey: ex.query.get('sort_key') ?? 'created_at', sortDir }
  const raw = ex.query.get('limit')
  if (raw !== null && raw !== '') {
    if (!/^\s*[-+]?\d+\s*$/.test(raw)) throw Errors.badLimit('limit param must be an integer')
    const limit = Number(raw)
    if (limit < 0 || (limit === 0 && !opts.zeroLimit)) throw Errors.badLimit('limit param must be positive')
    out.limit = limit
  }
  const marker = ex.query.get('marker')
  if (marker !== null && marker !== '') out.marker = marker
  return out
}
