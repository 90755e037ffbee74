// The auth layer: who is asking, in Glance's three modes.
// - noauth (the default): every request is an admin of one configured default project, so
//   images always have an owner (Glance's own unauthenticated mode leaves it null).
// - trusted headers (`[paste_deploy] flavor = trusted-auth`): the identity a proxy or
//   keystonemiddleware put in X-Roles / X-Project-Id / X-User-Id, with
//   X-Identity-Status: Confirmed, as Glance's ContextMiddleware reads them.
// - keystone (`flavor = keystone`): what keystonemiddleware's auth_token does in front of
//   Glance. X-Auth-Token is validated against Keystone with Glint's service token; a known
//   token is answered from a bounded cache without waiting, so only a cache miss returns a
//   promise.

import type { Logger } from 'pino'
import { Errors } from '../errors.js'
import type { Identity } from '../identity.js'
import { KeystoneUnavailable, type KeystoneClient } from '../keystone/client.js'
import { tokenCache } from '../keystone/token-cache.js'
import { cacheStats } from '../metrics/registry.js'

export interface KeystoneAuthOptions {
  client: KeystoneClient
  /** Sent in WWW-Authenticate with every 401 (www_authenticate_uri). */
  wwwAuthenticateUri: string
  cacheTimeSec: number
  cacheSize: number
  includeServiceCatalog: boolean
  log: Logger
}

export interface AuthOptions {
  mode: 'noauth' | 'trusted' | 'keystone'
  defaultProjectId: string
  defaultUserId: string
  keystone?: KeystoneAuthOptions
}

export type Authenticate = (headers: Record<string, string>) => Identity | Promise<Identity>

export function authLayer (opts: AuthOptions): Authenticate {
  const noauthIdentity: Identity = Object.freeze({
    projectId: opts.defaultProjectId, userId: opts.defaultUserId, roles: ['admin'], isAdmin: true
  }) as Identity
  if (opts.mode === 'noauth') return () => noauthIdentity
  if (opts.mode === 'keystone') return keystoneAuth(opts.keystone!)

  return function trustedHeaders (headers) {
    if (headers['x-identity-status'] !== 'Confirmed') throw Errors.unauthorized()
    const roles = rolesOf(headers['x-roles'])
    // oslo.context's from_environ: the deprecated X-Tenant-Id / X-Tenant / X-User still count.
    // An empty (or blank) id names nobody: it must not become an owner others share.
    const given = (name: string): string | undefined => headers[name]?.trim() === '' ? undefined : headers[name]
    return {
      projectId: given('x-project-id') ?? given('x-tenant-id') ?? given('x-tenant') ?? null,
      userId: given('x-user-id') ?? given('x-user') ?? null,
      roles,
      isAdmin: roles.includes('admin'),
      userName: headers['x-user-name'],
      projectName: headers['x-project-name'],
      userDomainId: headers['x-user-domain-id'],
      projectDomainId: headers['x-project-domain-id'],
      domainId: headers['x-domain-id'],
      serviceCatalog: catalogOf(headers['x-service-catalog']),
      authToken: headers['x-auth-token']
    }
  }
}

/** X-Service-Catalog as keystonemiddleware sets it (the token's catalog as JSON); glance-download reads it. */
function catalogOf (header: string | undefined): Identity['serviceCatalog'] {
  if (header === undefined || header === '') return undefined
  try {
    const catalog = JSON.parse(header)
    return Array.isArray(catalog) ? catalog : undefined
  } catch {
    return undefined
  }
}

function rolesOf (header: string | undefined): string[] {
  return (header ?? '').split(',').map((r) => r.trim().toLowerCase()).filter(Boolean)
}

function keystoneAuth (k: KeystoneAuthOptions): Authenticate {
  const cache = tokenCache(k.cacheTimeSec * 1000, k.cacheSize)
  const stats = cacheStats('keystone_token')
  const inFlight = new Map<string, Promise<Identity>>()
  let keystoneDown = false

  const refuse = (): never => { throw Errors.keystoneUnauthorized(k.wwwAuthenticateUri) }

  async function validate (token: string): Promise<Identity> {
    let body: any
    try {
      body = await k.client.validate(token, k.includeServiceCatalog)
    } catch (err) {
      if (!(err instanceof KeystoneUnavailable)) throw err
      // logged when Keystone goes away and when it is back, not once per request
      if (!keystoneDown) k.log.error({ err: err.message }, 'Keystone is unavailable: requests needing a token validation get 503')
      keystoneDown = true
      throw Errors.keystoneUnavailable()
    }
    if (keystoneDown) k.log.warn('Keystone answers again')
    keystoneDown = false
    const now = Date.now()
    const identity = body === null ? null : identityOf(body, token)
    if (identity !== null && !((identity.expiresAt ?? 0) > now)) { cache.remember(token, null, now); return refuse() }
    cache.remember(token, identity, now)
    return identity ?? refuse()
  }

  return function keystoneToken (headers) {
    const token = headers['x-auth-token'] ?? headers['x-storage-token']
    if (token === undefined || token === '') return refuse()
    const cached = cache.lookup(token, Date.now())
    if (cached.state === 'valid') { stats.hits++; return cached.identity }
    if (cached.state === 'invalid') { stats.hits++; return refuse() }
    stats.misses++
    let pending = inFlight.get(token)
    if (pending === undefined) {
      pending = validate(token).finally(() => inFlight.delete(token))
      inFlight.set(token, pending)
    }
    return pending
  }
}

/** The request identity from the `token` of a Keystone v3 validation. */
export function identityOf (token: any, authToken: string): Identity {
  const roles: string[] = Array.isArray(token.roles) ? token.roles.map((r: any) => String(r.name).toLowerCase()) : []
  return Object.freeze({
    projectId: token.project?.id ?? null,
    userId: token.user?.id ?? null,
    roles,
    isAdmin: roles.includes('admin'),
    userName: token.user?.name,
    projectName: token.project?.name,
    userDomainId: token.user?.domain?.id,
    projectDomainId: token.project?.domain?.id,
    domainId: token.domain?.id,
    serviceCatalog: token.catalog,
    authToken,
    expiresAt: Date.parse(token.expires_at)
  })
}
