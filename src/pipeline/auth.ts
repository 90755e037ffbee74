// The auth layer: Glance's two modes without Keystone.
// - noauth (the default): every request is an admin of one configured default project, so
//   images always have an owner (Glance's own unauthenticated mode leaves it null).
// - trusted headers (`[paste_deploy] flavor = trusted-auth`): the identity a proxy or
//   keystonemiddleware put in X-Roles / X-Project-Id / X-User-Id, with
//   X-Identity-Status: Confirmed, as Glance's ContextMiddleware reads them.

import { Errors } from '../errors.js'
import type { Identity } from '../identity.js'

export interface AuthOptions { mode: 'noauth' | 'trusted', defaultProjectId: string, defaultUserId: string }

export function authLayer (opts: AuthOptions): (headers: Record<string, string>) => Identity {
  const noauthIdentity: Identity = Object.freeze({
    projectId: opts.defaultProjectId, userId: opts.defaultUserId, roles: ['admin'], isAdmin: true
  }) as Identity
  if (opts.mode === 'noauth') return () => noauthIdentity

  return function trustedHeaders (headers) {
    if (headers['x-identity-status'] !== 'Confirmed') throw Errors.unauthorized()
    const roles = (headers['x-roles'] ?? '').split(',').map((r) => r.trim().toLowerCase()).filter(Boolean)
    // oslo.context's from_environ: the deprecated X-Tenant-Id / X-Tenant / X-User still count.
    // An empty (or blank) id names nobody: it must not become an owner others share.
    const given = (name: string): string | undefined => headers[name]?.trim() === '' ? undefined : headers[name]
    return {
      projectId: given('x-project-id') ?? given('x-tenant-id') ?? given('x-tenant') ?? null,
      userId: given('x-user-id') ?? given('x-user') ?? null,
      roles,
      isAdmin: roles.includes('admin')
    }
  }
}
