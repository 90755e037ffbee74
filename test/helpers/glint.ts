// Starts a real Glint (the compiled server, as `npm start` runs it) on a free port, with its
// own data directory and either embedded PGlite or a throwaway database on the local
// PostgreSQL, and stops it again. Tests talk to it over HTTP only.

import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { randomBytes } from 'node:crypto'
import postgres from 'postgres'
import { freePort } from '../../bench/util/paths.js'

export const ROOT = resolve(import.meta.dirname, '..', '..')
export const PG_ADMIN_URL = process.env.GLINT_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

export interface GlintOptions {
  /** glance-api.conf text; `{dataDir}` is replaced by the server's data directory. */
  config?: string
  database?: 'embedded' | 'postgres'
  /** Use this existing database URL instead of creating one. */
  databaseUrl?: string
  env?: Record<string, string>
}

export interface Glint {
  url: string
  port: number
  dataDir: string
  databaseUrl?: string
  proc: ChildProcess
  output: () => string
  /** SIGTERM, wait for exit; resolves the exit code. Removes the data dir and database. */
  stop: () => Promise<number | null>
  /** fetch with the server's base URL and JSON handling */
  request: (method: string, path: string, opts?: { headers?: Record<string, string>, json?: unknown, body?: any }) => Promise<Reply>
}

export interface Reply { status: number, headers: Headers, text: string, json: any }

export async function createDatabase (): Promise<{ url: string, drop: () => Promise<void> }> {
  const name = `glint_test_${randomBytes(6).toString('hex')}`
  const admin = postgres(PG_ADMIN_URL, { max: 1, onnotice: () => {} })
  await admin.unsafe(`create database ${name}`)
  await admin.end()
  const url = PG_ADMIN_URL.replace(/\/[^/]*$/, `/${name}`)
  return {
    url,
    async drop () {
      const sql = postgres(PG_ADMIN_URL, { max: 1, onnotice: () => {} })
      await sql.unsafe(`drop database if exists ${name} with (force)`)
      await sql.end()
    }
  }
}

export async function startGlint (opts: GlintOptions = {}): Promise<Glint> {
  const dataDir = mkdtempSync(join(tmpdir(), 'glint-test-'))
  const port = await freePort()
  const db = opts.database === 'postgres' && opts.databaseUrl === undefined ? await createDatabase() : undefined
  const databaseUrl = opts.databaseUrl ?? db?.url
  const args = ['dist/src/main.js']
  if (opts.config !== undefined) {
    const file = join(dataDir, 'glance-api.conf')
    writeFileSync(file, opts.config.replaceAll('{dataDir}', dataDir))
    args.push('--config-file', file)
  }
  const env: Record<string, string> = { ...process.env as Record<string, string>, GLINT_PORT: String(port), GLINT_DATA_DIR: dataDir }
  delete env.DATABASE_URL
  if (databaseUrl !== undefined) env.DATABASE_URL = databaseUrl
  Object.assign(env, opts.env)
  const proc = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  proc.stdout!.on('data', (d) => { output += d })
  proc.stderr!.on('data', (d) => { output += d })
  // GLINT_TEST_LOG=1 shows the server's own log while debugging a test
  if (process.env.GLINT_TEST_LOG !== undefined) { proc.stdout!.pipe(process.stderr); proc.stderr!.pipe(process.stderr) }
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)))

  const started = new Promise<void>((resolve, reject) => {
    // Generous: embedded PGlite compiles its WebAssembly and creates its database at first start,
    // which takes tens of seconds on a loaded 2-core machine.
    const timer = setTimeout(() => reject(new Error(`glint did not start in 180 s:\n${output}`)), 180_000)
    const check = (): void => {
      if (output.includes('"msg":"listening"')) { clearTimeout(timer); resolve() }
    }
    proc.stdout!.on('data', check)
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`glint exited with ${code} before listening:\n${output}`)) })
  })
  try {
    await started
  } catch (err) {
    proc.kill('SIGKILL')
    rmSync(dataDir, { recursive: true, force: true })
    await db?.drop()
    throw err
  }

  const url = `http://127.0.0.1:${port}`
  let stopped: Promise<number | null> | undefined
  return {
    url,
    port,
    dataDir,
    databaseUrl,
    proc,
    output: () => output,
    stop () {
      stopped ??= (async () => {
        if (proc.exitCode === null) proc.kill('SIGTERM')
        const code = await exited
        rmSync(dataDir, { recursive: true, force: true })
        await db?.drop()
        return code
      })()
      return stopped
    },
    request: async (method, path, o = {}) => await request(url, method, path, o)
  }
}

export async function request (base: string, method: string, path: string,
  opts: { headers?: Record<string, string>, json?: unknown, body?: any } = {}): Promise<Reply> {
  const headers: Record<string, string> = { Accept: 'application/json', ...opts.headers }
  let body = opts.body
  if (opts.json !== undefined) {
    body = JSON.stringify(opts.json)
    headers['Content-Type'] ??= 'application/json'
  }
  const res = await fetch(base + path, { method, headers, body, duplex: 'half' } as RequestInit)
  const text = await res.text()
  let json: any
  try { json = JSON.parse(text) } catch { json = undefined }
  return { status: res.status, headers: res.headers, text, json }
}

/** Creates an image (raw/bare unless overridden) and returns its JSON. */
export async function createImage (glint: Glint, fields: Record<string, unknown> = {}, headers?: Record<string, string>): Promise<any> {
  const reply = await glint.request('POST', '/v2/images', { json: { name: 'test', disk_format: 'raw', container_format: 'bare', ...fields }, headers })
  if (reply.status !== 201) throw new Error(`create failed: ${reply.status} ${reply.text}`)
  return reply.json
}

/** Sends raw bytes over one connection and resolves everything the server answered (until it closes or goes idle). */
export async function rawHttp (port: number, text: string | Buffer, idleMs = 300): Promise<string> {
  const { connect } = await import('node:net')
  return await new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    let out = ''
    let timer: NodeJS.Timeout | undefined
    const settle = (): void => { socket.destroy(); resolve(out) }
    socket.on('data', (d) => { out += d.toString('latin1'); clearTimeout(timer); timer = setTimeout(settle, idleMs) })
    socket.on('end', settle)
    socket.on('error', reject)
    socket.write(text)
  })
}
