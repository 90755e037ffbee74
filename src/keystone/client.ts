// A Keystone v3 client for what an image service asks of it: its own service token (password
// method, as keystonemiddleware's `auth_type = password`), validation of callers' tokens
// (GET /v3/auth/tokens with X-Subject-Token) and, as another user ([oslo_limit]'s, often
// system-scoped), the unified limits (src/keystone/limits.ts reads them through `get`).
// Every call is bounded by a timeout; not getting an answer from Keystone is
// KeystoneUnavailable (a 503), never a 401.

import type { KeystoneCredentials } from '../config/load.js'

export interface KeystoneSettings extends KeystoneCredentials {
  timeoutMs: number
}

export class KeystoneUnavailable extends Error {
  readonly code = 'GLINT_KEYSTONE_UNAVAILABLE'
  /** Keystone's status when it answered something else than expected (404: no such endpoint) */
  constructor (message: string, readonly status?: number) { super(message) }
}

export interface KeystoneClient {
  /** The token's body (`token` of Keystone's answer), or null when Keystone says it is not valid. */
  validate: (userToken: string, withCatalog: boolean) => Promise<any | null>
  /** GET a path under the API root with the service token; the parsed answer. */
  get: (path: string) => Promise<any>
  /** The service token's own body (its project, catalog), fetching one if needed. */
  serviceAccount: () => Promise<any>
}

// A service token is renewed this long before Keystone's expiry, so no call races it.
const RENEW_MARGIN_MS = 120_000

export function keystoneClient (s: KeystoneSettings): KeystoneClient {
  let service: { token: string, body: any, renewAt: number } | undefined
  let fetching: Promise<NonNullable<typeof service>> | undefined

  async function call (method: string, path: string, headers: Record<string, string>, body?: unknown): Promise<Response> {
    try {
      return await fetch(s.authUrl + path, {
        method,
        headers: { Accept: 'application/json', ...(body === undefined ? {} : { 'Content-Type': 'application/json' }), ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(s.timeoutMs)
      })
    } catch (err) {
      throw new KeystoneUnavailable(`${method} ${s.authUrl}${path}: ${(err as Error).cause !== undefined ? String((err as any).cause?.code ?? (err as any).cause) : (err as Error).message}`)
    }
  }

  function scope (): unknown {
    if (s.systemScope !== undefined) return { system: { [s.systemScope]: true } }
    if (s.projectId !== undefined) return { project: { id: s.projectId } }
    if (s.projectName === undefined) return undefined
    const domain = s.projectDomainId !== undefined ? { id: s.projectDomainId } : { name: s.projectDomainName ?? 'Default' }
    return { project: { name: s.projectName, domain } }
  }

  async function authenticate (): Promise<NonNullable<typeof service>> {
    const domain = s.userDomainId !== undefined ? { id: s.userDomainId } : { name: s.userDomainName ?? 'Default' }
    const res = await call('POST', '/auth/tokens', {}, {
      auth: { identity: { methods: ['password'], password: { user: { name: s.username, domain, password: s.password } } }, scope: scope() }
    })
    const text = await res.text()
    if (res.status !== 201) throw new KeystoneUnavailable(`service user ${s.username} cannot authenticate: ${res.status} ${text.slice(0, 200)}`)
    const body = JSON.parse(text).token
    const token = res.headers.get('x-subject-token') ?? ''
    const expires = Date.parse(body.expires_at)
    const renewAt = Math.max(Date.now() + (expires - Date.now()) / 2, expires - RENEW_MARGIN_MS)
    return { token, body, renewAt }
  }

  async function serviceToken (): Promise<NonNullable<typeof service>> {
    if (service !== undefined && Date.now() < service.renewAt) return service
    fetching ??= authenticate().finally(() => { fetching = undefined })
    service = await fetching
    return service
  }

  /** One call with the service token; a 401 means the service token went stale: renew once. */
  async function asService (method: string, path: string, headers: Record<string, string> = {}): Promise<Response> {
    for (let attempt = 0; ; attempt++) {
      const { token } = await serviceToken()
      const res = await call(method, path, { ...headers, 'X-Auth-Token': token })
      if (res.status !== 401 || attempt > 0) return res
      await res.body?.cancel()
      service = undefined
    }
  }

  return {
    async validate (userToken, withCatalog) {
      const res = await asService('GET', withCatalog ? '/auth/tokens' : '/auth/tokens?nocatalog', { 'X-Subject-Token': userToken })
      const text = await res.text()
      if (res.status === 200) return JSON.parse(text).token
      // 404: unknown, expired or revoked token; 400/401 for the subject token: a malformed one
      if (res.status === 404 || res.status === 400) return null
      throw new KeystoneUnavailable(`validating a token: Keystone answered ${res.status} ${text.slice(0, 200)}`)
    },
    async get (path) {
      const res = await asService('GET', path)
      const text = await res.text()
      if (res.status !== 200) throw new KeystoneUnavailable(`GET ${path}: Keystone answered ${res.status} ${text.slice(0, 200)}`, res.status)
      return JSON.parse(text)
    },
    async serviceAccount () {
      return (await serviceToken()).body
    }
  }
}
