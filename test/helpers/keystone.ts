// The test Keystone (test/keystone/keystone.sh): booted once per machine and shared, plus what
// tests need from it: tokens, throwaway projects and users, a private endpoint a test may stop.
// Everything goes over Keystone's real API; nothing is mocked.

import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { promisify } from 'node:util'
import { join } from 'node:path'
import { ROOT } from './glint.js'
import { freePort } from '../../bench/util/paths.js'

const run = promisify(execFile)
export const KEYSTONE_SH = join(ROOT, 'test', 'keystone', 'keystone.sh')
export const KEYSTONE_URL = `http://127.0.0.1:${process.env.GLINT_KEYSTONE_PORT ?? '5000'}/v3`

/** Boots (or finds) the shared test Keystone; the reason it cannot run here, or undefined. */
export async function keystoneMissing (): Promise<string | undefined> {
  try {
    await run(KEYSTONE_SH, ['up'], { timeout: 300_000 })
    return undefined
  } catch (err: any) {
    return `test Keystone does not boot (test/keystone/keystone.sh up): ${String(err.stderr ?? err.message).trim().slice(-300)}`
  }
}

/** glance-api.conf for a Glint validating tokens at `authUrl` as the service user glance. */
export function keystoneConfig (authUrl = KEYSTONE_URL, extra = ''): string {
  return `[paste_deploy]
flavor = keystone
[keystone_authtoken]
auth_url = ${authUrl.replace(/\/v3$/, '')}
www_authenticate_uri = ${authUrl.replace(/\/v3$/, '')}
auth_type = password
username = glance
password = glance
project_name = service
user_domain_name = Default
project_domain_name = Default
${extra}`
}

export interface Token { token: string, body: any, projectId: string, userId: string, expiresAt: number }

async function keystone (method: string, path: string, token: string | undefined, body?: unknown, base = KEYSTONE_URL): Promise<{ status: number, headers: Headers, json: any }> {
  const res = await fetch(base + path, {
    method,
    headers: { 'Content-Type': 'application/json', ...(token !== undefined ? { 'X-Auth-Token': token } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  const text = await res.text()
  return { status: res.status, headers: res.headers, json: text === '' ? undefined : JSON.parse(text) }
}

async function tokenFor (auth: unknown): Promise<Token> {
  const reply = await keystone('POST', '/auth/tokens', undefined, { auth })
  if (reply.status !== 201) throw new Error(`Keystone refused a token: ${reply.status} ${JSON.stringify(reply.json)}`)
  const body = reply.json.token
  return { token: reply.headers.get('x-subject-token')!, body, projectId: body.project?.id, userId: body.user.id, expiresAt: Date.parse(body.expires_at) }
}

/** A project-scoped token for a user of domain Default. */
export async function passwordToken (username: string, password: string, projectName: string): Promise<Token> {
  return await tokenFor({
    identity: { methods: ['password'], password: { user: { name: username, domain: { id: 'default' }, password } } },
    scope: { project: { name: projectName, domain: { id: 'default' } } }
  })
}

export const adminToken = async (): Promise<Token> => await passwordToken('admin', 'admin', 'admin')

export interface Account { username: string, password: string, projectName: string, projectId: string, userId: string }

/** A new project with a new user holding `role` on it (names unique per call). */
export async function createAccount (role = 'member'): Promise<Account> {
  const admin = await adminToken()
  const suffix = randomBytes(4).toString('hex')
  const project = await keystone('POST', '/projects', admin.token, { project: { name: `glint-test-${suffix}`, domain_id: 'default' } })
  const password = `pw-${suffix}`
  const user = await keystone('POST', '/users', admin.token, { user: { name: `glint-user-${suffix}`, domain_id: 'default', password } })
  const roles = await keystone('GET', `/roles?name=${role}`, admin.token)
  const grant = await keystone('PUT', `/projects/${project.json.project.id}/users/${user.json.user.id}/roles/${roles.json.roles[0].id}`, admin.token)
  if (project.status !== 201 || user.status !== 201 || grant.status !== 204) throw new Error('creating a test account failed')
  return { username: user.json.user.name, password, projectName: project.json.project.name, projectId: project.json.project.id, userId: user.json.user.id }
}

export async function deleteAccount (account: Account): Promise<void> {
  const admin = await adminToken()
  await keystone('DELETE', `/users/${account.userId}`, admin.token)
  await keystone('DELETE', `/projects/${account.projectId}`, admin.token)
}

/**
 * A token that expires `seconds` from now: Keystone caps a token issued through an
 * application credential at the credential's own expiry.
 */
export async function shortLivedToken (account: Account, seconds: number): Promise<Token> {
  const user = await passwordToken(account.username, account.password, account.projectName)
  const expires = new Date(Date.now() + seconds * 1000).toISOString().replace(/Z$/, '')
  const created = await keystone('POST', `/users/${account.userId}/application_credentials`, user.token,
    { application_credential: { name: `short-${randomBytes(4).toString('hex')}`, expires_at: expires } })
  if (created.status !== 201) throw new Error(`application credential refused: ${created.status} ${JSON.stringify(created.json)}`)
  const cred = created.json.application_credential
  return await tokenFor({ identity: { methods: ['application_credential'], application_credential: { id: cred.id, secret: cred.secret } } })
}

/** A uwsgi of its own serving the test Keystone, that this test may stop and start again. */
export async function privateKeystone (): Promise<{ url: string, stop: () => Promise<void>, start: () => Promise<void> }> {
  const port = String(await freePort())
  const start = async (): Promise<void> => { await run(KEYSTONE_SH, ['start', port], { timeout: 180_000 }) }
  const stop = async (): Promise<void> => { await run(KEYSTONE_SH, ['stop', port], { timeout: 60_000 }) }
  await start()
  return { url: `http://127.0.0.1:${port}/v3`, start, stop }
}
