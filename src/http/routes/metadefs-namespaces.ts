// /v2/metadefs/namespaces and /v2/metadefs/namespaces/{namespace} (glance/api/v2/
// metadef_namespaces.py): list with paging, sorting and the resource_types / visibility
// filters; create with its resource type associations, objects, properties and tags in one
// go; show (optionally with property names prefixed for one resource type); update; delete.

import type { AppContext } from '../../context.js'
import { Errors } from '../../errors.js'
import type { Exchange } from '../exchange.js'
import type { Routes } from '../router.js'
import { baseUrl } from './versions.js'
import { unstorable, visibleNamespace } from './metadefs-lookup.js'
import { enforceMetadef, metadefAllowed } from '../../pipeline/metadef-policy.js'
import { NAMESPACE_SCHEMA } from '../../domain/metadef-schemas.js'
import { normalizeProperties, normalizeProperty } from '../../domain/metadef-property.js'
import { isoTime } from '../../domain/image.js'
import {
  checkBody, checkDefinitions, comesAfter, formatAssociation, formatNamespace, formatObject, formatProperties, formatTag,
  NAMESPACE_SCHEMA_LINK, namespaceHref, pagingKeys, pyUrlencode
} from '../../domain/metadefs.js'
import {
  deleteNamespace, findNamespace, listNamespaces, namespaceVisible, NAMESPACE_SORT_KEYS,
  updateNamespace, type NamespaceRecord, type NamespaceValues
} from '../../registry/metadefs-namespaces.js'
import { createNamespaceWithContents } from '../../registry/metadefs-create.js'
import { listAssociations } from '../../registry/metadefs-resource-types.js'
import { listObjects } from '../../registry/metadefs-objects.js'
import { listProperties } from '../../registry/metadefs-properties.js'
import { listTags } from '../../registry/metadefs-tags.js'
import { notifyMetadef } from '../../pipeline/metadef-notifier.js'
import { deletedNow, namespacePayload, objectPayload, propertyPayload, resourceTypePayload, tagPayload } from '../../domain/metadef-notifications.js'

const READ_ONLY = ['self', 'schema', 'created_at', 'updated_at']

/** Glance's visibility filter check, made by both the list and the show deserializers. */
function checkVisibilityParam (ex: Exchange): string | undefined {
  const visibility = ex.query.get('visibility') ?? undefined
  if (visibility !== undefined && visibility !== '' && visibility !== 'public' && visibility !== 'private') throw Errors.metadefBadVisibility(visibility)
  return visibility
}

/** The query's parameters as Python's dict(request.params): a repeated name keeps its first place and last value. */
function queryParams (ex: Exchange): Map<string, string> {
  const params = new Map<string, string>()
  for (const [key, value] of ex.query) params.set(key, value)
  return params
}

function parseLimit (raw: string | null, ctx: AppContext): number {
  if (raw === null) return Math.min(ctx.config.limitMax, ctx.config.limitDefault)
  if (!/^\s*[-+]?\d+\s*$/.test(raw)) throw Errors.badLimit('limit param must be an integer')
  const limit = Math.min(ctx.config.limitMax, Number(raw))
  if (limit < 0) throw Errors.badLimit('limit param must be positive')
  return limit
}

async function list (ex: Exchange, ctx: AppContext): Promise<void> {
  const params = queryParams(ex)
  const limit = parseLimit(ex.query.get('limit'), ctx)
  const sortDir = ex.query.get('sort_dir') ?? 'desc'
  if (sortDir !== 'asc' && sortDir !== 'desc') throw Errors.badSortDir(sortDir)
  const sortKey = ex.query.get('sort_key') ?? 'created_at'
  if (!NAMESPACE_SORT_KEYS.includes(sortKey)) throw Errors.metadefBadSortKey(sortKey)
  const visibility = checkVisibilityParam(ex)
  enforceMetadef(ctx.policy, ex.identity, 'get_metadef_namespaces')
  enforceMetadef(ctx.policy, ex.identity, 'list_metadef_resource_types')

  const markerName = ex.query.get('marker')
  let marker: NamespaceRecord | undefined
  if (markerName !== null && markerName !== '') {
    marker = unstorable(markerName) ? undefined : await findNamespace(ctx.sql, markerName)
    if (marker === undefined) throw Errors.metadefNamespaceNotFound(markerName)
    if (!namespaceVisible(marker, ex.identity)) throw Errors.metadefMarkerHidden(markerName)
  }
  const resourceTypes = ex.query.get('resource_types')
  let rows = await listNamespaces(ctx.sql, ex.identity, {
    visibility,
    resourceTypes: resourceTypes !== null ? resourceTypes.split(',').filter((name) => !unstorable(name)) : undefined,
    sortKey,
    sortDir
  })
  if (marker !== undefined) rows = rows.filter((row) => comesAfter(row, marker, pagingKeys(sortKey), sortDir))
  // each one also passes get_metadef_namespace (Glance checks them one by one)
  const page = rows.filter((ns) => metadefAllowed(ctx.policy, ex.identity, 'get_metadef_namespace', ns)).slice(0, limit)

  const associations = await listAssociations(ctx.sql, page.map((ns) => ns.id))
  const namespaces = page.map((ns) => formatNamespace(ns, {
    resource_type_associations: associations.filter((a) => a.namespace_id === ns.id).map(formatAssociation)
  }))
  params.delete('marker')
  const query = pyUrlencode([...params])
  const body: Record<string, unknown> = { namespaces }
  if (page.length !== 0 && page.length === limit) {
    params.set('marker', page[page.length - 1].namespace)
    body.next = `/v2/metadefs/namespaces?${pyUrlencode([...params])}`
  }
  body.schema = '/v2/schemas/metadefs/namespaces'
  body.first = query === '' ? '/v2/metadefs/namespaces' : `/v2/metadefs/namespaces?${query}`
  ex.json(200, body)
}

async function show (ex: Exchange, ctx: AppContext): Promise<void> {
  checkVisibilityParam(ex)
  const ns = await visibleNamespace(ctx, ex, ex.params[0], 'namespace')
  for (const action of ['get_metadef_namespace', 'list_metadef_resource_types', 'get_metadef_objects', 'get_metadef_properties', 'get_metadef_tags'] as const) {
    enforceMetadef(ctx.policy, ex.identity, action, ns)
  }
  const [objects, associations, properties, tags] = await Promise.all([
    listObjects(ctx.sql, ns.id), listAssociations(ctx.sql, [ns.id]), listProperties(ctx.sql, ns.id), listTags(ctx.sql, ns.id, 'created_at', 'desc')
  ])
  const resourceType = ex.query.get('resource_type')
  const prefix = resourceType === null ? undefined : (associations.find((a) => a.name === resourceType)?.prefix ?? undefined)
  const usePrefix = prefix !== undefined && prefix !== '' ? prefix : undefined
  ex.json(200, formatNamespace(ns, {
    resource_type_associations: associations.map(formatAssociation),
    properties: formatProperties(properties, usePrefix),
    objects: objects.map((o) => formatObject(o, ns.namespace, usePrefix)),
    tags: tags.map((t) => formatTag(t, false))
  }))
}

function valuesFromBody (body: Record<string, any>, ex: Exchange): NamespaceValues {
  return {
    namespace: body.namespace,
    display_name: body.display_name ?? null,
    description: body.description ?? null,
    visibility: typeof body.visibility === 'string' && body.visibility !== '' ? body.visibility : 'private',
    protected: body.protected === true,
    owner: typeof body.owner === 'string' && body.owner !== '' ? body.owner : (ex.identity.projectId ?? '')
  }
}

/** What POST answers: the namespace's row, and the rest as the request gave it (Glance echoes it). */
function createdView (ns: NamespaceRecord, body: Record<string, any>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  const base = formatNamespace(ns)
  for (const key of ['namespace', 'display_name', 'description', 'visibility', 'protected', 'owner']) if (key in base) out[key] = base[key]
  out.created_at = isoTime(ns.created_at)
  out.updated_at = isoTime(ns.updated_at ?? ns.created_at)
  const pick = (item: Record<string, any>, keys: string[]): Record<string, unknown> => {
    const o: Record<string, unknown> = {}
    for (const k of keys) if (item[k] !== undefined && item[k] !== null) o[k] = item[k]
    return o
  }
  if (Array.isArray(body.resource_type_associations)) out.resource_type_associations = body.resource_type_associations.map((a: any) => pick(a, ['name', 'prefix', 'properties_target']))
  if (body.properties !== undefined && body.properties !== null) out.properties = normalizeProperties(body.properties)
  if (Array.isArray(body.objects)) {
    out.objects = body.objects.map((o: any) => {
      const view = pick(o, ['name', 'required', 'description'])
      if (o.properties !== undefined && o.properties !== null) view.properties = normalizeProperties(o.properties)
      return view
    })
  }
  if (Array.isArray(body.tags)) out.tags = body.tags.map((t: any) => pick(t, ['name']))
  out.self = namespaceHref(ns.namespace)
  out.schema = NAMESPACE_SCHEMA_LINK
  return out
}

async function create (ex: Exchange, ctx: AppContext): Promise<void> {
  checkBody(ex.body, NAMESPACE_SCHEMA, READ_ONLY)
  const body = ex.body as Record<string, any>
  enforceMetadef(ctx.policy, ex.identity, 'add_metadef_namespace')
  if (Array.isArray(body.resource_type_associations) && body.resource_type_associations.length > 0) enforceMetadef(ctx.policy, ex.identity, 'add_metadef_resource_type_association')
  if (Array.isArray(body.objects) && body.objects.length > 0) enforceMetadef(ctx.policy, ex.identity, 'add_metadef_object')
  if (body.properties !== undefined && Object.keys(body.properties).length > 0) enforceMetadef(ctx.policy, ex.identity, 'add_metadef_property')
  if (Array.isArray(body.tags) && body.tags.length > 0) enforceMetadef(ctx.policy, ex.identity, 'add_metadef_tag')
  checkDefinitions(body.properties)
  for (const o of body.objects ?? []) checkDefinitions(o.properties, o.name)
  for (const item of [...(body.objects ?? []), ...(body.resource_type_associations ?? []), ...(body.tags ?? [])]) {
    if (typeof item.name !== 'string') throw Errors.metadefSchemaInvalid('namespace', "'name' is a required property")
  }
  const created = await createNamespaceWithContents(ctx.sql, valuesFromBody(body, ex), {
    associations: (body.resource_type_associations ?? []).map((a: any) => ({ name: a.name, prefix: a.prefix ?? null, properties_target: a.properties_target ?? null })),
    objects: (body.objects ?? []).map((o: any) => ({ name: o.name, description: o.description ?? null, required: o.required ?? null, properties: normalizeProperties(o.properties) })),
    tags: (body.tags ?? []).map((tag: any) => tag.name),
    properties: Object.entries(body.properties ?? {}).map(([name, definition]) => ({ name, definition: normalizeProperty(definition) }))
  })
  const { ns } = created
  // Glance adds each part through its notifying repository: one notification per part
  notifyMetadef(ctx.notifier, 'metadef_namespace.create', () => namespacePayload(ns, ns.namespace))
  for (const a of created.associations) notifyMetadef(ctx.notifier, 'metadef_resource_type.create', () => resourceTypePayload(ns.namespace, a))
  for (const o of created.objects) notifyMetadef(ctx.notifier, 'metadef_object.create', () => objectPayload(ns.namespace, o, o.name))
  for (const tag of created.tags) notifyMetadef(ctx.notifier, 'metadef_tag.create', () => tagPayload(ns.namespace, tag, tag.name))
  for (const p of created.properties) notifyMetadef(ctx.notifier, 'metadef_property.create', () => propertyPayload(ns.namespace, p, p.name))
  ex.json(201, createdView(ns, body), { Location: `${baseUrl(ctx, ex)}${namespaceHref(ns.namespace)}` })
}

async function update (ex: Exchange, ctx: AppContext): Promise<void> {
  checkBody(ex.body, NAMESPACE_SCHEMA, READ_ONLY)
  const ns = await visibleNamespace(ctx, ex, ex.params[0], 'other')
  enforceMetadef(ctx.policy, ex.identity, 'modify_metadef_namespace', ns)
  const values = valuesFromBody(ex.body, ex)
  const updated = await updateNamespace(ctx.sql, ns.id, values)
  if (updated === undefined) throw Errors.metadefNamespaceMissing(ex.params[0])
  // Glance answers with the object it saved, whose updated_at is still the one it loaded.
  notifyMetadef(ctx.notifier, 'metadef_namespace.update', () => namespacePayload(updated, ns.namespace))
  ex.json(200, formatNamespace({ ...updated, updated_at: ns.updated_at }))
}

async function remove (ex: Exchange, ctx: AppContext): Promise<void> {
  const ns = await visibleNamespace(ctx, ex, ex.params[0], 'other')
  enforceMetadef(ctx.policy, ex.identity, 'delete_metadef_namespace', ns)
  if (ns.protected === true) throw Errors.metadefNamespaceProtected(ns.namespace)
  if (!await deleteNamespace(ctx.sql, ns.id)) throw Errors.metadefNamespaceMissing(ns.namespace)
  notifyMetadef(ctx.notifier, 'metadef_namespace.delete', () => namespacePayload(ns, ns.namespace, deletedNow()))
  ex.empty(204)
}

export const metadefNamespaceRoutes: Routes<AppContext> = {
  '/v2/metadefs/namespaces': {
    GET: { handle: list },
    POST: { body: 'json', handle: create }
  },
  '/v2/metadefs/namespaces/:namespace': {
    GET: { handle: show },
    PUT: { body: 'json', handle: update },
    DELETE: { handle: remove }
  }
}
