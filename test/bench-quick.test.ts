// The benchmark harness in --quick mode (without Glance), so it cannot silently rot: every
// scenario prints its table and lands in the JSON with figures or a "not measured" reason,
// and the chart is written. No timing is asserted: the machine is shared and noisy.

import t from 'tap'
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ROOT } from './helpers/glint.js'

const SCENARIOS = ['listing', 'transfer', 'parallel-uploads', 'boot-storm', 'keystone', 'import']

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
    'import/64/glance-direct/stage', 'import/64/glance-direct/import', 'import/64/glance-direct', 'import/64/copy-image', 'import/64/web-download']) {
    t.ok(ids.includes(id), `case ${id} reported (measured or not)`)
  }
  t.ok(ids.some((id: string) => /^boot-storm\/ceph_[ab]\/32$/.test(id)), 'the boot storm from RBD is reported (measured or not)')
})
