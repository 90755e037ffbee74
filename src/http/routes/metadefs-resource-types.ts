// /v2/metadefs/resource_types and /v2/metadefs/namespaces/{namespace}/resource_types[/{name}]
// (glance/api/v2/metadef_resource_types.py): the resource types known, and which of them a
// namespace applies to, with the prefix its properties take there.

import type { AppContext } from '../../context.js'
import { Errors } from '../../errors.js'
import type { Exchange } from '../exchange.js'
import type { Routes } from '../router.js'
import { visibleNamespace } from './metadefs-lookup.js'
import { enforceMetadef, metadefAllowed } from '../../pipeline/metadef-policy.js'
import { RESOURCE_TYPE_ASSOCIATION_SCHEMA } from '../../domain/metadef-schemas.js'
import { checkBody, formatAssociation, formatResourceType } from '../../domain/metadefs.js'
import { deleteAssociation, insertAssociation, listAssociations, listResourceTypes } from '../../registry/metadefs-resource-types.js'
import { notifyMetadef } from '../../pipeline/metadef-notifier.js'
import { deletedNow, resourceTypePayload } from '../../domain/metadef-notifications.js'

const READ_ONLY = ['created_at', 'updated_at']

async function listAll (ex: Exchange, ctx: AppContext): Promise<void> {
  enforceMetadef(ctx.policy, ex.identity, 'list_metadef_resource_types')
  ex.json(200, { resource_types: (await listResourceTypes(ctx.sql)).map(formatResourceType) })
}

async function listForNamespace (ex: Exchange, ctx: AppContext): Promise<void> {
  const ns = await visibleNamespace(ctx, ex, ex.params[0], 'other')
  enforceMetadef(ctx.policy, ex.identity, 'list_metadef_resource_types', ns)
  const rows = await listAssociations(ctx.sql, [ns.id])
  // each association also passes get_metadef_resource_type (Glance checks them one by one)
  const allowed = metadefAllowed(ctx.policy, ex.identity, 'get_metadef_resource_type', ns)
  ex.json(200, { resource_type_associations: allowed ? rows.map(formatAssociation) : [] })
}

async function associate (ex: Exchange, ctx: AppContext): Promise<void> {
  checkBody(ex.body, RESOURCE_TYPE_ASSOCIATION_SCHEMA, READ_ONLY)
  const ns = await visibleNamespace(ctx, ex, ex.params[0], 'other')
  enforceMetadef(ctx.policy, ex.identity, 'add_metadef_resource_type_association', ns)
  const body = ex.body as Record<string, any>
  const row = await insertAssociation(ctx.sql, ns.id, ns.namespace, {
    name: body.name, prefix: body.prefix ?? null, properties_target: body.properties_target ?? null
  }, new Date())
  notifyMetadef(ctx.notifier, 'metadef_resource_type.create', () => resourceTypePayload(ns.namespace, row))
  ex.json(201, formatAssociation(row))
}

async function dissociate (ex: Exchange, ctx: AppContext): Promise<void> {
  const ns = await visibleNamespace(ctx, ex, ex.params[0], 'other')
  enforceMetadef(ctx.policy, ex.identity, 'remove_metadef_resource_type_association', ns)
  const name = ex.params[1]
  const found = (await listAssociations(ctx.sql, [ns.id])).find((a) => a.name === name)
  if (found === undefined) throw Errors.metadefAssociationMissing(name)
  if (ns.protected === true) throw Errors.metadefAssociationProtected(name)
  if (!await deleteAssociation(ctx.sql, ns.id, name)) throw Errors.metadefAssociationMissing(name)
  notifyMetadef(ctx.notifier, 'metadef_resource_type.delete', () => resourceTypePayload(ns.namespace, found, deletedNow()))
  ex.empty(204)
}

export const metadefResourceTypeRoutes: Routes<AppContext> = {
  '/v2/metadefs/resource_types': {
    GET: { handle: listAll }
  },
  '/v2/metadefs/namespaces/:namespace/resource_types': {
    GET: { handle: listForNamespace },
    POST: { body: 'json', handle: associate }
  },
  '/v2/metadefs/namespaces/:namespace/resource_types/:resource_type': {
    DELETE: { handle: dissociate }
  }
}
