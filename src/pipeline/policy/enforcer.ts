// One enforce(identity, action, target) for every API action, as oslo.policy's Enforcer does
// it for Glance 25.1: the registered defaults (./defaults.ts), overridden rule by rule by
// `[oslo_policy] policy_file` (YAML or JSON); while enforce_new_defaults is false a rule the
// file does not override is `new or deprecated` (oslo.policy's transition); with
// enforce_scope a token of the wrong scope is refused. A refusal is Glance's 403
// "You are not authorized to complete <action> action.".

import { readFileSync } from 'node:fs'
import { parse as parseYaml } from 'yaml'
import { Errors } from '../../errors.js'
import type { Identity } from '../../identity.js'
import { evaluate, parseRule, type Check, type Creds, type Target } from './language.js'
import { GLANCE_DEFAULT_RULES } from './defaults.js'

export interface PolicyOptions {
  /** Path of the policy file; undefined or missing file = defaults only (as oslo.policy). */
  file?: string
  enforceNewDefaults: boolean
  enforceScope: boolean
  /** The rule used for an action no rule names ([oslo_policy] policy_default_rule). */
  defaultRule: string
}

export interface Policy {
  /** Throws Glance's 403 when `identity` may not do `action` on `target`. */
  enforce: (identity: Identity, action: string, target: Target) => void
  /** The same decision, as a boolean. */
  check: (identity: Identity, action: string, target: Target) => boolean
  /** A parsed rule of the caller's own (property protections' `policies` format), evaluated against these rules. */
  evaluate: (identity: Identity, check: Check, target: Target) => boolean
  /** Glance's context.is_admin: the `context_is_admin` rule. */
  isAdmin: (identity: Identity) => boolean
  /** Secure RBAC: the legacy owner checks Glance 25.1 adds when enforce_new_defaults is false are off. */
  readonly newDefaults: boolean
}

export class PolicyFileError extends Error {}

/** Reads a policy file: a mapping of rule name to check string (or oslo's legacy list form). */
export function readPolicyFile (file: string): Record<string, unknown> {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw new PolicyFileError(`cannot read policy file ${file}: ${(err as Error).message}`)
  }
  let rules: unknown
  try {
    // YAML 1.2 is a superset of JSON, so one parser reads both forms.
    rules = text.trim() === '' ? {} : parseYaml(text)
  } catch (err) {
    throw new PolicyFileError(`policy file ${file} is neither YAML nor JSON: ${(err as Error).message}`)
  }
  if (rules === null || rules === undefined) return {}
  if (typeof rules !== 'object' || Array.isArray(rules)) throw new PolicyFileError(`policy file ${file} must map rule names to rules`)
  for (const [name, rule] of Object.entries(rules)) {
    if (typeof rule !== 'string' && !Array.isArray(rule)) throw new PolicyFileError(`policy file ${file}: rule ${name} must be a string`)
  }
  return rules as Record<string, unknown>
}

/** oslo.context's policy values, read from the identity the auth layer built. */
export function credsOf (identity: Identity): Creds {
  const extra = identity as Identity & Partial<Record<'domainId' | 'userDomainId' | 'projectDomainId' | 'systemScope', string | null>>
  return {
    user_id: identity.userId,
    project_id: identity.projectId,
    roles: identity.roles,
    domain_id: extra.domainId ?? null,
    user_domain_id: extra.userDomainId ?? null,
    project_domain_id: extra.projectDomainId ?? null,
    system_scope: extra.systemScope ?? null,
    is_admin_project: true,
    // deprecated in oslo.context's policy values, still used by old policy files
    is_admin: identity.isAdmin,
    tenant: identity.projectId,
    user: identity.userId
  }
}

function scopeOf (identity: Identity): string {
  const extra = identity as Identity & { systemScope?: string | null, domainId?: string | null }
  if (extra.systemScope != null && extra.systemScope !== '') return 'system'
  if (identity.projectId === null && extra.domainId != null) return 'domain'
  return 'project'
}

export function createPolicy (opts: PolicyOptions): Policy {
  const fromFile = opts.file === undefined ? {} : readPolicyFile(opts.file)
  const rules = new Map<string, Check>()
  const scopes = new Map<string, string[]>()
  for (const [name, rule] of Object.entries(GLANCE_DEFAULT_RULES)) {
    if (rule.scopes !== undefined) scopes.set(name, rule.scopes)
    const text = rule.deprecated !== undefined && !opts.enforceNewDefaults && rule.deprecated !== rule.check
      ? `(${rule.check === '' ? '@' : rule.check}) or (${rule.deprecated})`
      : rule.check
    rules.set(name, parseRule(text))
  }
  for (const [name, rule] of Object.entries(fromFile)) rules.set(name, parseRule(rule))
  const lookup = (name: string): Check | undefined => rules.get(name)

  const check = (identity: Identity, action: string, target: Target): boolean => {
    if (opts.enforceScope) {
      const allowed = scopes.get(action)
      if (allowed !== undefined && !allowed.includes(scopeOf(identity))) return false
    }
    const rule = rules.get(action) ?? rules.get(opts.defaultRule)
    return rule !== undefined && evaluate(rule, target, credsOf(identity), lookup)
  }

  return {
    check,
    enforce (identity, action, target) {
      if (!check(identity, action, target)) throw Errors.forbidden(action)
    },
    evaluate: (identity, rule, target) => evaluate(rule, target, credsOf(identity), lookup),
    isAdmin (identity) {
      const rule = rules.get('context_is_admin')
      return rule !== undefined && evaluate(rule, credsOf(identity), { ...credsOf(identity), is_admin: false }, lookup)
    },
    newDefaults: opts.enforceNewDefaults
  }
}
