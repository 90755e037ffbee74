// The test Keystone for the keystone scenario (test/keystone/keystone.sh): booted if it is not
// up, and what the harness asks of it: tokens (password method, project scope), a throwaway
// project with a member user, and its server's pid, whose CPU is reported beside each run.

import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { REPO_ROOT } from '../util/paths.js'
import { describeFailure, runCommand } from '../util/process.js'

const KEYSTONE_SH = join(REPO_ROOT, 'test', 'keystone', 'keystone.sh')
const BOOT_TIMEOUT_MS = 5 * 60_000
const CALL_TIMEOUT_MS = 30_000

export interface Keystone {
  /** e.g. http://127.0.0.1:5000/v3 */
  url: string
  /** the uwsgi master serving it (its worker is its child) */
  pid: number
}

/** `keystone.sh up` (instant when up, a minute or so when it must provision), then where it is. */
export async function bootKeystone (): Promise<Keystone> {
  const up = await runCommand(KEYSTONE_SH, ['up'], { timeoutMs: BOOT_TIMEOUT_MS })
  if (up.code !== 0) throw new Error(describeFailure('test/keystone/keystone.sh up', up))
  const env = await runCommand(KEYSTONE_SH, ['env'], { timeoutMs: 10_000 })
  const value = (name: string): string | undefined => new RegExp(`^export ${name}=(.*)$`, 'm').exec(env.stdout)?.[1]
  const url = value('GLINT_KEYSTONE_URL')
  const dir = value('GLINT_KEYSTONE_DIR')
  if (url === undefined || dir === undefined) throw new Error(`keystone.sh env said nothing usable: ${env.stdout.slice(0, 200)}`)
  const port = new URL(url).port
  const pid = Number(readFileSync(join(dir, 'run', `uwsgi-${port}.pid`), 'utf8').trim())
  return { url, pid }
}

async function call (base: string, method: string, path: string, token: string | undefined, body?: unknown): Promise<{ status: number, headers: Headers, json: any }> {
  const res = await fetch(base + path, {
    method,
    headers: { 'Content-Type': 'application/json', ...(token !== undefined ? { 'X-Auth-Token': token } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(CALL_TIMEOUT_MS)
  })
  const text = await res.text()
  return { status: res.status, headers: res.headers, json: text === '' ? undefined : JSON.parse(text) }
}

/** A project-scoped token of a user of domain Default. */
export async function issueToken (base: string, username: string, password: string, projectName: string): Promise<string> {
  const reply = await call(base, 'POST', '/auth/tokens', undefined, {
    auth: {
      identity: { methods: ['password'], password: { user: { name: username, domain: { id: 'default' }, password } } },
      scope: { project: { name: projectName, domain: { id: 'default' } } }
    }
  })
  const token = reply.headers.get('x-subject-token')
  if (reply.status !== 201 || token === null) throw new Error(`Keystone refused a token for ${username}: ${reply.status} ${JSON.stringify(reply.json).slice(0, 200)}`)
  return token
}

export interface Account { username: string, password: string, projectName: string, projectId: string, userId: string }

/** A new project and a user with role member on it: the images' owner in the scenario. */
export async function createAccount (base: string): Promise<Account> {
  const admin = await issueToken(base, 'admin', 'admin', 'admin')
  const suffix = randomBytes(4).toString('hex')
  const project = await call(base, 'POST', '/projects', admin, { project: { name: `glint-bench-${suffix}`, domain_id: 'default' } })
  if (project.status !== 201) throw new Error(`creating a project: Keystone answered ${project.status}`)
  const password = `bench-${suffix}`
  const user = await call(base, 'POST', '/users', admin, { user: { name: `glint-bench-${suffix}`, domain_id: 'default', password } })
  if (user.status !== 201) throw new Error(`creating a user: Keystone answered ${user.status}`)
  const account = { username: user.json.user.name, password, projectName: project.json.project.name, projectId: project.json.project.id, userId: user.json.user.id }
  const roles = await call(base, 'GET', '/roles?name=member', admin)
  const grant = await call(base, 'PUT', `/projects/${account.projectId}/users/${account.userId}/roles/${roles.json?.roles?.[0]?.id}`, admin)
  if (grant.status !== 204) {
    await deleteAccount(base, account)
    throw new Error(`granting role member: Keystone answered ${grant.status}`)
  }
  return account
}

export async function deleteAccount (base: string, account: Account): Promise<void> {
  const admin = await issueToken(base, 'admin', 'admin', 'admin')
  await call(base, 'DELETE', `/users/${account.userId}`, admin)
  await call(base, 'DELETE', `/projects/${account.projectId}`, admin)
}
