// What the fault tests share (issue 15): a seeded generator, image bytes that can be
// regenerated from their number, an upload that can be cut at any block, a private
// PostgreSQL server a test may stop, and the check every fault test ends with: nothing
// `active` without all its bytes and hashes, nothing stuck in `saving`, no orphaned data.

import type { Test } from 'tap'
import { createHash } from 'node:crypto'
import { execFile, execFileSync } from 'node:child_process'
import { chownSync, mkdtempSync, rmSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { ROOT, type Glint } from './glint.js'
import { download, eventually } from './data.js'
import { freePort } from '../../bench/util/paths.js'

const run = promisify(execFile)
export const MiB = 1024 * 1024

/** A small seeded generator (mulberry32): the same rounds on every run. */
export function seeded (seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

/** The image's bytes: 1 MiB blocks that differ by their index and the image's number. */
export function block (image: number, index: number): Buffer {
  const b = Buffer.alloc(MiB, (image * 31 + index) & 0xff)
  b.writeUInt32LE(index, 0)
  b.writeUInt32LE(image, 4)
  return b
}

export function sha512Of (image: number, blocks: number): string {
  const h = createHash('sha512')
  for (let i = 0; i < blocks; i++) h.update(block(image, i))
  return h.digest('hex')
}

/**
 * Streams `blocks` MiB to the image, calling `before(i)` ahead of block i (false: stop
 * sending, the caller ends it) and `after()` once the body is sent. Resolves the status the
 * client saw (0: none, the gateway died or closed first) and the answer's body.
 */
export async function streamUpload (url: string, id: string, image: number, blocks: number,
  hooks: { before?: (i: number) => boolean | Promise<void>, after?: () => void, store?: string } = {}): Promise<{ status: number, body: string }> {
  return await new Promise((resolve) => {
    const headers: Record<string, string> = { 'Content-Type': 'application/octet-stream', 'Transfer-Encoding': 'chunked' }
    if (hooks.store !== undefined) headers['X-Image-Meta-Store'] = hooks.store
    const req = httpRequest(`${url}/v2/images/${id}/file`, { method: 'PUT', headers }, (res) => {
      let body = ''
      res.on('data', (d) => { body += d })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
      res.on('error', () => resolve({ status: 0, body }))
    })
    req.on('error', () => resolve({ status: 0, body: '' }))
    let i = 0
    const pump = (): void => {
      while (i < blocks) {
        const go = hooks.before?.(i)
        if (go === false) return
        // a promise: wait for it (the fault happens meanwhile), then go on sending
        if (go instanceof Promise) { hooks.before = undefined; void go.then(pump); return }
        if (!req.write(block(image, i++))) { req.once('drain', pump); return }
      }
      req.end()
      hooks.after?.()
    }
    pump()
  })
}

/** One kill round: how many MiB, and where the gateway dies (ahead of block `killAfter`, or `delayMs` after the last). */
export interface KillRound { blocks: number, killAfter: number, delayMs: number, label: string }

/**
 * The next round from `random`: 4 + up to `spread` MiB; with chance `atEndChance` the kill
 * comes after the last byte (in the flush, snapshot, rename or commit), up to `maxDelayMs` later.
 */
export function killRound (random: () => number, spread: number, atEndChance: number, maxDelayMs: number): KillRound {
  const blocks = 4 + Math.floor(random() * spread)
  const atEnd = random() < atEndChance
  const killAfter = atEnd ? blocks : Math.floor(random() * blocks)
  const delayMs = atEnd ? Math.floor(random() * maxDelayMs) : 0
  return { blocks, killAfter, delayMs, label: atEnd ? `end+${delayMs}ms` : `${killAfter}/${blocks} MiB` }
}

/** The upload, with the gateway killed ahead of block `killAfter`, or `delayMs` after the last. */
export async function uploadAndKill (glint: Glint, id: string, image: number, blocks: number, killAfter: number, delayMs: number, store?: string): Promise<number> {
  const kill = (): void => { glint.proc.kill('SIGKILL') }
  const { status } = await streamUpload(glint.url, id, image, blocks, {
    store,
    before: (i) => { if (i === killAfter) { kill(); return false } return true },
    after: () => { setTimeout(kill, delayMs) }
  })
  await new Promise<void>((resolve) => { if (glint.proc.exitCode !== null || glint.proc.signalCode !== null) resolve(); else glint.proc.once('exit', () => resolve()) })
  return status
}

export function pgBin (): string | undefined {
  try {
    return execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim()
  } catch {
    return undefined
  }
}

export interface PrivatePostgres { url: string, start: () => void, stop: () => void, remove: () => void }

/**
 * A PostgreSQL server of the test's own (initdb into a temporary directory, on a free port),
 * started and stopped with pg_ctl as `postgres`: stopping it disturbs no other test.
 */
export async function privatePostgres (bin: string): Promise<PrivatePostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'glint-pg-'))
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim())
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim())
  chownSync(dir, uid, gid)
  const port = await freePort()
  const asPostgres = (...args: string[]): void => { execFileSync('runuser', ['-u', 'postgres', '--', ...args], { stdio: 'ignore', timeout: 120_000 }) }
  asPostgres(join(bin, 'initdb'), '-D', join(dir, 'data'), '-A', 'trust', '-U', 'postgres', '--no-sync')
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`
  const start = (): void => asPostgres(join(bin, 'pg_ctl'), '-D', join(dir, 'data'), '-o', options, '-l', join(dir, 'log'), '-w', 'start')
  const stop = (): void => asPostgres(join(bin, 'pg_ctl'), '-D', join(dir, 'data'), '-m', 'fast', '-w', 'stop')
  start()
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    start,
    stop,
    remove () {
      try { stop() } catch {}
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

/** `glint orphans` (a dry run unless --delete) against `configFile`'s stores and `databaseUrl`. */
export async function orphans (configFile: string, databaseUrl: string, ...args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, ['bin/glint.js', 'orphans', '--config-file', configFile, ...args],
    { cwd: ROOT, env: { ...process.env, DATABASE_URL: databaseUrl }, timeout: 120_000 })
  return stdout
}

export interface Uploaded { id: string, sha512: string, size: number, label: string }

/**
 * What every fault test ends with. Once recovery has run: no image in `saving`; each image
 * the test uploaded is `queued` without data, or `active` with all its bytes, its own sha512,
 * and those bytes served; the store holds data only for active images (`stored()` lists it);
 * `glint orphans` finds nothing. Resolves how many were active.
 */
export async function nothingHalfDone (t: Test, glint: Glint, images: Uploaded[],
  opts: { configFile: string, databaseUrl: string, stored: () => Promise<string[]>, attempts?: number }): Promise<number> {
  const shown = async (): Promise<Map<string, any>> => {
    const listed = await glint.request('GET', '/v2/images?limit=1000')
    return new Map(listed.json.images.map((i: any) => [i.id, i]))
  }
  t.ok(await eventually(async () => [...(await shown()).values()].every((i) => i.status !== 'saving'), opts.attempts ?? 300, 100),
    'no image stuck in saving once recovery ran')
  const now = await shown()
  let active = 0
  for (const img of images) {
    const s = now.get(img.id)
    if (s?.status === 'queued') {
      t.equal(s.size, null, `${img.label}: queued, without a size`)
      t.equal(s.os_hash_value, null, `${img.label}: and without hashes`)
      continue
    }
    t.equal(s?.status, 'active', `${img.label}: queued or active`)
    if (s?.status !== 'active') continue
    active++
    t.equal(s.size, img.size, `${img.label}: active with all its bytes`)
    t.equal(s.os_hash_value, img.sha512, `${img.label}: active with its own sha512`)
    const down = await download(glint.url, `/v2/images/${img.id}/file`)
    t.equal(down.digest.sha512, img.sha512, `${img.label}: the stored bytes are the uploaded ones`)
  }
  const activeIds = new Set([...now.values()].filter((i) => i.status === 'active').map((i) => i.id))
  let extra: string[] = []
  t.ok(await eventually(async () => {
    extra = (await opts.stored()).filter((id) => !activeIds.has(id))
    return extra.length === 0
  }, 100, 200), `the store holds data of active images only (left: ${extra.join(', ')})`)
  t.match(await orphans(opts.configFile, opts.databaseUrl), /^0 orphaned/m, 'glint orphans lists nothing')
  return active
}
