// The image list query: visibility as Glance's DB layer decides it (_select_images_query,
// image_get_all), every filter, and keyset paging after a marker over the requested sort keys.

import type { Sql } from 'postgres'
import type { Identity } from '../identity.js'
import type { Filter, ListQuery, SortKey } from '../domain/list-query.js'
import { Errors } from '../errors.js'
import { findImage, selectImages, type ImageRecord } from './images.js'

type Fragment = ReturnType<Sql['unsafe']>

export async function listImages (sql: Sql, q: ListQuery, who: Identity): Promise<{ images: ImageRecord[], next?: string }> {
  // The marker must be an image the caller may see (else it would reveal that it exists).
  if (q.marker !== undefined && (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(q.marker) ||
      await findImage(sql, q.marker, who) === undefined)) {
    throw Errors.badMarker(q.marker)
  }
  // Nullable keys are coalesced (NULL first ascending, as MySQL orders them for Glance) so
  // that the ORDER BY and the marker comparison agree and paging never skips or repeats.
  const sortExpr: Record<SortKey, Fragment> = {
    name: sql`coalesce(i.name, '')`,
    status: sql`i.status`,
    container_format: sql`coalesce(i.container_format, '')`,
    disk_format: sql`coalesce(i.disk_format, '')`,
    size: sql`coalesce(i.size, -1)`,
    id: sql`i.id`,
    created_at: sql`i.created_at`,
    updated_at: sql`i.updated_at`
  }
  const conditions = [sql`not i.deleted`, sql`i.status <> 'killed'`, ...visibility(sql, q, who),
    sql`i.os_hidden = ${q.osHidden}`, ...q.filters.flatMap((f) => filter(sql, f) ?? []),
    ...tagsAndProperties(sql, q.filters)]
  if (q.marker !== undefined) conditions.push(afterMarker(sql, q, sortExpr))
  const where = conditions.reduce((acc, c) => sql`${acc} and ${c}`)
  const order = q.sort
    .map(({ key, dir }) => sql`${sortExpr[key]} ${dir === 'asc' ? sql`asc` : sql`desc`}`)
    .reduce((acc, item) => sql`${acc}, ${item}`)
  const images = await sql<ImageRecord[]>`${selectImages(sql)} where ${where} order by ${order} limit ${q.limit}`
  // Glance: a next link whenever the page came back full.
  const full = images.length > 0 && images.length === q.limit
  return { images, next: full ? images[images.length - 1].id : undefined }
}

/**
 * Non-admins see public and community images, their own, and shared images whose
 * membership has the requested member_status; admins see everything. Then a visibility
 * filter keeps only that visibility, and without one community images show only when owned.
 */
function visibility (sql: Sql, q: ListQuery, who: Identity): Fragment[] {
  const me = who.projectId
  const out: Fragment[] = []
  if (!who.isAdmin) {
    const status = q.memberStatus === 'all' ? sql`` : sql`and m.status = ${q.memberStatus}`
    out.push(sql`(i.visibility in ('public', 'community') or i.owner = ${me}
      or (i.visibility = 'shared' and exists (select 1 from image_members m where m.image_id = i.id and m.member = ${me} ${status})))`)
  }
  if (q.visibility === undefined) out.push(sql`(i.visibility <> 'community' or i.owner = ${me})`)
  else if (q.visibility !== 'all') out.push(sql`i.visibility = ${q.visibility}`)
  return out
}

function filter (sql: Sql, f: Filter): Fragment | undefined {
  switch (f.kind) {
    case 'in':
      if (f.values.length === 0) return sql`false`
      return sql`${sql('i.' + f.column)}::text in ${sql(f.values)}`
    case 'time': {
      const op = { gt: sql`>`, gte: sql`>=`, eq: sql`=`, neq: sql`<>`, lt: sql`<`, lte: sql`<=` }[f.op]
      // Clients see whole seconds (isotime): compare at that precision so eq: matches what they saw.
      return sql`date_trunc('second', ${sql('i.' + f.column)}) ${op} ${f.at}`
    }
    // compared as bigint: a bound past min_disk's 4-byte range simply matches nothing (or all)
    case 'min': return sql`${sql('i.' + f.column)}::bigint >= ${f.value}`
    case 'max': return sql`${sql('i.' + f.column)}::bigint <= ${f.value}`
    case 'equals':
      if (typeof f.value === 'number') return sql`${sql('i.' + f.column)}::bigint = ${f.value}`
      return sql`${sql('i.' + f.column)} = ${f.value}`
    case 'nothing': return sql`false`
    // one condition for all of them: tagsAndProperties
    case 'tag': case 'property': return undefined
  }
}

/**
 * Every tag and property filter as one counted subquery each, not one EXISTS per filter:
 * the planner's work then stays flat in the number of filters (32 EXISTS took the embedded
 * registry seconds to plan).
 */
function tagsAndProperties (sql: Sql, filters: Filter[]): Fragment[] {
  const out: Fragment[] = []
  const tags = [...new Set(filters.flatMap((f) => f.kind === 'tag' ? [f.value] : []))]
  if (tags.length > 0) {
    out.push(sql`(select count(*) from image_tags t where t.image_id = i.id and t.value = any(${sql.array(tags)}::text[])) = ${tags.length}`)
  }
  const properties = filters.flatMap((f) => f.kind === 'property' ? [f] : [])
  if (properties.length > 0) {
    const names = sql.array(properties.map((p) => p.name))
    const values = sql.array(properties.map((p) => p.value))
    out.push(sql`(select count(*) from image_properties p where p.image_id = i.id
      and (p.name, p.value) in (select * from unnest(${names}::text[], ${values}::text[]))) = ${properties.length}`)
  }
  return out
}

/** Rows strictly after the marker in the requested order: (k1 > m1) or (k1 = m1 and k2 > m2) ... */
function afterMarker (sql: Sql, q: ListQuery, expr: Record<SortKey, Fragment>): Fragment {
  const markerValue = (key: SortKey) => sql`(select ${expr[key]} from images i where i.id = ${q.marker!})`
  const terms = q.sort.map((s, n) => {
    const equalBefore = q.sort.slice(0, n).map((p) => sql`${expr[p.key]} = ${markerValue(p.key)}`)
    const beyond = sql`${expr[s.key]} ${s.dir === 'asc' ? sql`>` : sql`<`} ${markerValue(s.key)}`
    return [...equalBefore, beyond].reduce((acc, c) => sql`${acc} and ${c}`)
  })
  return sql`(${terms.reduce((acc, t) => sql`${acc} or (${t})`)})`
}
