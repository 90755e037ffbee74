// The benchmark harness in --quick mode (without Glance), so it cannot silently rot: every
// scenario prints its table and lands in the JSON with figures or a "not measured" reason,
// and the chart is written. No timing is asserted: the machine is shared and noisy.

import t from 'tap'
import { spawn, spawnSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ROOT } from './helpers/glint.js'
import { freePort } from '../bench/util/paths.js'

const SCENARIOS = ['listing', 'transfer', 'parallel-uploads', 'boot-storm', 'keystone', 'import', 'gateways']

t.setTimeout(20 * 60_000)

t.test('npm run bench -- --quick', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'glint-bench-test-'))
  const outDir = join(dir, 'results')
  const workDir = join(dir, 'work')
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))

  const child = spawn(process.execPath, ['dist/bench/run.js', '--quick', '--out', outDir, '--work-dir', workDir],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d) => { stdout += d })
  child.stderr.on('data', (d) => { stderr += d })
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
  t.equal(code, 0, `exit code (stderr: ${stderr.slice(-2000)})`)

  for (const name of SCENARIOS) t.match(stdout, new RegExp(`^== ${name}: `, 'm'), `${name} printed a table`)
  t.notOk(existsSync(workDir), 'the work directory (test files, server state) is removed')

  const files = readdirSync(outDir)
  const json = files.find((f) => f.endsWith('-quick.json'))
  const svg = files.find((f) => f.endsWith('-quick.svg'))
  const md = files.find((f) => f.endsWith('-quick.md'))
  t.ok(json !== undefined && svg !== undefined && md !== undefined, `JSON, SVG and markdown written: ${files.join(', ')}`)
  t.match(readFileSync(join(outDir, svg!), 'utf8'), /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"[^]*<\/svg>\n$/, 'the chart is a whole SVG document')

  const results = JSON.parse(readFileSync(join(outDir, json!), 'utf8'))
  t.equal(results.format, 'glint-bench/1')
  t.equal(results.quick, true)
  t.match(results.machine, { cores: Number, memoryGiB: Number, kernel: String, node: String })
  t.same(results.scenarios.map((s: any) => s.name), SCENARIOS)
  t.ok(Array.isArray(results.leftovers), 'store data left behind by deleted images is reported (a list, maybe empty)')

  for (const scenario of results.scenarios) {
    t.test(scenario.name, async (t) => {
      t.ok(scenario.cases.length > 0 || typeof scenario.notMeasured === 'string', 'has cases or says why not')
      for (const c of scenario.cases) {
        t.match(c, { id: String, title: String, unit: String }, c.id)
        const roles = c.subjects.map((s: any) => s.role)
        t.ok(roles.includes('glint') && roles.includes('glance') && roles.includes('baseline'), `${c.id}: Glint, Glance and a baseline`)
        for (const s of c.subjects) {
          if (s.notMeasured !== undefined) {
            t.type(s.notMeasured, 'string', `${c.id} ${s.label}: reason given`)
            t.ok(s.notMeasured.length > 0)
            continue
          }
          t.match(s.value, { median: Number, min: Number, max: Number, runs: Array }, `${c.id} ${s.label}: a figure`)
          t.equal(s.value.runs.length, 1, 'quick mode: one run')
          if (s.role !== 'baseline') {
            t.type(s.cpuSeconds?.median, 'number', `${c.id} ${s.label}: server CPU seconds`)
            t.type(s.peakRssMiB?.median, 'number', `${c.id} ${s.label}: server peak RSS`)
          }
        }
        const glance = c.subjects.find((s: any) => s.role === 'glance')
        t.match(glance.notMeasured, /not requested/, `${c.id}: Glance was not asked for`)
        const glint = c.subjects.find((s: any) => s.role === 'glint')
        if (glint.value !== undefined && c.subjects.some((s: any) => s.role === 'baseline' && s.value !== undefined)) {
          t.type(c.glintOverBaseline, 'number', `${c.id}: Glint/baseline ratio`)
        }
        if (scenario.name === 'import' && glint.value !== undefined) {
          t.equal(c.lowerIsBetter, true, `${c.id}: seconds, its ratios are speed ratios`)
          // the step's bytes on each cluster (OSD perf counters) and the staging directory
          const moved = /\/copy-image$/.test(c.id) ? ['ceph_a_read_mib', 'ceph_b_written_mib'] : /\/(glance-direct|web-download)$/.test(c.id) ? ['ceph_a_written_mib'] : []
          for (const key of moved) t.ok(glint.extra[key]?.median >= 63, `${c.id}: ${key} about the image's 64 MiB (${glint.extra[key]?.median})`)
          if (moved.length > 0) t.type(glint.extra.staging_peak_mib?.median, 'number', `${c.id}: staging directory peak`)
          if (c.id.endsWith('/glance-direct')) t.type(glint.extra.stage_s?.median, 'number', `${c.id}: stage timed apart`)
        }
        if (scenario.name === 'gateways' && glint.value !== undefined) {
          // every upload's stored sha512 and every downloaded body's sha256 was checked
          t.equal(glint.extra.errors?.median, 0, `${c.id}: no upload or download failed or differed`)
          t.type(glint.extra.haproxy_cpu_s?.median, 'number', `${c.id}: HAProxy's CPU seconds beside the gateways'`)
          t.type(glint.extra.rss_max_process_MiB?.median, 'number', `${c.id}: peak RSS of one gateway`)
          t.ok(glint.extra.rss_max_process_MiB.median <= glint.peakRssMiB.median, `${c.id}: one gateway's peak RSS within the sum`)
          t.match(glint.label, / x \d$/, `${c.id}: the label says how many gateways`)
        }
        if (scenario.name === 'keystone' && glint.value !== undefined) {
          t.type(glint.extra.keystone_cpu_s?.median, 'number', `${c.id}: Keystone's CPU seconds beside Glint's`)
          if (c.unit === 'ms') {
            t.equal(c.lowerIsBetter, true, `${c.id}: a latency, its ratios are speed ratios`)
            t.type(glint.extra.p99_ms?.median, 'number', `${c.id}: p99`)
          }
        }
      }
    })
  }

  const ids = results.scenarios.flatMap((s: any) => s.cases.map((c: any) => c.id))
  for (const id of ['listing/limit=25/c=1/keep-alive', 'listing/limit=1000/c=64/close', 'listing/create',
    'transfer/fast/64/upload', 'transfer/fast/64/upload-chunked', 'transfer/fast/64/download', 'transfer/ceph_a/64/upload', 'transfer/ceph_b/64/download',
    'parallel-uploads', 'boot-storm/fast/8', 'boot-storm/fast/32',
    'keystone/show/new-token', 'keystone/show/cached-token', 'keystone/show/no-keystone', 'keystone/show/c=1', 'keystone/list25/c=64',
    'import/64/glance-direct/stage', 'import/64/glance-direct/import', 'import/64/glance-direct', 'import/64/copy-image', 'import/64/web-download',
    'gateways/1/uploads', 'gateways/1/storm', 'gateways/2/uploads', 'gateways/2/storm']) {
    t.ok(ids.includes(id), `case ${id} reported (measured or not)`)
  }
  t.ok(ids.some((id: string) => /^boot-storm\/ceph_[ab]\/32$/.test(id)), 'the boot storm from RBD is reported (measured or not)')
})

t.test('the storm client counts a body with other bytes as an error', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'glint-storm-hash-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'image.bin')
  const bytes = randomBytes(3 * 1024 * 1024 + 5)
  writeFileSync(file, bytes)
  const port = await freePort()
  const server = spawn(process.execPath, ['dist/bench/servers/trivial-server.js', String(port)], { cwd: ROOT, stdio: 'ignore' })
  t.teardown(() => { server.kill('SIGTERM') })
  const url = `http://127.0.0.1:${port}/file?path=${encodeURIComponent(file)}`
  for (let i = 0; ; i++) {
    const up = await fetch(`http://127.0.0.1:${port}/healthcheck`).then((r) => r.ok, () => false)
    if (up) break
    if (i > 100) throw new Error('the trivial server did not start')
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  const storm = (sha256: string): Record<string, any> => {
    const r = spawnSync(process.execPath, ['dist/bench/clients/http-load.js', 'storm', url, '4', '30000', sha256], { cwd: ROOT, encoding: 'utf8' })
    return JSON.parse(r.stdout)
  }
  const right = storm(createHash('sha256').update(bytes).digest('hex'))
  t.match(right, { ok: 4, errors: 0, hashChecked: true, goodBytes: 4 * bytes.length })
  const wrong = storm(createHash('sha256').update('other bytes').digest('hex'))
  t.match(wrong, { ok: 0, errors: 4, goodBytes: 0, statuses: { '200 with other bytes': 4 } })
})

t.test('npm run bench -- --only gateways --against-glance (Glance with workers = N behind HAProxy)', {
  skip: existsSync('/usr/bin/glance-api') ? undefined : 'glance-api is not installed (bench/glance/glance.sh install)'
}, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'glint-bench-gateways-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const r = spawnSync(process.execPath, ['dist/bench/run.js', '--quick', '--only', 'gateways', '--against-glance', '--gateways', '2',
    '--out', join(dir, 'results'), '--work-dir', join(dir, 'work')], { cwd: ROOT, encoding: 'utf8', timeout: 15 * 60_000 })
  t.equal(r.status, 0, `exit code (stderr: ${r.stderr?.slice(-2000)})`)
  const json = readdirSync(join(dir, 'results')).find((f) => f.endsWith('-quick.json'))!
  const results = JSON.parse(readFileSync(join(dir, 'results', json), 'utf8'))
  t.same(results.scenarios.map((s: any) => s.name), ['gateways'])
  t.same(results.scenarios[0].cases.map((c: any) => c.id), ['gateways/2/uploads', 'gateways/2/storm'])
  for (const c of results.scenarios[0].cases) {
    const glance = c.subjects.find((s: any) => s.role === 'glance')
    t.equal(glance.notMeasured, undefined, `${c.id}: Glance measured (${glance.notMeasured})`)
    t.match(glance.label, /workers = 2$/, `${c.id}: Glance with 2 workers`)
    t.equal(glance.extra.errors?.median, 0, `${c.id}: Glance: no errors, every byte checked`)
    t.type(glance.extra.haproxy_cpu_s?.median, 'number', `${c.id}: its HAProxy's CPU seconds`)
    t.type(c.glintOverGlance, 'number', `${c.id}: Glint/Glance ratio`)
  }
})
