// /v2/metadefs/namespaces/{namespace}/properties[/{property}] (glance/api/v2/
// metadef_properties.py, and the namespace controller's "delete all properties").

import type { AppContext } from '../../context.js'
import { Errors } from '../../errors.js'
import type { Exchange } from '../exchange.js'
import type { Routes } from '../router.js'
import { unstorable, visibleNamespace } from './metadefs-lookup.js'
import { enforceMetadef } from '../../pipeline/metadef-policy.js'
import { PROPERTY_SCHEMA } from '../../domain/metadef-schemas.js'
import { normalizeProperty } from '../../domain/metadef-property.js'
import { checkBody, checkDefinitions, formatProperties, formatProperty } from '../../domain/metadefs.js'
import { deleteNamespaceContent } from '../../registry/metadefs-namespaces.js'
import { deleteProperty, findProperty, insertProperty, listProperties, updateProperty, type PropertyRecord } from '../../registry/metadefs-properties.js'
import { listAssociations, resourceTypeExists } from '../../registry/metadefs-resource-types.js'
import { notifyMetadef } from '../../pipeline/metadef-notifier.js'
import { deletedNow, namespacePayload, propertyPayload } from '../../domain/metadef-notifications.js'

const READ_ONLY = ['created_at', 'updated_at']

async function existing (ctx: AppContext, namespaceId: number, name: string): Promise<PropertyRecord> {
  const row = unstorable(name) ? undefined : await findProperty(ctx.sql, namespaceId, name)
  if (row === undefined) throw Errors.metadefPropertyNotFound(name)
  return row
}

/** The stored definition: what the body says, less its name (the row's key). */
function definitionOf (body: Record<string, unknown>): Record<string, unknown> {
  return normalizeProperty(body)
}

async function list (ex: Exchange, ctx: AppContext): Promise<void> {
  const ns = await visibleNamespace(ctx, ex, ex.params[0], 'other')
  enforceMetadef(ctx.policy, ex.identity, 'get_metadef_properties', ns)
  ex.json(200, { properties: formatProperties(await listProperties(ctx.sql, ns.id)) })
}

async function create (ex: Exchange, ctx: AppContext): Promise<void> {
  checkBody(ex.body, PROPERTY_SCHEMA, READ_ONLY)
  checkDefinitions({ [String(ex.body.name)]: ex.body })
  const ns = await visibleNamespace(ctx, ex, ex.params[0], 'other')
  enforceMetadef(ctx.policy, ex.identity, 'add_metadef_property', ns)
  const row = await insertProperty(ctx.sql, ns.id, ns.namespace, String(ex.body.name), definitionOf(ex.body), new Date())
  notifyMetadef(ctx.notifier, 'metadef_property.create', () => propertyPayload(ns.namespace, row, row.name))
  ex.json(201, formatProperty(row))
}

async function show (ex: Exchange, ctx: AppContext): Promise<void> {
  const ns = await visibleNamespace(ctx, ex, ex.params[0], 'other')
  enforceMetadef(ctx.policy, ex.identity, 'get_metadef_property', ns)
  let name = ex.params[1]
  const resourceType = ex.query.get('resource_type')
  if (resourceType !== null && resourceType !== '') {
    // ?resource_type=: the name is given with that resource type's prefix (hw_cpu_policy)
    enforceMetadef(ctx.policy, ex.identity, 'get_metadef_resource_type', ns)
    if (unstorable(resourceType) || !await resourceTypeExists(ctx.sql, resourceType)) throw Errors.metadefResourceTypeNotFound(resourceType)
    const association = (await listAssociations(ctx.sql, [ns.id])).find((a) => a.name === resourceType)
    if (association === undefined) throw Errors.metadefAssociationNotFound(resourceType, ns.namespace)
    const prefix = association.prefix
    if (prefix === null || prefix === '' || !name.startsWith(prefix)) throw Errors.metadefPropertyPrefix(name, String(prefix))
    name = name.slice(prefix.length)
  }
  ex.json(200, formatProperty(await existing(ctx, ns.id, name)))
}

async function update (ex: Exchange, ctx: AppContext): Promise<void> {
  checkBody(ex.body, PROPERTY_SCHEMA, READ_ONLY)
  checkDefinitions({ [String(ex.body.name)]: ex.body })
  const ns = await visibleNamespace(ctx, ex, ex.params[0], 'other')
  enforceMetadef(ctx.policy, ex.identity, 'modify_metadef_property', ns)
  const before = await existing(ctx, ns.id, ex.params[1])
  const row = await updateProperty(ctx.sql, before.id, ns.namespace, before.name, String(ex.body.name), definitionOf(ex.body))
  if (row === undefined) throw Errors.metadefPropertyNotFound(ex.params[1])
  notifyMetadef(ctx.notifier, 'metadef_property.update', () => propertyPayload(ns.namespace, row, before.name))
  ex.json(200, formatProperty(row))
}

async function remove (ex: Exchange, ctx: AppContext): Promise<void> {
  const ns = await visibleNamespace(ctx, ex, ex.params[0], 'other')
  enforceMetadef(ctx.policy, ex.identity, 'remove_metadef_property', ns)
  const row = await existing(ctx, ns.id, ex.params[1])
  if (ns.protected === true) throw Errors.metadefPropertyProtected(row.name)
  if (!await deleteProperty(ctx.sql, row.id)) throw Errors.metadefPropertyNotFound(row.name)
  notifyMetadef(ctx.notifier, 'metadef_property.delete', () => propertyPayload(ns.namespace, row, row.name, deletedNow()))
  ex.empty(204)
}

async function removeAll (ex: Exchange, ctx: AppContext): Promise<void> {
  const ns = await visibleNamespace(ctx, ex, ex.params[0], 'other')
  enforceMetadef(ctx.policy, ex.identity, 'delete_metadef_namespace', ns)
  if (ns.protected === true) throw Errors.metadefNamespaceProtected(ns.namespace)
  await deleteNamespaceContent(ctx.sql, ns.id, 'properties')
  notifyMetadef(ctx.notifier, 'metadef_namespace.delete_properties', () => namespacePayload(ns, ns.namespace))
  ex.empty(204)
}

export const metadefPropertyRoutes: Routes<AppContext> = {
  '/v2/metadefs/namespaces/:namespace/properties': {
    GET: { handle: list },
    POST: { body: 'json', handle: create },
    DELETE: { handle: removeAll }
  },
  '/v2/metadefs/namespaces/:namespace/properties/:property': {
    GET: { handle: show },
    PUT: { body: 'json', handle: update },
    DELETE: { handle: remove }
  }
}
