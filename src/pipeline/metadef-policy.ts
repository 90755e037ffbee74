// The metadefs routes' one door to the policy enforcer (ctx.policy, Glance 25.1's rules and
// any [oslo_policy] policy_file), as glance/api/v2/policy.py's MetadefAPIPolicy uses it: the
// target is the namespace's owner (project_id) and visibility, or the caller's project when
// there is no namespace yet; a refusal on a namespace the caller may not see
// (get_metadef_namespace) is a bare 404, so that nothing leaks, else a 403 naming the action.
// With the default rules reads are limited only by a namespace's visibility (the deprecated
// "rule:metadef_default" is OR-ed in) and every write needs the admin role.

import { Errors } from '../errors.js'
import type { Identity } from '../identity.js'
import type { Policy } from './policy/enforcer.js'
import type { Target } from './policy/language.js'

export type MetadefAction =
  | 'get_metadef_namespace' | 'get_metadef_namespaces' | 'add_metadef_namespace' | 'modify_metadef_namespace' | 'delete_metadef_namespace'
  | 'get_metadef_object' | 'get_metadef_objects' | 'add_metadef_object' | 'modify_metadef_object' | 'delete_metadef_object'
  | 'list_metadef_resource_types' | 'get_metadef_resource_type' | 'add_metadef_resource_type_association' | 'remove_metadef_resource_type_association'
  | 'get_metadef_property' | 'get_metadef_properties' | 'add_metadef_property' | 'modify_metadef_property' | 'remove_metadef_property'
  | 'get_metadef_tag' | 'get_metadef_tags' | 'add_metadef_tag' | 'add_metadef_tags' | 'modify_metadef_tag' | 'delete_metadef_tag' | 'delete_metadef_tags'

export interface NamespaceOwnership { owner: string, visibility: string | null }

function targetOf (who: Identity, ns?: NamespaceOwnership): Target {
  return ns === undefined ? { project_id: who.projectId } : { project_id: ns.owner, visibility: ns.visibility ?? 'private' }
}

/** Whether the rule allows it (a list drops what it does not). */
export function metadefAllowed (policy: Policy, who: Identity, action: MetadefAction, ns?: NamespaceOwnership): boolean {
  return policy.check(who, action, targetOf(who, ns))
}

/** 404 when the caller may not even see the namespace, else 403 "You are not authorized to complete <action> action." */
export function enforceMetadef (policy: Policy, who: Identity, action: MetadefAction, ns?: NamespaceOwnership): void {
  const target = targetOf(who, ns)
  if (policy.check(who, action, target)) return
  if (action === 'get_metadef_namespace' || !policy.check(who, 'get_metadef_namespace', target)) throw Errors.metadefNamespaceHidden()
  throw Errors.forbidden(action)
}
