#!/usr/bin/env node
// Smoke test of the librbd addon against the real test clusters (never a mock).
//
//   test/ceph/clusters.sh up
//   node native/smoke.mjs [confA] [confB]     (defaults: /tmp/glint-ceph/{a,b}/ceph.conf)
//
// On cluster a (main thread): connect (fsid = `ceph fsid`), a 64 MiB order-23 layering
// image written with 4 aio writes in flight from reused buffers, resize, read back and
// compare, checked from outside with python3-rbd; snap + protect + clone + listChildren,
// snapUnprotect -> EBUSY while the child exists, cleanup; a write/read past 4 GiB on a
// sparse image; errno errors and misuse errors. Meanwhile a worker_thread does its own
// I/O on cluster b with its own instance of the addon (context-awareness). First, a
// connect to a dead mon with timeoutSec 3 must fail with ETIMEDOUT while the event loop
// keeps ticking. The script must then exit by itself: an idle addon holds no handle
// open. Prints throughput figures (informational) and exits non-zero on any failure.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads'
import rbd from './index.cjs'

const MiB = 1 << 20
const GiB = 1 << 30
const POOL = 'images'

const log = (...a) => console.log(isMainThread ? '[a]' : '[b]', ...a)
const mbps = (bytes, ms) => `${(bytes / 1e6 / (ms / 1e3)).toFixed(0)} MB/s`
const tag = () => `${process.pid}-${randomBytes(3).toString('hex')}`

// Rejects with an error whose fields match `want` (code, errno, syscall, message).
async function rejects (promise, want, what) {
  try {
    await promise
  } catch (err) {
    for (const [k, v] of Object.entries(want)) {
      if (v instanceof RegExp) assert.match(String(err[k]), v, `${what}: err.${k}`)
      else assert.equal(err[k], v, `${what}: err.${k} (${err.message})`)
    }
    return err
  }
  assert.fail(`${what}: expected a rejection with ${JSON.stringify(want)}`)
}

// Writes src at offset 0 in chunks, `depth` aio writes in flight, each slot reusing
// one buffer. Returns elapsed ms including the final flush.
async function pipelinedWrite (img, src, chunk, depth) {
  const t0 = performance.now()
  let next = 0
  const slot = async () => {
    const buf = new Uint8Array(chunk)
    while (next < src.length) {
      const off = next
      next += chunk
      const len = Math.min(chunk, src.length - off)
      buf.set(src.subarray(off, off + len))
      await img.write(len === chunk ? buf : buf.subarray(0, len), off)
    }
  }
  await Promise.all(Array.from({ length: depth }, slot))
  await img.flush()
  return performance.now() - t0
}

// Reads src.length bytes back (depth reads in flight, reused buffers) and compares.
async function pipelinedVerify (img, src, chunk, depth) {
  const t0 = performance.now()
  let next = 0
  const slot = async () => {
    const buf = Buffer.alloc(chunk)
    while (next < src.length) {
      const off = next
      next += chunk
      const len = Math.min(chunk, src.length - off)
      const n = await img.read(buf.subarray(0, len), off)
      assert.equal(n, len, `short read at ${off}`)
      if (!buf.subarray(0, len).equals(src.subarray(off, off + len))) assert.fail(`data mismatch in chunk at ${off}`)
    }
  }
  await Promise.all(Array.from({ length: depth }, slot))
  return performance.now() - t0
}

function ceph (conf, ...args) {
  return execFileSync('ceph', ['-c', conf, '--connect-timeout', '15', ...args], { encoding: 'utf8', timeout: 60e3 }).trim()
}

// Images this run may leave behind if it fails; removed with the rbd CLI (children first).
const leftovers = []
// Handles opened on the main thread, closed in reverse order if the run fails.
const opened = []
const track = h => { opened.push(h); return h }
async function closeAll () {
  for (const h of opened.reverse()) await (h.close ?? h.shutdown).call(h).catch(() => {})
}
function cleanup (conf) {
  for (const name of leftovers) {
    const rbdCli = (...a) => { try { execFileSync('rbd', ['-c', conf, ...a], { stdio: 'ignore', timeout: 60e3 }) } catch {} }
    rbdCli('snap', 'unprotect', `${POOL}/${name}@snap`)
    rbdCli('snap', 'purge', `${POOL}/${name}`)
    rbdCli('rm', `${POOL}/${name}`)
  }
}

// ---------------------------------------------------------------------------------

async function deadMonConnect (confA) {
  const dir = mkdtempSync(join(tmpdir(), 'glint-smoke-'))
  try {
    const conf = join(dir, 'ceph.conf')
    // Nothing listens on 127.0.0.1:9; the keyring is a real one so that only the mon is missing.
    const keyring = /^\s*keyring\s*=\s*(.+)$/m.exec(readFileSync(confA, 'utf8').split(/^\[client\]/m)[1] ?? '')?.[1]
    writeFileSync(conf, `[global]\nmon host = 127.0.0.1:9\nlog file = ${join(dir, 'client.log')}\n${keyring ? `keyring = ${keyring}\n` : ''}`)
    let ticks = 0
    const iv = setInterval(() => ticks++, 100)
    const t0 = performance.now()
    const err = await rejects(rbd.connect({ conf, timeoutSec: 3 }), { code: /^E(TIMEDOUT|CONNREFUSED|HOSTUNREACH)$/, syscall: 'connect' }, 'dead mon')
    const ms = performance.now() - t0
    clearInterval(iv)
    log(`dead mon: rejected after ${(ms / 1e3).toFixed(2)} s with ${err.code} (errno ${err.errno}) "${err.message}"; ${ticks} ticks of 100 ms meanwhile`)
    assert.ok(ms >= 2500 && ms < 15000, `dead-mon connect took ${ms} ms`)
    assert.ok(ticks >= Math.floor(ms / 100) * 0.7, `event loop was blocked: ${ticks} ticks in ${ms} ms`)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

async function misuse (conf, cluster, pool) {
  await rejects(cluster.openPool('no-such-pool-glint'), { code: 'ENOENT', errno: -2, syscall: 'openPool' }, 'openPool missing')
  await rejects(pool.open('no-such-image-glint'), { code: 'ENOENT', errno: -2, syscall: 'open', message: 'open: No such file or directory' }, 'open missing')
  await rejects(pool.remove('no-such-image-glint'), { code: 'ENOENT', syscall: 'remove' }, 'remove missing')
  await rejects(pool.create('x', -1, { order: 22 }), { code: 'ERR_OUT_OF_RANGE' }, 'negative size')
  await rejects(pool.create('x', 1.5, { order: 22 }), { code: 'ERR_OUT_OF_RANGE' }, 'fractional size')
  await rejects(pool.open(42), { code: 'ERR_INVALID_ARG_TYPE' }, 'non-string name')
  await rejects(rbd.connect({}), { code: 'ERR_INVALID_ARG_TYPE' }, 'connect without conf')
  await rejects(rbd.connect({ conf, user: 'glint-no-such-user', timeoutSec: 10 }), { code: 'EACCES', errno: -13, syscall: 'connect' }, 'unknown cephx user')
  assert.throws(() => new cluster.constructor(), /Illegal constructor/)
}

async function mainA (confA, worker) {
  const fsid = ceph(confA, 'fsid')
  const cluster = track(await rbd.connect({ conf: confA, user: 'admin', timeoutSec: 30 }))
  assert.equal(cluster.fsid, fsid)
  log(`connected, fsid ${cluster.fsid} matches \`ceph fsid\``)
  await rejects(cluster.shutdown().then(() => cluster.openPool(POOL)), { code: 'EBADF', syscall: 'openPool' }, 'openPool after shutdown')
  await rejects(cluster.shutdown(), { code: 'EBADF' }, 'second shutdown')

  const c = track(await rbd.connect({ conf: confA, timeoutSec: 30 }))
  const pool = track(await c.openPool(POOL))
  await misuse(confA, c, pool)

  const name = `glint-smoke-${tag()}`
  const child = `${name}-child`
  leftovers.push(child, name, `${name}-big`)
  const SIZE = 64 * MiB
  const src = randomBytes(SIZE)

  await pool.create(name, SIZE, { order: 23, features: 1 })
  await rejects(pool.create(name, SIZE, { order: 23 }), { code: 'EEXIST', errno: -17, syscall: 'create' }, 'create twice')
  assert.ok((await pool.list()).includes(name), 'list() shows the image')
  const img = track(await pool.open(name))
  assert.deepEqual(await img.stat(), { size: SIZE, objSize: 8 * MiB, order: 23 })

  await worker.ready // the worker has its own cluster b image open: both write at once
  worker.go()
  const w0 = Date.now() - worker.t0
  const wms = await pipelinedWrite(img, src, 4 * MiB, 4)
  log(`wrote 64 MiB (4 MiB chunks, 4 aio in flight, reused buffers) in ${wms.toFixed(0)} ms: ${mbps(SIZE, wms)}, at ${w0}..${Date.now() - worker.t0} ms after the worker started`)

  await img.resize(96 * MiB)
  assert.equal((await img.stat()).size, 96 * MiB)
  const rms = await pipelinedVerify(img, src, 4 * MiB, 4)
  log(`read back and compared 64 MiB in ${rms.toFixed(0)} ms: ${mbps(SIZE, rms)}`)
  const tail = Buffer.alloc(MiB, 0xff)
  assert.equal(await img.read(tail, 96 * MiB - MiB / 2), MiB / 2, 'short read at the end of the image')
  assert.ok(tail.subarray(0, MiB / 2).every(b => b === 0), 'resized area reads as zeros')
  await rejects(img.read(tail, 96 * MiB), { code: 'EINVAL', syscall: 'read' }, 'read starting at the end')
  assert.equal(await img.read(new Uint8Array(0), 96 * MiB), 0, 'empty read')
  await rejects(img.write(tail, 96 * MiB - MiB / 2), { code: 'EINVAL', syscall: 'write', message: /past the end/ }, 'write past the end')

  // From outside, with the Debian python bindings.
  const py = execFileSync('/usr/bin/python3', ['-c', `
import json, sys, rados, rbd
with rados.Rados(conffile=sys.argv[1]) as c, c.open_ioctx(sys.argv[2]) as io, rbd.Image(io, sys.argv[3], read_only=True) as im:
    st = im.stat()
    print(json.dumps({"size": im.size(), "features": im.features(), "order": st["order"], "obj_size": st["obj_size"], "head": im.read(0, 4096).hex()}))
`, confA, POOL, name], { encoding: 'utf8', timeout: 60e3 })
  const ext = JSON.parse(py)
  assert.equal(ext.size, 96 * MiB)
  assert.equal(ext.features, 1, 'features = RBD_FEATURE_LAYERING only')
  assert.equal(ext.order, 23)
  assert.equal(ext.head, src.subarray(0, 4096).toString('hex'), 'python reads the bytes we wrote')
  log(`python3-rbd sees size ${ext.size}, features ${ext.features} (layering), order ${ext.order}, and our first 4 KiB`)

  await img.snapCreate('snap')
  await img.snapProtect('snap')
  assert.equal(await img.snapIsProtected('snap'), true)
  assert.deepEqual(await img.snapList(), ['snap'])
  await pool.clone(name, 'snap', child, { order: 23 })
  const atSnap = track(await pool.open(name, { snapshot: 'snap', readOnly: true }))
  assert.deepEqual(await atSnap.listChildren(), [{ pool: POOL, image: child }])
  await rejects(atSnap.write(Buffer.alloc(512), 0), { code: 'EROFS', syscall: 'write' }, 'write to a snapshot')

  const kid = track(await pool.open(child))
  const kidStat = await kid.stat()
  assert.equal(kidStat.order, 23, 'the clone has the order asked for')
  const head = Buffer.alloc(4 * MiB)
  assert.equal(await kid.read(head, 0), 4 * MiB)
  assert.ok(head.equals(src.subarray(0, 4 * MiB)), 'the clone reads the parent data')
  log(`cloned ${child} (size ${kidStat.size}); listChildren shows it; it reads the parent's data`)

  const busy = await rejects(img.snapUnprotect('snap'), { code: 'EBUSY', errno: -16, syscall: 'snapUnprotect', message: 'snapUnprotect: Device or resource busy' }, 'unprotect with a child')
  log(`snapUnprotect with a child: ${busy.code} "${busy.message}"`)
  await rejects(pool.close(), { code: 'EBUSY', syscall: 'close' }, 'pool.close with open images')
  await rejects(c.shutdown(), { code: 'EBUSY', syscall: 'shutdown' }, 'shutdown with open pools')

  await kid.close()
  await rejects(kid.read(head, 0), { code: 'EBADF', syscall: 'read', message: 'read: image is closed' }, 'read after close')
  await rejects(kid.stat(), { code: 'EBADF', syscall: 'stat' }, 'stat after close')
  await rejects(kid.close(), { code: 'EBADF', syscall: 'close' }, 'close twice')
  await pool.remove(child)
  assert.deepEqual(await atSnap.listChildren(), [])
  await atSnap.close()
  await img.snapUnprotect('snap')
  assert.equal(await img.snapIsProtected('snap'), false)

  // close() waits for I/O in flight, and calls made after it are refused at once.
  const inflight = img.write(src.subarray(0, 8 * MiB), 0)
  const closing = img.close()
  await rejects(img.flush(), { code: 'EBADF', message: 'flush: image is closing' }, 'flush while closing')
  await Promise.all([inflight, closing])

  await rejects(pool.remove(name), { code: 'ENOTEMPTY', errno: -39 }, 'remove with a snapshot')
  const again = track(await pool.open(name))
  await again.snapRemove('snap')
  assert.deepEqual(await again.snapList(), [])
  await again.close()
  await pool.remove(name)
  assert.ok(!(await pool.list()).includes(name), 'image removed')
  log('snapshot and clone lifecycle OK: unprotect, snapRemove, remove')

  // > 4 GiB offsets on a sparse image: the data must land at the 64-bit offset, not mod 2^32.
  const big = `${name}-big`
  await pool.create(big, 6 * GiB, { order: 22, features: 1 })
  const bimg = track(await pool.open(big))
  const far = 5 * GiB + 12345
  const chunk = randomBytes(MiB)
  await bimg.write(chunk, far)
  const back = Buffer.alloc(MiB)
  assert.equal(await bimg.read(back, far), MiB)
  assert.ok(back.equals(chunk), 'read back at 5 GiB + 12345')
  assert.equal(await bimg.read(back, far - 4 * GiB), MiB)
  assert.ok(back.every(b => b === 0), 'nothing written at offset mod 2^32')
  assert.equal((await bimg.stat()).size, 6 * GiB)
  await bimg.close()
  const bigInfo = JSON.parse(execFileSync('rbd', ['-c', confA, 'info', '--format', 'json', `${POOL}/${big}`], { encoding: 'utf8', timeout: 60e3 }))
  assert.equal(bigInfo.size, 6 * GiB)
  assert.deepEqual(bigInfo.features, ['layering'])
  await pool.remove(big)
  log(`1 MiB at offset ${far} (> 4 GiB) written and read back; rbd info: size ${bigInfo.size}, features ${bigInfo.features}`)

  await pool.close()
  await c.shutdown()
  log('pool closed, cluster shut down')

  log(`worker on cluster b: ${await worker.done}`)
}

// ---------------------------------------------------------------------------------

async function workerB ({ conf, fsid }) {
  const cluster = await rbd.connect({ conf, timeoutSec: 30 })
  assert.equal(cluster.fsid, fsid)
  const pool = await cluster.openPool(POOL)
  const name = `glint-smoke-${tag()}-b`
  const SIZE = 32 * MiB
  const src = randomBytes(SIZE)
  await pool.create(name, SIZE, { order: 22, features: 1 })
  const img = await pool.open(name)
  parentPort.postMessage({ ready: true })
  await new Promise(resolve => parentPort.once('message', resolve)) // 'go': [a] starts writing too
  const t0 = Date.now()
  const wms = await pipelinedWrite(img, src, 4 * MiB, 4)
  const rms = await pipelinedVerify(img, src, 4 * MiB, 4)
  const window = `${t0 - workerData.t0}..${Date.now() - workerData.t0} ms`
  await img.snapCreate('snap')
  assert.deepEqual(await img.snapList(), ['snap'])
  await img.snapRemove('snap')
  await img.close()
  await pool.remove(name)
  await pool.close()
  await cluster.shutdown()
  return `fsid ${fsid} matches; 32 MiB written (${mbps(SIZE, wms)}) and verified (${mbps(SIZE, rms)}) at ${window} after start, while [a] wrote`
}

if (!isMainThread) {
  workerB(workerData).then(r => parentPort.postMessage({ ok: r }), e => parentPort.postMessage({ err: e.stack }))
} else {
  const confA = process.argv[2] ?? '/tmp/glint-ceph/a/ceph.conf'
  const confB = process.argv[3] ?? '/tmp/glint-ceph/b/ceph.conf'
  const t0 = performance.now()
  try {
    assert.ok(rbd.available, `addon unavailable: ${rbd.reason}`)
    log(`addon loaded: librbd ${rbd.versions.librbd}, librados ${rbd.versions.librados}`)
    await deadMonConnect(confA)

    const wt0 = Date.now()
    const w = new Worker(new URL(import.meta.url), { workerData: { conf: confB, fsid: ceph(confB, 'fsid'), t0: wt0 } })
    let ready, result
    const worker = {
      t0: wt0,
      ready: new Promise(resolve => { ready = resolve }),
      go: () => w.postMessage('go'),
      done: new Promise((resolve, reject) => {
        w.on('message', m => { if (m.ready) ready(); else result = m })
        w.on('error', reject)
        // Settles on exit: the worker's env must wind down by itself once it is idle.
        w.on('exit', code => result?.ok && code === 0 ? resolve(result.ok) : reject(new Error(result?.err ?? `worker exited with ${code}`)))
      })
    }
    worker.done.catch(() => {}) // awaited in mainA
    worker.done.catch(ready)    // a worker that dies early must not leave mainA waiting
    await mainA(confA, worker)
    log(`smoke OK in ${((performance.now() - t0) / 1e3).toFixed(1)} s; waiting for the loop to empty by itself`)
    process.on('exit', () => console.log('[a] exited on its own (no handle left open)'))
  } catch (err) {
    console.error(err)
    // Close what is still open first: an image left open keeps its watch (rm -> EBUSY).
    await closeAll()
    if (leftovers.length) console.error(`[a] removing leftovers (if any): ${leftovers.join(' ')}`)
    cleanup(confA)
    process.exit(1)
  }
}
