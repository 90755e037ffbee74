// The image list query: visibility as Glance's DB layer decides it, every filter, keyset
// paging after a marker over the requested sort keys.

import type { Sql } from 'postgres'
import type { Identity } from '../pipeline/identity.js'
import type { ListQuery, SortKey } from '../domain/list-query.js'
import { Errors } from '../http/errors.js'
import { findImage, selectImages, type ImageRecord } from './images.js'

export async function listImages (sql: Sql, q: ListQuery, who: Identity): Promise<{ images: ImageRecord[], next?: string }> {
  if (q.marker !== undefined) {
    const marker = /^[0-9a-f-]{36}$/i.test(q.marker) ? await findImage(sql, q.marker, who) : undefined
    if (marker === undefined) throw Errors.badMarker(q.marker)
  }
  const sortExpr: Record<SortKey, ReturnType<typeof sql>> = {
    // nullable keys are coalesced so that ordering and the marker comparison agree
    name: sql`coalesce(i.name, '')`,
    status: sql`i.status`,
    container_format: sql`coalesce(i.container_format, '')`,
    disk_format: sql`coalesce(i.disk_format, '')`,
    size: sql`coalesce(i.size, -1)`,
    id: sql`i.id`,
    created_at: sql`i.created_at`,
    updated_at: sql`i.updated_at`
  }
  const conditions = [sql`not i.deleted`, sql`i.status <> 'killed'`, visibility(sql, q, who), ...filters(sql, q)]
  if (q.marker !== undefined) conditions.push(afterMarker(sql, q, sortExpr))
  const where = conditions.reduce((acc, c) => sql`${acc} and ${c}`)
  const order = q.sort
    .map(({ key, dir }) => sql`${sortExpr[key]} ${dir === 'asc' ? sql`asc` : sql`desc`}`)
    .reduce((acc, item) => sql`${acc}, ${item}`)
  const images = await sql<ImageRecord[]>`${selectImages(sql)} where ${where} order by ${order} limit ${q.limit}`
  const full = images.length > 0 && images.length === q.limit
  return { images, next: full ? images[images.length - 1].id : undefined }
}

function visibility (sql: Sql, q: ListQuery, who: Identity) {
  const me = who.projectId
  const member = q.memberStatus === 'all'
    ? sql`exists (select 1 from image_members m where m.image_id = i.id and m.member = ${me})`
    : sql`exists (select 1 from image_members m where m.image_id = i.id and m.member = ${me} and m.status = ${q.memberStatus})`
  if (who.isAdmin) {
    if (q.visibility === undefined) return sql`(i.visibility <> 'community' or i.owner = ${me})`
    return q.visibility === 'all' ? sql`true` : sql`i.visibility = ${q.visibility}`
  }
  switch (q.visibility) {
    case 'public': return sql`i.visibility = 'public'`
    case 'community': return sql`i.visibility = 'community'`
    case 'private': return sql`(i.visibility = 'private' and i.owner = ${me})`
    case 'shared': return sql`(i.visibility = 'shared' and (i.owner = ${me} or ${member}))`
    case 'all': return sql`(i.visibility in ('public', 'community') or i.owner = ${me} or (i.visibility = 'shared' and ${member}))`
    default: return sql`(i.visibility = 'public' or i.owner = ${me} or (i.visibility = 'shared' and ${member}))`
  }
}

function filters (sql: Sql, q: ListQuery) {
  const out = []
  for (const [column, values] of Object.entries(q.inFilters)) {
    out.push(sql`${sql('i.' + column)}::text in ${sql(values as string[])}`)
  }
  for (const t of q.times) {
    const col = sql(`i.${t.column}`)
    const op = { gt: sql`>`, gte: sql`>=`, eq: sql`=`, neq: sql`<>`, lt: sql`<`, lte: sql`<=` }[t.op]
    // Glance timestamps have whole seconds: compare at that precision
    out.push(sql`date_trunc('second', ${col}) ${op} ${t.at}`)
  }
  if (q.sizeMin !== undefined) out.push(sql`i.size >= ${q.sizeMin}`)
  if (q.sizeMax !== undefined) out.push(sql`i.size <= ${q.sizeMax}`)
  if (q.size !== undefined) out.push(sql`i.size = ${q.size}`)
  if (q.owner !== undefined) out.push(sql`i.owner = ${q.owner}`)
  if (q.protected !== undefined) out.push(sql`i.protected = ${q.protected}`)
  out.push(sql`i.os_hidden = ${q.osHidden}`)
  if (q.checksum !== undefined) out.push(sql`i.checksum = ${q.checksum}`)
  if (q.osHashValue !== undefined) out.push(sql`i.os_hash_value = ${q.osHashValue}`)
  for (const tag of q.tags) out.push(sql`exists (select 1 from image_tags t where t.image_id = i.id and t.value = ${tag})`)
  for (const [name, value] of q.properties) {
    out.push(sql`exists (select 1 from image_properties p where p.image_id = i.id and p.name = ${name} and p.value = ${value})`)
  }
  return out
}

/** Rows strictly after the marker in the requested order: (k1 > m1) or (k1 = m1 and k2 > m2) ... */
function afterMarker (sql: Sql, q: ListQuery, expr: Record<SortKey, ReturnType<typeof sql>>) {
  const markerValue = (key: SortKey) => sql`(select ${expr[key]} from images i where i.id = ${q.marker!})`
  const terms = q.sort.map((s, n) => {
    const equalBefore = q.sort.slice(0, n).map((p) => sql`${expr[p.key]} = ${markerValue(p.key)}`)
    const beyond = sql`${expr[s.key]} ${s.dir === 'asc' ? sql`>` : sql`<`} ${markerValue(s.key)}`
    return [...equalBefore, beyond].reduce((acc, c) => sql`${acc} and ${c}`)
  })
  return sql`(${terms.reduce((acc, t) => sql`${acc} or (${t})`, sql`false`)})`
}
