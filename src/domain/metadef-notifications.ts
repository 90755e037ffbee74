// The payloads of Glance's metadefs notifications (glance/notifier.py format_metadef_*): what
// billing and auditing consumers read for metadef_namespace.*, metadef_object.*,
// metadef_property.*, metadef_tag.* and metadef_resource_type.*. `*_old` names what an update renamed; a delete says
// deleted: true with its time.

const iso = (d: Date | null | undefined): string | null =>
  d === null || d === undefined ? null : d.toISOString().replace(/\.\d{3}Z$/, 'Z')

export interface Deletion { deleted: boolean, deleted_at: string | null }

export const NOT_DELETED: Deletion = { deleted: false, deleted_at: null }
export const deletedNow = (): Deletion => ({ deleted: true, deleted_at: iso(new Date()) })

interface Times { created_at: Date, updated_at: Date | null }

export function namespacePayload (ns: Times & { namespace: string, display_name: string | null, description: string | null, visibility: string | null, protected: boolean | null, owner: string },
  oldName: string, deletion: Deletion = NOT_DELETED): Record<string, unknown> {
  return {
    namespace: ns.namespace,
    namespace_old: oldName,
    display_name: ns.display_name,
    protected: ns.protected,
    visibility: ns.visibility,
    owner: ns.owner,
    description: ns.description,
    created_at: iso(ns.created_at),
    updated_at: iso(ns.updated_at),
    ...deletion
  }
}

const PROPERTY_FIELDS = ['type', 'title', 'description', 'default', 'minimum', 'maximum', 'enum', 'pattern',
  'minLength', 'maxLength', 'confidential', 'items', 'uniqueItems', 'minItems', 'maxItems', 'additionalItems'] as const

function propertyFields (schema: Record<string, unknown>, orNull: boolean): Record<string, unknown> {
  // Glance writes `x or None` for an object's properties and `schema.get(x)` for a namespace's.
  return Object.fromEntries(PROPERTY_FIELDS.map((f) => [f, orNull ? (schema[f] || null) : (schema[f] ?? null)]))
}

export function objectPayload (namespace: string, obj: Times & { name: string, description: string | null, required: string | null, json_schema: Record<string, unknown> | null },
  oldName: string, deletion: Deletion = NOT_DELETED): Record<string, unknown> {
  const properties = Object.entries(obj.json_schema ?? {}).map(([name, schema]) => ({
    name, ...propertyFields((schema ?? {}) as Record<string, unknown>, true)
  }))
  return {
    namespace,
    name: obj.name,
    name_old: oldName,
    properties,
    required: obj.required === null ? null : obj.required.split(','),
    description: obj.description,
    created_at: iso(obj.created_at),
    updated_at: iso(obj.updated_at),
    ...deletion
  }
}

export function propertyPayload (namespace: string, prop: { name: string, json_schema: Record<string, unknown> | null },
  oldName: string, deletion: Deletion = NOT_DELETED): Record<string, unknown> {
  return { namespace, name: prop.name, name_old: oldName, ...propertyFields(prop.json_schema ?? {}, false), ...deletion }
}

export function tagPayload (namespace: string, tag: Times & { name: string }, oldName: string, deletion: Deletion = NOT_DELETED): Record<string, unknown> {
  return { namespace, name: tag.name, name_old: oldName, created_at: iso(tag.created_at), updated_at: iso(tag.updated_at), ...deletion }
}

/** A namespace's association with a resource type (metadef_resource_type.create/delete). */
export function resourceTypePayload (namespace: string, association: Times & { name: string, prefix: string | null, properties_target: string | null },
  deletion: Deletion = NOT_DELETED): Record<string, unknown> {
  return {
    namespace,
    name: association.name,
    name_old: association.name,
    prefix: association.prefix,
    properties_target: association.properties_target,
    created_at: iso(association.created_at),
    updated_at: iso(association.updated_at),
    ...deletion
  }
}
