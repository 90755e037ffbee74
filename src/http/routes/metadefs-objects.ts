// /v2/metadefs/namespaces/{namespace}/objects[/{object}] (glance/api/v2/metadef_objects.py,
// and the namespace controller's "delete all objects").

import type { AppContext } from '../../context.js'
import { Errors } from '../../errors.js'
import type { Exchange } from '../exchange.js'
import type { Routes } from '../router.js'
import { unstorable, visibleNamespace } from './metadefs-lookup.js'
import { checkListQuery } from './metadefs-query.js'
import { enforceMetadef, metadefAllowed } from '../../pipeline/metadef-policy.js'
import { OBJECT_PROPERTY_SCHEMA, OBJECT_SCHEMA } from '../../domain/metadef-schemas.js'
import { normalizeProperties } from '../../domain/metadef-property.js'
import { isoTime } from '../../domain/image.js'
import { checkBody, checkDefinitions, formatObject, OBJECT_SCHEMA_LINK, objectHref } from '../../domain/metadefs.js'
import { deleteNamespaceContent } from '../../registry/metadefs-namespaces.js'
import { deleteObject, findObject, insertObject, listObjects, updateObject, type ObjectRecord, type ObjectValues } from '../../registry/metadefs-objects.js'
import { notifyMetadef } from '../../pipeline/metadef-notifier.js'
import { deletedNow, namespacePayload, objectPayload } from '../../domain/metadef-notifications.js'

const READ_ONLY = ['self', 'schema', 'created_at', 'updated_at']

function valuesFromBody (body: Record<string, any>): ObjectValues {
  return {
    name: body.name,
    description: body.description ?? null,
    required: body.required ?? null,
    properties: normalizeProperties(body.properties)
  }
}

/** How Glance answers a create or update: the object it holds in memory, not a re-read. */
function savedView (row: ObjectRecord, body: Record<string, any>, namespace: string, times: { created: Date, updated: Date | null }): Record<string, unknown> {
  const out: Record<string, unknown> = { name: row.name }
  if (Array.isArray(body.required)) out.required = body.required
  if (typeof body.description === 'string') out.description = body.description
  if (body.properties !== undefined && body.properties !== null) out.properties = normalizeProperties(body.properties)
  out.created_at = isoTime(times.created)
  if (times.updated !== null) out.updated_at = isoTime(times.updated)
  out.self = objectHref(namespace, row.name)
  out.schema = OBJECT_SCHEMA_LINK
  return out
}

async function existing (ctx: AppContext, namespaceId: number, name: string): Promise<ObjectRecord> {
  const row = unstorable(name) ? undefined : await findObject(ctx.sql, namespaceId, name)
  if (row === undefined) throw Errors.metadefObjectNotFound(name)
  return row
}

async function list (ex: Exchange, ctx: AppContext): Promise<void> {
  checkListQuery(ex, { zeroLimit: false })
  const ns = await visibleNamespace(ctx, ex, ex.params[0], 'objects')
  enforceMetadef(ctx.policy, ex.identity, 'get_metadef_objects', ns)
  // each object also passes get_metadef_object (Glance checks them one by one, on their namespace)
  const rows = metadefAllowed(ctx.policy, ex.identity, 'get_metadef_object', ns) ? await listObjects(ctx.sql, ns.id) : []
  // Glance's link really lacks the leading slash.
  ex.json(200, { objects: rows.map((o) => formatObject(o, ns.namespace)), schema: 'v2/schemas/metadefs/objects' })
}

async function create (ex: Exchange, ctx: AppContext): Promise<void> {
  checkBody(ex.body, OBJECT_SCHEMA, READ_ONLY)
  const body = ex.body as Record<string, any>
  for (const definition of Object.values(body.properties ?? {})) checkBody(definition, OBJECT_PROPERTY_SCHEMA, [])
  checkDefinitions(body.properties)
  const ns = await visibleNamespace(ctx, ex, ex.params[0], 'objects')
  enforceMetadef(ctx.policy, ex.identity, 'add_metadef_object', ns)
  const now = new Date()
  const row = await insertObject(ctx.sql, ns.id, ns.namespace, valuesFromBody(body), now)
  notifyMetadef(ctx.notifier, 'metadef_object.create', () => objectPayload(ns.namespace, row, row.name))
  ex.json(201, savedView(row, body, ns.namespace, { created: now, updated: now }))
}

async function show (ex: Exchange, ctx: AppContext): Promise<void> {
  const ns = await visibleNamespace(ctx, ex, ex.params[0], 'objects')
  enforceMetadef(ctx.policy, ex.identity, 'get_metadef_object', ns)
  ex.json(200, formatObject(await existing(ctx, ns.id, ex.params[1]), ns.namespace))
}

async function update (ex: Exchange, ctx: AppContext): Promise<void> {
  checkBody(ex.body, OBJECT_SCHEMA, READ_ONLY)
  checkDefinitions(ex.body.properties)
  const ns = await visibleNamespace(ctx, ex, ex.params[0], 'objects')
  enforceMetadef(ctx.policy, ex.identity, 'modify_metadef_object', ns)
  const before = await existing(ctx, ns.id, ex.params[1])
  const row = await updateObject(ctx.sql, before.id, ns.namespace, before.name, valuesFromBody(ex.body))
  if (row === undefined) throw Errors.metadefObjectNotFound(ex.params[1])
  notifyMetadef(ctx.notifier, 'metadef_object.update', () => objectPayload(ns.namespace, row, before.name))
  ex.json(200, savedView(row, ex.body, ns.namespace, { created: before.created_at, updated: before.updated_at }))
}

async function remove (ex: Exchange, ctx: AppContext): Promise<void> {
  const ns = await visibleNamespace(ctx, ex, ex.params[0], 'objects')
  enforceMetadef(ctx.policy, ex.identity, 'delete_metadef_object', ns)
  const row = await existing(ctx, ns.id, ex.params[1])
  if (ns.protected === true) throw Errors.metadefObjectProtected(row.name)
  if (!await deleteObject(ctx.sql, row.id)) throw Errors.metadefObjectNotFound(row.name)
  notifyMetadef(ctx.notifier, 'metadef_object.delete', () => objectPayload(ns.namespace, row, row.name, deletedNow()))
  ex.empty(204)
}

async function removeAll (ex: Exchange, ctx: AppContext): Promise<void> {
  const ns = await visibleNamespace(ctx, ex, ex.params[0], 'other')
  enforceMetadef(ctx.policy, ex.identity, 'delete_metadef_namespace', ns)
  if (ns.protected === true) throw Errors.metadefNamespaceProtected(ns.namespace)
  await deleteNamespaceContent(ctx.sql, ns.id, 'objects')
  notifyMetadef(ctx.notifier, 'metadef_namespace.delete_objects', () => namespacePayload(ns, ns.namespace))
  ex.empty(204)
}

export const metadefObjectRoutes: Routes<AppContext> = {
  '/v2/metadefs/namespaces/:namespace/objects': {
    GET: { handle: list },
    POST: { body: 'json', handle: create },
    DELETE: { handle: removeAll }
  },
  '/v2/metadefs/namespaces/:namespace/objects/:object': {
    GET: { handle: show },
    PUT: { body: 'json', handle: update },
    DELETE: { handle: remove }
  }
}
