// /v2/metadefs/namespaces/{namespace}/tags[/{tag}] (glance/api/v2/metadef_tags.py): POST on
// tags creates several (replacing the others unless X-Openstack-Append is true), POST on
// tags/{tag} creates one.

import type { AppContext } from '../../context.js'
import { Errors } from '../../errors.js'
import type { Exchange } from '../exchange.js'
import type { Routes } from '../router.js'
import { unstorable, visibleNamespace } from './metadefs-lookup.js'
import { checkListQuery } from './metadefs-query.js'
import { enforceMetadef } from '../../pipeline/metadef-policy.js'
import { TAG_LIST_SCHEMA, TAG_SCHEMA } from '../../domain/metadef-schemas.js'
import { boolFromString, checkBody, comesAfter, formatTag, pagingKeys } from '../../domain/metadefs.js'
import { deleteNamespaceContent } from '../../registry/metadefs-namespaces.js'
import { deleteTag, findTag, insertTag, insertTags, listTags, renameTag, TAG_SORT_KEYS, type TagRecord } from '../../registry/metadefs-tags.js'
import { notifyMetadef } from '../../pipeline/metadef-notifier.js'
import { deletedNow, namespacePayload, tagPayload } from '../../domain/metadef-notifications.js'

const READ_ONLY = ['created_at', 'updated_at']

async function existing (ctx: AppContext, namespaceId: number, name: string): Promise<TagRecord> {
  const row = unstorable(name) ? undefined : await findTag(ctx.sql, namespaceId, name)
  if (row === undefined) throw Errors.metadefTagNotFound(name)
  return row
}

async function list (ex: Exchange, ctx: AppContext): Promise<void> {
  const query = checkListQuery(ex, { zeroLimit: true })
  if (!TAG_SORT_KEYS.includes(query.sortKey)) throw Errors.metadefBadSortKey(query.sortKey)
  const ns = await visibleNamespace(ctx, ex, ex.params[0], 'other')
  enforceMetadef(ctx.policy, ex.identity, 'get_metadef_tags', ns)
  const marker = query.marker !== undefined ? await existing(ctx, ns.id, query.marker) : undefined
  let rows = await listTags(ctx.sql, ns.id, query.sortKey, query.sortDir)
  if (marker !== undefined) rows = rows.filter((row) => comesAfter(row, marker, pagingKeys(query.sortKey), query.sortDir))
  if (query.limit !== undefined) rows = rows.slice(0, query.limit)
  ex.json(200, { tags: rows.map((t) => formatTag(t, false)) })
}

async function createMany (ex: Exchange, ctx: AppContext): Promise<void> {
  checkBody(ex.body, TAG_LIST_SCHEMA, READ_ONLY)
  const ns = await visibleNamespace(ctx, ex, ex.params[0], 'other')
  enforceMetadef(ctx.policy, ex.identity, 'add_metadef_tags', ns)
  const names = ((ex.body.tags ?? []) as Array<{ name: string }>).map((t) => t.name)
  const rows = await insertTags(ctx.sql, ns.id, ns.namespace, names, boolFromString(ex.headers['x-openstack-append']))
  for (const tag of rows) notifyMetadef(ctx.notifier, 'metadef_tag.create', () => tagPayload(ns.namespace, tag, tag.name))
  ex.json(201, { tags: rows.map((t) => formatTag(t, false)) })
}

async function createOne (ex: Exchange, ctx: AppContext): Promise<void> {
  const ns = await visibleNamespace(ctx, ex, ex.params[0], 'other')
  checkBody({ name: ex.params[1] }, TAG_SCHEMA, [])
  enforceMetadef(ctx.policy, ex.identity, 'add_metadef_tag', ns)
  const tag = await insertTag(ctx.sql, ns.id, ns.namespace, ex.params[1], new Date())
  notifyMetadef(ctx.notifier, 'metadef_tag.create', () => tagPayload(ns.namespace, tag, tag.name))
  ex.json(201, formatTag(tag))
}

async function show (ex: Exchange, ctx: AppContext): Promise<void> {
  const ns = await visibleNamespace(ctx, ex, ex.params[0], 'other')
  enforceMetadef(ctx.policy, ex.identity, 'get_metadef_tag', ns)
  ex.json(200, formatTag(await existing(ctx, ns.id, ex.params[1])))
}

async function update (ex: Exchange, ctx: AppContext): Promise<void> {
  checkBody(ex.body, TAG_SCHEMA, READ_ONLY)
  const ns = await visibleNamespace(ctx, ex, ex.params[0], 'other')
  enforceMetadef(ctx.policy, ex.identity, 'modify_metadef_tag', ns)
  const before = await existing(ctx, ns.id, ex.params[1])
  const row = await renameTag(ctx.sql, before.id, ns.namespace, String(ex.body.name))
  if (row === undefined) throw Errors.metadefTagNotFound(ex.params[1])
  // Glance answers with the tag it saved, timestamps as it loaded them
  notifyMetadef(ctx.notifier, 'metadef_tag.update', () => tagPayload(ns.namespace, { ...before, name: row.name }, before.name))
  ex.json(200, formatTag({ ...before, name: row.name }))
}

async function remove (ex: Exchange, ctx: AppContext): Promise<void> {
  const ns = await visibleNamespace(ctx, ex, ex.params[0], 'other')
  enforceMetadef(ctx.policy, ex.identity, 'delete_metadef_tag', ns)
  const row = await existing(ctx, ns.id, ex.params[1])
  if (ns.protected === true) throw Errors.metadefTagProtected(row.name)
  if (!await deleteTag(ctx.sql, row.id)) throw Errors.metadefTagNotFound(row.name)
  notifyMetadef(ctx.notifier, 'metadef_tag.delete', () => tagPayload(ns.namespace, row, row.name, deletedNow()))
  ex.empty(204)
}

async function removeAll (ex: Exchange, ctx: AppContext): Promise<void> {
  const ns = await visibleNamespace(ctx, ex, ex.params[0], 'other')
  enforceMetadef(ctx.policy, ex.identity, 'delete_metadef_namespace', ns)
  enforceMetadef(ctx.policy, ex.identity, 'delete_metadef_tags', ns)
  if (ns.protected === true) throw Errors.metadefNamespaceProtected(ns.namespace)
  await deleteNamespaceContent(ctx.sql, ns.id, 'tags')
  notifyMetadef(ctx.notifier, 'metadef_namespace.delete_tags', () => namespacePayload(ns, ns.namespace))
  ex.empty(204)
}

export const metadefTagRoutes: Routes<AppContext> = {
  '/v2/metadefs/namespaces/:namespace/tags': {
    GET: { handle: list },
    POST: { body: 'json', handle: createMany },
    DELETE: { handle: removeAll }
  },
  '/v2/metadefs/namespaces/:namespace/tags/:tag': {
    GET: { handle: show },
    POST: { handle: createOne },
    PUT: { body: 'json', handle: update },
    DELETE: { handle: remove }
  }
}
