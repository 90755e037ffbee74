// Debian's real OpenStack image clients, run as subprocesses against a Glint started by a
// test, without Keystone (glance-side-by-side.md section 2):
//   glance    --os-image-url URL --os-auth-token noauth ...   (python3-glanceclient 4.1)
//   openstack --os-auth-type none --os-endpoint URL ...        (python3-openstackclient 6.0)
// Each gets a throwaway HOME (no cached ~/.glanceclient/image_schema.json, pitfall P1),
// OS_IMAGE_API_VERSION=2 and no other OS_* variables from the caller's environment.
//
// stdin matters to both clients: a non-tty stdin is read as image data (pitfall P2).
// glance runs with stdin closed (`<&-`, as the reference scripts do). openstack cannot: with
// fd 0 closed, `image create` crashes on `sys.stdin.isatty()` (sys.stdin is None) before it
// sends anything, so it gets a pseudo-terminal as stdin, as it has when a person types the
// command; it never reads from it.

import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export const GLANCE = '/usr/bin/glance'
export const OPENSTACK = '/usr/bin/openstack'
/** The clients are Debian packages for the system python; the python3 on PATH may lack them. */
export const SYSTEM_PYTHON = '/usr/bin/python3'

/** Why the clients cannot run here, or undefined when both are installed. */
export function clientsMissing (): string | undefined {
  for (const path of [GLANCE, OPENSTACK, SYSTEM_PYTHON]) {
    if (!existsSync(path)) return `${path} is not installed (apt-get install python3-glanceclient python3-openstackclient)`
  }
  return undefined
}

export interface Run { code: number | null, stdout: string, stderr: string, /** stdout + stderr */ output: string, /** stdout as bytes (image data) */ bytes: Buffer, /** the command as a person would type it, without the endpoint options */ command: string }

// Gives the command a pty slave as fd 0 (and keeps the master open across exec, or the
// slave stops being a terminal), then execs it. Nothing ever writes to the master.
const WITH_TTY_STDIN = 'import os, pty, sys\nm, s = pty.openpty()\nos.dup2(s, 0)\nos.set_inheritable(m, True)\nos.execv(sys.argv[1], sys.argv[1:])\n'

/** A small semaphore: at most `n` client processes at a time (each costs about 1 s of CPU to start). */
function limiter (n: number): <T>(job: () => Promise<T>) => Promise<T> {
  let active = 0
  const waiting: Array<() => void> = []
  return async (job) => {
    if (active >= n) await new Promise<void>((resolve) => waiting.push(resolve))
    active++
    try {
      return await job()
    } finally {
      active--
      waiting.shift()?.()
    }
  }
}

export interface Clients {
  /** `glance --os-image-url URL --os-auth-token noauth ARGS`, stdin closed. */
  glance: (...args: string[]) => Promise<Run>
  /** `openstack --os-auth-type none --os-endpoint URL ARGS`, stdin a terminal. */
  openstack: (...args: string[]) => Promise<Run>
  /** Removes the throwaway HOME. */
  cleanup: () => void
}

/** A Keystone user the clients log in as (password method, domain Default). */
export interface KeystoneLogin { authUrl: string, username: string, password: string, projectName: string }

/** `timeoutMs`: how long one client command may run before it is killed (default 120 s). */
export function clients (url: string, opts: { concurrency?: number, cwd?: string, timeoutMs?: number, keystone?: KeystoneLogin } = {}): Clients {
  const home = mkdtempSync(join(tmpdir(), 'glint-clients-home-'))
  const env: Record<string, string> = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith('OS_')) env[key] = value
  }
  Object.assign(env, { HOME: home, OS_IMAGE_API_VERSION: '2', PYTHONWARNINGS: 'ignore', LC_ALL: 'C.UTF-8' })
  const limit = limiter(opts.concurrency ?? 3)
  const cwd = opts.cwd ?? home

  const run = async (command: string, argv: string[], typed: string): Promise<Run> => await limit(async () => await new Promise<Run>((resolve, reject) => {
    const child = spawn(command, argv, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
    const out: Buffer[] = []
    const err: Buffer[] = []
    let both = ''
    child.stdout.on('data', (d: Buffer) => { out.push(d); both += d.toString() })
    child.stderr.on('data', (d: Buffer) => { err.push(d); both += d.toString() })
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000)
    child.on('error', (e) => { clearTimeout(timer); reject(e) })
    child.on('close', (code) => {
      clearTimeout(timer)
      const bytes = Buffer.concat(out)
      resolve({ code, stdout: bytes.toString(), stderr: Buffer.concat(err).toString(), output: both, bytes, command: typed })
    })
  }))

  // Through Keystone: the clients log in with a password and get a token; the image endpoint
  // is this server's (glance --os-image-url; openstacksdk's image_endpoint_override, which it
  // reads from clouds.yaml only), not one from the shared Keystone's catalog.
  const k = opts.keystone
  let glanceAuth = ['--os-auth-token', 'noauth']
  let openstackAuth = ['--os-auth-type', 'none', '--os-endpoint', url]
  if (k !== undefined) {
    glanceAuth = ['--os-auth-url', k.authUrl, '--os-username', k.username, '--os-password', k.password, '--os-project-name', k.projectName,
      '--os-user-domain-name', 'Default', '--os-project-domain-name', 'Default']
    mkdirSync(join(home, '.config', 'openstack'), { recursive: true })
    writeFileSync(join(home, '.config', 'openstack', 'clouds.yaml'), JSON.stringify({
      clouds: {
        glint: {
          auth: { auth_url: k.authUrl, username: k.username, password: k.password, project_name: k.projectName, user_domain_name: 'Default', project_domain_name: 'Default' },
          image_endpoint_override: url
        }
      }
    }))
    openstackAuth = ['--os-cloud', 'glint']
  }

  return {
    glance: async (...args) => await run('/bin/sh', ['-c', 'exec "$0" "$@" <&-', GLANCE, '--os-image-url', url, ...glanceAuth, ...args], ['glance', ...args].join(' ')),
    openstack: async (...args) => await run(SYSTEM_PYTHON, ['-c', WITH_TTY_STDIN, OPENSTACK, ...openstackAuth, ...args], ['openstack', ...args].join(' ')),
    cleanup: () => rmSync(home, { recursive: true, force: true })
  }
}

/**
 * The rows of a prettytable as the clients print them (`+---+` borders, `|` separated),
 * cut at the border's column positions, so `|` inside a value does not split it. A row whose
 * first cell is empty continues the row above (glanceclient wraps long values at 80
 * characters); its cells are appended on a new line.
 */
export function parseTable (text: string): Array<Record<string, string>> {
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''))
  const border = lines.find((l) => /^\+[-+]+\+$/.test(l))
  if (border === undefined) throw new Error(`no table in:\n${text}`)
  const edges: number[] = []
  for (let i = 0; i < border.length; i++) if (border[i] === '+') edges.push(i)
  const cells = (line: string): string[] => edges.slice(0, -1).map((start, i) => line.slice(start + 1, edges[i + 1]).trim())
  const rowLines = lines.filter((l) => l.startsWith('|') && l.length === border.length)
  if (rowLines.length === 0) throw new Error(`no table header in:\n${text}`)
  const header = cells(rowLines[0])
  const rows: string[][] = []
  for (const line of rowLines.slice(1)) {
    const c = cells(line)
    if (c[0] === '' && rows.length > 0) {
      const last = rows[rows.length - 1]
      c.forEach((v, i) => { if (v !== '') last[i] = `${last[i]}\n${v}` })
    } else {
      rows.push(c)
    }
  }
  return rows.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]])))
}

/**
 * A Property/Value table (glance image-show, image-create, stores-info ...) as an object.
 * Values glanceclient wrapped are joined back without the line breaks: textwrap breaks long
 * words and after hyphens without dropping anything, and at spaces by dropping the space;
 * a value compared after `unwrap` must not depend on the spaces (ids, hashes, URLs do not).
 */
export function parseProperties (text: string): Record<string, string> {
  const rows = parseTable(text)
  return Object.fromEntries(rows.map((r) => [r.Property, unwrap(r.Value)]))
}

export function unwrap (value: string): string {
  return value.replaceAll('\n', '')
}

/** Python's repr of a JSON list of strings and null, as glanceclient prints a schema enum. */
export function pythonRepr (list: Array<string | null>): string {
  return `[${list.map((v) => v === null ? 'None' : `'${v}'`).join(', ')}]`
}

/**
 * A reverse proxy in front of a Glint started with `flavor = trusted-auth` that adds fixed
 * identity headers to every request, as keystonemiddleware (or any authenticating proxy) does
 * in a real deployment. Neither client can send X-Roles/X-Project-Id itself without Keystone
 * (glanceclient's shell never passes its `identity_headers`; keystoneauth's `none` plugin
 * only sends `X-Auth-Token: notused`), so this is how they speak as a non-admin.
 */
export async function identityProxy (target: string, identity: Record<string, string>): Promise<{ url: string, close: () => Promise<void> }> {
  const http = await import('node:http')
  const upstream = new URL(target)
  const server = http.createServer((req, res) => {
    const headers = { ...req.headers }
    // whatever the caller claims is replaced, as keystonemiddleware does
    for (const name of Object.keys(headers)) if (/^x-(identity-status|roles|project-id|tenant-id|tenant|user-id|user)$/i.test(name)) delete headers[name]
    const out = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...headers, ...identity } }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers)
      answer.pipe(res)
    })
    out.on('error', () => { res.destroy() })
    req.pipe(out)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => await new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) })
  }
}
