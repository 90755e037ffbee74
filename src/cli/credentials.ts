// Who the glint command speaks as, and where the Images API is, as OpenStack's clients find it:
// a cloud from clouds.yaml (OS_CLOUD / --os-cloud), overridden by OS_* variables, overridden by
// flags. With an auth URL and a password, a Keystone v3 token (POST /v3/auth/tokens) and the
// image endpoint from its service catalog; with --identity, Glance's trusted identity headers;
// with neither, no authentication (a Glint or Glance in noauth mode).

import { existsSync, readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { parse as parseYaml } from 'yaml'

export interface ConnectionFlags {
  osCloud?: string
  osImageUrl?: string
  osAuthUrl?: string
  osToken?: string
  osInterface?: string
  osRegionName?: string
  /** trusted headers: PROJECT[:USER[:ROLE,ROLE]] */
  identity?: string
}

export interface Auth {
  /** the image endpoint, without a trailing slash or /v2 */
  endpoint: string
  /** headers every request carries (token or identity) */
  headers: () => Record<string, string>
  /** a fresh token after a 401; false when there is nothing to renew */
  renew: () => Promise<boolean>
  describe: string
}

export const DEFAULT_ENDPOINT = 'http://127.0.0.1:9292'

interface KeystoneSettings {
  authUrl: string
  username?: string
  userId?: string
  password?: string
  userDomainName?: string
  userDomainId?: string
  projectName?: string
  projectId?: string
  projectDomainName?: string
  projectDomainId?: string
  interface: string
  region?: string
}

/** clouds.yaml, where OSC looks for it: OS_CLIENT_CONFIG_FILE, ./, ~/.config/openstack, /etc/openstack. */
function findCloudsYaml (env: NodeJS.ProcessEnv): string | undefined {
  const candidates = [env.OS_CLIENT_CONFIG_FILE, 'clouds.yaml', join(homedir(), '.config', 'openstack', 'clouds.yaml'), '/etc/openstack/clouds.yaml']
  return candidates.find((p) => p !== undefined && p !== '' && existsSync(p))
}

function cloudSettings (name: string, env: NodeJS.ProcessEnv): Record<string, any> {
  const file = findCloudsYaml(env)
  if (file === undefined) throw new Error(`cloud '${name}' requested but no clouds.yaml found (OS_CLIENT_CONFIG_FILE, ./clouds.yaml, ~/.config/openstack/clouds.yaml, /etc/openstack/clouds.yaml)`)
  const doc = parseYaml(readFileSync(file, 'utf8')) as { clouds?: Record<string, any> }
  const cloud = doc?.clouds?.[name]
  if (cloud === undefined) throw new Error(`cloud '${name}' is not in ${file} (it has: ${Object.keys(doc?.clouds ?? {}).join(', ') || 'none'})`)
  return cloud
}

export async function connect (flags: ConnectionFlags, env: NodeJS.ProcessEnv = process.env): Promise<Auth> {
  const get = (name: string): string | undefined => (env[name] === '' ? undefined : env[name])
  const cloudName = flags.osCloud ?? get('OS_CLOUD')
  const cloud = cloudName === undefined ? {} : cloudSettings(cloudName, env)
  const auth: Record<string, string | undefined> = { ...(cloud.auth ?? {}) }
  const pick = (flag: string | undefined, envName: string, cloudValue: unknown): string | undefined =>
    flag ?? get(envName) ?? (typeof cloudValue === 'string' ? cloudValue : undefined)

  const imageUrl = pick(flags.osImageUrl, 'OS_IMAGE_URL', cloud.image_endpoint_override ?? cloud.image_api_endpoint)
  const fixed = (url: string | undefined): string => normalizeEndpoint(url ?? DEFAULT_ENDPOINT)

  if (flags.identity !== undefined) {
    const [project, user, roles] = flags.identity.split(':')
    if (project === undefined || project === '') throw new Error('--identity takes PROJECT[:USER[:ROLE,ROLE...]]')
    const headers = { 'X-Identity-Status': 'Confirmed', 'X-Project-Id': project, 'X-User-Id': user ?? project, 'X-Roles': roles ?? 'member' }
    return { endpoint: fixed(imageUrl), headers: () => headers, renew: async () => false, describe: `trusted headers (project ${project})` }
  }

  const token = pick(flags.osToken, 'OS_TOKEN', auth.token)
  const authUrl = pick(flags.osAuthUrl, 'OS_AUTH_URL', auth.auth_url)
  const password = get('OS_PASSWORD') ?? auth.password
  if (token !== undefined && (authUrl === undefined || password === undefined)) {
    if (imageUrl === undefined && authUrl === undefined) throw new Error('a token needs the image endpoint: --os-image-url or OS_IMAGE_URL')
    if (imageUrl !== undefined) return { endpoint: fixed(imageUrl), headers: () => ({ 'X-Auth-Token': token }), renew: async () => false, describe: 'token' }
  }
  if (authUrl !== undefined) {
    if (password === undefined && token === undefined) throw new Error(`Keystone at ${authUrl} needs a password (OS_PASSWORD or clouds.yaml auth.password)`)
    const settings: KeystoneSettings = {
      authUrl,
      username: get('OS_USERNAME') ?? auth.username,
      userId: get('OS_USER_ID') ?? auth.user_id,
      password,
      userDomainName: get('OS_USER_DOMAIN_NAME') ?? auth.user_domain_name,
      userDomainId: get('OS_USER_DOMAIN_ID') ?? auth.user_domain_id ?? auth.domain_id,
      projectName: get('OS_PROJECT_NAME') ?? get('OS_TENANT_NAME') ?? auth.project_name ?? auth.tenant_name,
      projectId: get('OS_PROJECT_ID') ?? get('OS_TENANT_ID') ?? auth.project_id ?? auth.tenant_id,
      projectDomainName: get('OS_PROJECT_DOMAIN_NAME') ?? auth.project_domain_name,
      projectDomainId: get('OS_PROJECT_DOMAIN_ID') ?? auth.project_domain_id,
      interface: (pick(flags.osInterface, 'OS_INTERFACE', cloud.interface) ?? 'public').replace(/URL$/, ''),
      region: pick(flags.osRegionName, 'OS_REGION_NAME', cloud.region_name)
    }
    let current = await keystoneToken(settings)
    if (imageUrl === undefined && current.imageEndpoint === undefined) {
      throw new Error(`Keystone's catalog has no image endpoint for interface ${settings.interface}${settings.region === undefined ? '' : ` in region ${settings.region}`}; give --os-image-url`)
    }
    const endpoint = fixed(imageUrl ?? current.imageEndpoint)
    return {
      endpoint,
      headers: () => ({ 'X-Auth-Token': current.token }),
      renew: async () => { current = await keystoneToken(settings); return true },
      describe: `Keystone ${authUrl} (${settings.username ?? settings.userId} in ${settings.projectName ?? settings.projectId ?? 'no project'})`
    }
  }
  return { endpoint: fixed(imageUrl), headers: () => ({}), renew: async () => false, describe: 'no authentication' }
}

export function normalizeEndpoint (url: string): string {
  return url.replace(/\/+$/, '').replace(/\/v2(\.\d+)?$/, '')
}

/** Keystone v3 password authentication, scoped to the project, and the image endpoint of the catalog. */
async function keystoneToken (s: KeystoneSettings): Promise<{ token: string, imageEndpoint?: string }> {
  const base = s.authUrl.replace(/\/+$/, '')
  const url = /\/v3$/.test(base) ? `${base}/auth/tokens` : `${base}/v3/auth/tokens`
  const domain = (name?: string, id?: string): Record<string, string> | undefined =>
    id !== undefined ? { id } : name !== undefined ? { name } : undefined
  const user: Record<string, unknown> = { password: s.password }
  if (s.userId !== undefined) user.id = s.userId
  else user.name = s.username
  if (s.userId === undefined) user.domain = domain(s.userDomainName, s.userDomainId) ?? { id: 'default' }
  const body: Record<string, any> = { auth: { identity: { methods: ['password'], password: { user } } } }
  if (s.projectId !== undefined) body.auth.scope = { project: { id: s.projectId } }
  else if (s.projectName !== undefined) {
    body.auth.scope = { project: { name: s.projectName, domain: domain(s.projectDomainName, s.projectDomainId) ?? user.domain ?? { id: 'default' } } }
  }
  let res: Response
  try {
    res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', Accept: 'application/json' }, body: JSON.stringify(body) })
  } catch (err) {
    throw new Error(`cannot reach Keystone at ${url}: ${(err as Error).cause ?? (err as Error).message}`)
  }
  const text = await res.text()
  if (res.status !== 201 && res.status !== 200) throw new Error(`Keystone refused the credentials (${res.status}): ${text.slice(0, 300)}`)
  const token = res.headers.get('x-subject-token')
  if (token === null) throw new Error('Keystone answered without X-Subject-Token')
  const catalog: any[] = JSON.parse(text)?.token?.catalog ?? []
  const endpoints: any[] = catalog.find((service) => service.type === 'image')?.endpoints ?? []
  const chosen = endpoints.find((e) => e.interface === s.interface && (s.region === undefined || e.region === s.region || e.region_id === s.region))
  return { token, imageEndpoint: chosen?.url }
}
