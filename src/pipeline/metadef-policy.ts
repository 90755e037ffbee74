// Glance's metadef policy rules (glance/policies/metadef.py) as Glance 25 applies them by
// default: the deprecated "rule:metadef_default" (anyone) is still OR-ed into every read rule,
// so reads are limited only by a namespace's visibility; every write is "rule:metadef_admin".
// The one place the metadefs routes ask; it moves onto the shared policy enforcer when that
// lands.

import { Errors } from '../errors.js'
import type { Identity } from '../identity.js'

export type MetadefAction =
  | 'get_metadef_namespace' | 'get_metadef_namespaces' | 'add_metadef_namespace' | 'modify_metadef_namespace' | 'delete_metadef_namespace'
  | 'get_metadef_object' | 'get_metadef_objects' | 'add_metadef_object' | 'modify_metadef_object' | 'delete_metadef_object'
  | 'list_metadef_resource_types' | 'get_metadef_resource_type' | 'add_metadef_resource_type_association' | 'remove_metadef_resource_type_association'
  | 'get_metadef_property' | 'get_metadef_properties' | 'add_metadef_property' | 'modify_metadef_property' | 'remove_metadef_property'
  | 'get_metadef_tag' | 'get_metadef_tags' | 'add_metadef_tag' | 'add_metadef_tags' | 'modify_metadef_tag' | 'delete_metadef_tag' | 'delete_metadef_tags'

const READS = new Set<MetadefAction>([
  'get_metadef_namespace', 'get_metadef_namespaces', 'get_metadef_object', 'get_metadef_objects',
  'list_metadef_resource_types', 'get_metadef_resource_type', 'get_metadef_property', 'get_metadef_properties',
  'get_metadef_tag', 'get_metadef_tags'
])

export function metadefAllowed (who: Identity, action: MetadefAction): boolean {
  return READS.has(action) || who.roles.includes('admin')
}

/** 403 "You are not authorized to complete <action> action." unless allowed. */
export function enforceMetadef (who: Identity, action: MetadefAction): void {
  if (!metadefAllowed(who, action)) throw Errors.forbidden(action)
}
