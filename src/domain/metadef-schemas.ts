// The ten /v2/schemas/metadefs/* documents, built the way Glance 25 builds them
// (glance/api/v2/metadef_*.py get_schema / get_collection_schema, glance/schema.py), and the
// ones request bodies are validated against.

type Doc = Record<string, any>

const PROPERTY_TYPES = ['array', 'boolean', 'integer', 'number', 'object', 'string', null]

function propertyFields (): Doc {
  return {
    name: { type: 'string', maxLength: 80 },
    title: { type: 'string' },
    description: { type: 'string' },
    operators: { type: 'array', items: { type: 'string' } },
    type: { type: 'string', enum: PROPERTY_TYPES },
    required: { $ref: '#/definitions/stringArray' },
    minimum: { type: 'number' },
    maximum: { type: 'number' },
    maxLength: { $ref: '#/definitions/positiveInteger' },
    minLength: { $ref: '#/definitions/positiveIntegerDefault0' },
    pattern: { type: 'string', format: 'regex' },
    enum: { type: 'array' },
    readonly: { type: 'boolean' },
    default: {},
    items: {
      type: 'object',
      properties: {
        type: { type: 'string', enum: PROPERTY_TYPES },
        enum: { type: 'array' }
      }
    },
    maxItems: { $ref: '#/definitions/positiveInteger' },
    minItems: { $ref: '#/definitions/positiveIntegerDefault0' },
    uniqueItems: { type: 'boolean', default: false },
    additionalItems: { type: 'boolean' }
  }
}

function baseDefinitions (stringArrayMinItems: boolean): Doc {
  return {
    positiveInteger: { type: 'integer', minimum: 0 },
    positiveIntegerDefault0: { allOf: [{ $ref: '#/definitions/positiveInteger' }, { default: 0 }] },
    stringArray: { type: 'array', items: { type: 'string' }, ...(stringArrayMinItems ? { minItems: 1 } : {}), uniqueItems: true }
  }
}

function namespaceDefinitions (): Doc {
  return {
    ...baseDefinitions(false),
    property: {
      type: 'object',
      additionalProperties: { type: 'object', required: ['title', 'type'], properties: propertyFields() }
    }
  }
}

const timestamp = (description: string): Doc => ({ type: 'string', readOnly: true, description, format: 'date-time' })
const link = (): Doc => ({ readOnly: true, type: 'string' })

function entity (name: string, properties: Doc, required: string[] | null, definitions: Doc | null): Doc {
  const raw: Doc = { name, properties, additionalProperties: false }
  if (definitions !== null) raw.definitions = definitions
  if (required !== null && required.length > 0) raw.required = required
  return raw
}

// glance.schema.CollectionSchema: the item schema's definitions move to the top.
function collection (name: string, item: Doc, kind: 'array' | 'object'): Doc {
  const { definitions, ...bare } = item
  const raw: Doc = {
    name,
    properties: {
      [name]: kind === 'array' ? { type: 'array', items: bare } : { type: 'object', additionalProperties: bare },
      first: { type: 'string' },
      next: { type: 'string' },
      schema: { type: 'string' }
    },
    links: [
      { rel: 'first', href: '{first}' },
      { rel: 'next', href: '{next}' },
      { rel: 'describedby', href: '{schema}' }
    ]
  }
  if (definitions !== undefined) raw.definitions = definitions
  return raw
}

export const NAMESPACE_SCHEMA = entity('namespace', {
  namespace: { type: 'string', description: 'The unique namespace text.', maxLength: 80 },
  display_name: { type: 'string', description: 'The user friendly name for the namespace. Used by UI if available.', maxLength: 80 },
  description: { type: 'string', description: 'Provides a user friendly description of the namespace.', maxLength: 500 },
  visibility: { type: 'string', description: 'Scope of namespace accessibility.', enum: ['public', 'private'] },
  protected: { type: 'boolean', description: 'If true, namespace will not be deletable.' },
  owner: { type: 'string', description: 'Owner of the namespace.', maxLength: 255 },
  created_at: timestamp('Date and time of namespace creation'),
  updated_at: timestamp('Date and time of the last namespace modification'),
  schema: link(),
  self: link(),
  resource_type_associations: {
    type: 'array',
    items: { type: 'object', properties: { name: { type: 'string' }, prefix: { type: 'string' }, properties_target: { type: 'string' } } }
  },
  properties: { $ref: '#/definitions/property' },
  objects: {
    type: 'array',
    items: {
      type: 'object',
      properties: {
        name: { type: 'string' },
        description: { type: 'string' },
        required: { $ref: '#/definitions/stringArray' },
        properties: { $ref: '#/definitions/property' }
      }
    }
  },
  tags: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' } } } }
}, ['namespace'], namespaceDefinitions())

export const OBJECT_SCHEMA = entity('object', {
  name: { type: 'string', maxLength: 80 },
  description: { type: 'string' },
  required: { $ref: '#/definitions/stringArray' },
  properties: { $ref: '#/definitions/property' },
  schema: link(),
  self: link(),
  created_at: timestamp('Date and time of object creation'),
  updated_at: timestamp('Date and time of the last object modification')
}, ['name'], namespaceDefinitions())

/** A single property (POST/PUT .../properties): `name` is required there, not inside a collection. */
function propertySchema (requireName: boolean): Doc {
  return entity('property', propertyFields(), requireName ? ['type', 'title', 'name'] : ['type', 'title'], baseDefinitions(true))
}
export const PROPERTY_SCHEMA = propertySchema(true)
/** What each property of an object is checked against when an object is created. */
export const OBJECT_PROPERTY_SCHEMA = propertySchema(false)

export const RESOURCE_TYPE_ASSOCIATION_SCHEMA = entity('resource_type_association', {
  name: { type: 'string', description: 'Resource type names should be aligned with Heat resource types whenever possible: https://docs.openstack.org/heat/latest/template_guide/openstack.html', maxLength: 80 },
  prefix: { type: 'string', description: 'Specifies the prefix to use for the given resource type. Any properties in the namespace should be prefixed with this prefix when being applied to the specified resource type. Must include prefix separator (e.g. a colon :).', maxLength: 80 },
  properties_target: { type: 'string', description: 'Some resource types allow more than one key / value pair per instance.  For example, Cinder allows user and image metadata on volumes. Only the image properties metadata is evaluated by Nova (scheduling or drivers). This property allows a namespace target to remove the ambiguity.', maxLength: 80 },
  created_at: timestamp('Date and time of resource type association'),
  updated_at: timestamp('Date and time of the last resource type association modification')
}, ['name'], null)

export const TAG_SCHEMA = entity('tag', {
  name: { type: 'string', maxLength: 80 },
  created_at: timestamp('Date and time of tag creation'),
  updated_at: timestamp('Date and time of the last tag modification')
}, ['name'], null)

/** The body of POST .../tags (create several). */
export const TAG_LIST_SCHEMA = entity('tags', {
  tags: {
    type: 'array',
    items: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'], additionalProperties: false }
  }
}, null, null)

export const METADEF_SCHEMAS: Record<string, Doc> = {
  namespace: NAMESPACE_SCHEMA,
  namespaces: collection('namespaces', NAMESPACE_SCHEMA, 'array'),
  resource_type: RESOURCE_TYPE_ASSOCIATION_SCHEMA,
  resource_types: collection('resource_type_associations', RESOURCE_TYPE_ASSOCIATION_SCHEMA, 'array'),
  property: PROPERTY_SCHEMA,
  // glance: get_collection_schema drops 'name' from the item's required list
  properties: collection('properties', propertySchema(false), 'object'),
  object: OBJECT_SCHEMA,
  objects: collection('objects', OBJECT_SCHEMA, 'array'),
  tag: TAG_SCHEMA,
  tags: collection('tags', TAG_SCHEMA, 'array')
}
