// `glint upload` (issue 16): 20 files into two stores with --parallel 4, killed midway and run
// again: nothing is uploaded twice (the store's byte counter in /metrics moves by exactly the
// images that were not active yet), every image ends active in both stores with the local
// file's md5 and sha512. Progress as plain lines in a pipe, and as bars on a real terminal
// (tmux). Uploads go through a throttling proxy so they are still in flight when the test looks.

import t from 'tap'
import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ROOT, startGlint } from './helpers/glint.js'
import { eventually } from './helpers/data.js'
import { throttledProxy } from './helpers/throttle.js'
import { freePort } from '../bench/util/paths.js'

const MiB = 1024 * 1024
const GLINT_BIN = join(ROOT, 'bin', 'glint.js')

interface Local { name: string, path: string, size: number, md5: string, sha512: string }

function makeFiles (dir: string, prefix: string, sizes: number[]): Local[] {
  mkdirSync(dir, { recursive: true })
  return sizes.map((size, i) => {
    const name = `${prefix}${String(i).padStart(2, '0')}`
    const path = join(dir, `${name}.raw`)
    const data = randomBytes(size)
    writeFileSync(path, data)
    return { name, path, size, md5: createHash('md5').update(data).digest('hex'), sha512: createHash('sha512').update(data).digest('hex') }
  })
}

function cliEnv (): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('OS_')) env[k] = v
  return env
}

function runCli (args: string[]): { child: ChildProcess, output: () => string, exited: Promise<number | null> } {
  const child = spawn(process.execPath, [GLINT_BIN, ...args], { cwd: ROOT, env: cliEnv(), stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout!.on('data', (d) => { out += d })
  child.stderr!.on('data', (d) => { out += d })
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
  return { child, output: () => out, exited }
}

async function scrapeSample (port: number, key: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
  const line = text.split('\n').find((l) => l.startsWith(key + ' '))
  return line === undefined ? 0 : Number(line.slice(key.length + 1))
}

t.test('glint upload', async (t) => {
  const metricsPort = await freePort()
  const glint = await startGlint({
    database: 'postgres',
    config: `[DEFAULT]
enabled_backends = a:file, b:file
metrics_port = ${metricsPort}
[glance_store]
default_backend = a
[a]
filesystem_store_datadir = {dataDir}/a
[b]
filesystem_store_datadir = {dataDir}/b
`
  })
  t.teardown(() => glint.stop())
  // 20 MB/s: the 20 files (about 90 MiB) take seconds to send, whatever the machine
  const proxy = await throttledProxy(glint.port, 20e6)
  t.teardown(() => proxy.close())
  const endpoint = `http://127.0.0.1:${proxy.port}`
  const work = mkdtempSync(join(tmpdir(), 'glint-cli-'))
  t.teardown(() => rmSync(work, { recursive: true, force: true }))

  t.test('20 files into two stores, killed midway, run again', async (t) => {
    const sizes = Array.from({ length: 20 }, (_, i) => (1 + (i * 7) % 8) * MiB + i * 4099)
    const files = makeFiles(join(work, 'bulk'), 'bulk', sizes)
    const args = ['--os-image-url', endpoint, 'upload', join(work, 'bulk'), '--store', 'a', '--store', 'b', '--parallel', '4', '--property', 'os_distro=cirros', '--tag', 'bulk']

    const first = runCli(args)
    const midway = await eventually(async () => (first.output().match(/^uploaded: /gm) ?? []).length >= 5 || first.child.exitCode !== null, 1200, 100)
    t.ok(midway, 'the first run uploaded 5 images')
    t.equal(first.child.exitCode, null, 'and was still running')
    first.child.kill('SIGKILL')
    await first.exited
    t.notMatch(first.output(), /\x1b\[/, 'no terminal escapes in a pipe')
    t.match(first.output(), /^start: bulk\d\d \(/m, 'plain lines: a start line per image')

    // The server undoes the uploads the kill cut (back to queued); wait until none is saving.
    const listAll = async (): Promise<any[]> => (await glint.request('GET', '/v2/images?limit=1000&tag=bulk')).json.images
    t.ok(await eventually(async () => (await listAll()).every((i) => i.status !== 'saving'), 300, 100), 'no upload left saving')
    const atKill = new Map((await listAll()).map((i) => [i.name, i]))
    const activeAtKill = files.filter((f) => atKill.get(f.name)?.status === 'active')
    t.ok(activeAtKill.length >= 5 && activeAtKill.length < 20, `${activeAtKill.length} of 20 active when killed`)
    const bytesBefore = await scrapeSample(metricsPort, 'glint_store_bytes_total{store="a",direction="in"}')

    const second = runCli(args)
    t.equal(await second.exited, 0, 'the second run succeeds')
    const out = second.output()
    for (const f of activeAtKill) {
      t.match(out, new RegExp(`^(skipped|completed): ${f.name} \\(${atKill.get(f.name).id}\\)`, 'm'), `${f.name} was not uploaded again`)
    }
    const notYet = files.filter((f) => !activeAtKill.includes(f))
    const bytesAfter = await scrapeSample(metricsPort, 'glint_store_bytes_total{store="a",direction="in"}')
    t.equal(bytesAfter - bytesBefore, notYet.reduce((sum, f) => sum + f.size, 0), 'store a took exactly the images not active yet, once each')
    t.match(out, /NAME\s+ID\s+SIZE\s+RESULT\s+STORES/, 'a summary table')
    t.match(out, /0 failed/)

    const images = await listAll()
    for (const f of files) {
      const named = images.filter((i) => i.name === f.name)
      t.equal(named.length, 1, `one image named ${f.name}`)
      const image = named[0]
      t.same([image.status, image.stores, image.size, image.checksum, image.os_hash_value, image.os_distro],
        ['active', 'a,b', f.size, f.md5, f.sha512, 'cirros'], `${f.name}: active in a and b with the local file's hashes`)
    }
    const sample = files[3]
    const id = images.find((i) => i.name === sample.name).id
    const down = join(work, 'down.raw')
    const dl = runCli(['--os-image-url', glint.url, 'download', id, '-o', down])
    t.equal(await dl.exited, 0, 'glint download succeeds')
    t.equal(createHash('sha512').update(readFileSync(down)).digest('hex'), sample.sha512, 'and writes the same bytes')
  })

  t.test('a file whose name is taken by other data fails the run, exit 1', async (t) => {
    const [f] = makeFiles(join(work, 'clash'), 'clash', [MiB])
    t.equal(await runCli(['--os-image-url', glint.url, 'upload', f.path]).exited, 0)
    writeFileSync(f.path, randomBytes(MiB))
    const again = runCli(['--os-image-url', glint.url, 'upload', f.path])
    t.equal(await again.exited, 1, 'non-zero exit')
    t.match(again.output(), /failed: clash00: an active image named 'clash00' \([0-9a-f-]+\) holds other data/)
    t.match(again.output(), /0 uploaded, 0 skipped, 0 completed, 1 failed/)
  })

  t.test('bars on a real terminal (tmux)', async (t) => {
    if (!existsSync('/usr/bin/tmux')) { t.skip('tmux is not installed'); return }
    const files = makeFiles(join(work, 'tty'), 'tty', [12 * MiB, 16 * MiB, 20 * MiB])
    const session = `glint-cli-${process.pid}`
    const done = join(work, 'tty.done')
    const command = `cd ${ROOT} && env ${Object.keys(process.env).filter((k) => k.startsWith('OS_')).map((k) => `-u ${k}`).join(' ')} ${process.execPath} ${GLINT_BIN} --os-image-url ${endpoint} upload ${files.map((f) => f.path).join(' ')} --parallel 2; echo "exit=$?" > ${done}; sleep 600`
    execFileSync('tmux', ['new-session', '-d', '-s', session, '-x', '160', '-y', '30', command])
    t.teardown(() => { try { execFileSync('tmux', ['kill-session', '-t', session]) } catch {} })
    const capture = (): string => execFileSync('tmux', ['capture-pane', '-p', '-t', session]).toString()
    let live = ''
    const sawBars = await eventually(async () => {
      const screen = capture()
      if (/TOTAL 0\/3 images.*\|[=-]+\|\s+\d+% .*MB\/s ETA/.test(screen) && /^tty0\d\s+\|[=-]+\|\s+\d+%/m.test(screen)) live = screen
      return live !== '' || existsSync(done)
    }, 600, 50)
    t.ok(sawBars && live !== '', 'a frame with the total bar and one bar per image in flight, with rate and ETA')
    t.ok(await eventually(async () => existsSync(done), 1200, 100), 'the upload ended')
    t.equal(readFileSync(done, 'utf8').trim(), 'exit=0')
    const end = capture()
    t.match(end, /TOTAL 3\/3 images\s+\|=+\| 100%/, 'the total bar ends full')
    t.match(end, /NAME\s+ID\s+SIZE\s+RESULT/, 'the summary table follows')
    t.match(end, /3 uploaded, 0 skipped, 0 completed, 0 failed/)
  })
})
