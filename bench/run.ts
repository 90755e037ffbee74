// `npm run bench`: starts Glint (and with --against-glance the real Glance) and the trivial
// baseline server, runs the scenarios, prints one table per scenario, writes JSON, an SVG
// chart and markdown under bench/results/, and stops every server it started.

import { mkdirSync, rmSync, statfsSync } from 'node:fs'
import { join } from 'node:path'
import { loadavg } from 'node:os'
import { HELP, parseOptions, type Options, type ScenarioName } from './options.js'
import type { ScenarioResult } from './measure.js'
import { describeMachine } from './machine.js'
import { probeClusters } from './targets/clusters.js'
import { startGlint } from './targets/glint.js'
import { startGlance } from './targets/glance.js'
import { startTrivialServer } from './targets/trivial.js'
import type { TargetSlot } from './targets/target.js'
import { DataFiles } from './data-files.js'
import type { BenchContext, Scenario } from './scenarios/context.js'
import { listing } from './scenarios/listing.js'
import { transfer } from './scenarios/transfer.js'
import { parallelUploads } from './scenarios/parallel-uploads.js'
import { bootStorm } from './scenarios/boot-storm.js'
import { keystone } from './scenarios/keystone.js'
import { importScenario } from './scenarios/import.js'
import { gateways } from './scenarios/gateways.js'
import { textTable } from './report/table.js'
import { renderResults, writeResults } from './report/write.js'
import { stopping } from './util/process.js'
import { collectLeftovers } from './leftovers.js'
import { createdImages } from './clients/api.js'

const SCENARIOS: Record<ScenarioName, Scenario> = {
  listing, transfer, 'parallel-uploads': parallelUploads, 'boot-storm': bootStorm, keystone, import: importScenario, gateways
}

function log (msg: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`)
}

/** Things to undo, last first: on the normal end, on an error, and on Ctrl-C. */
class Cleanup {
  private readonly steps: Array<() => Promise<void>> = []
  private running?: Promise<void>
  push (step: () => Promise<void>): void { this.steps.push(step) }
  run (): Promise<void> {
    this.running ??= (async () => {
      for (const step of this.steps.reverse()) await step().catch((err) => log(`cleanup: ${err?.message ?? err}`))
    })()
    return this.running
  }
}

function warnAboutDisk (opts: Options): void {
  const largest = Math.max(...(opts.scenarios.includes('transfer') ? opts.transferMiB : [0]))
  // import: the test file, Glance's staged copy, and the OSDs' sparse files growing by two copies
  const largestImport = Math.max(...(opts.scenarios.includes('import') ? opts.importMiB : [0]))
  // the test file, its stored copy, plus the parallel and storm files
  const needMiB = Math.max(2 * largest, 4 * largestImport) + opts.parallelMiB + opts.stormMiB
  const { bavail, bsize } = statfsSync(opts.workDir)
  const freeMiB = bavail * bsize / 1024 / 1024
  if (freeMiB < needMiB * 1.2) log(`WARNING: ${Math.round(freeMiB)} MiB free under ${opts.workDir}, about ${needMiB} MiB needed`)
}

async function startTarget (name: string, start: () => Promise<TargetSlot['target']>, cleanup: Cleanup): Promise<TargetSlot> {
  try {
    const target = (await start())!
    cleanup.push(async () => { log(`stopping ${target.label} (pid ${target.pid})`); await target.stop() })
    log(`${target.label} is up at ${target.url} (pid ${target.pid}), stores: ${target.stores.join(', ')}`)
    return { target }
  } catch (err) {
    const reason = `${name} could not be started: ${(err as Error).message}`
    log(reason)
    return { unavailable: reason }
  }
}

async function main (): Promise<number> {
  let opts: Options | undefined
  try {
    opts = parseOptions(process.argv.slice(2))
  } catch (err) {
    process.stderr.write(`bench: ${(err as Error).message}\nSee: npm run bench -- --help\n`)
    return 2
  }
  if (opts === undefined) { process.stdout.write(HELP); return 0 }
  if (opts.render !== undefined) {
    const files = renderResults(opts.render)
    process.stdout.write(`chart:   ${files.svg}\ntables:  ${files.markdown}\n`)
    return 0
  }

  const startedAt = new Date().toISOString()
  const cleanup = new Cleanup()
  // First signal: stop measuring and clean up normally (images deleted, results so far written).
  // Second: stop the servers and leave now.
  const onSignal = (signal: string): void => {
    if (!stopping.signal.aborted) {
      log(`${signal}: interrupting; cleaning up (again to leave at once)`)
      stopping.abort()
      return
    }
    void cleanup.run().then(() => process.exit(130))
  }
  process.on('SIGINT', () => onSignal('SIGINT'))
  process.on('SIGTERM', () => onSignal('SIGTERM'))

  mkdirSync(opts.workDir, { recursive: true })
  const workDir = opts.workDir
  cleanup.push(async () => rmSync(workDir, { recursive: true, force: true }))
  warnAboutDisk(opts)
  try {
    const machine = await describeMachine()
    const clusters = await probeClusters(opts.ceph)
    for (const c of clusters) log(`Ceph cluster ${c.name}: ${c.up ? 'up' : c.reason}`)
    const fileDir = join(opts.workDir, 'images')
    mkdirSync(join(opts.workDir, 'data'), { recursive: true })

    const trivial = await startTrivialServer()
    cleanup.push(trivial.stop)
    // web-download fetches from the trivial server: both servers must allow that loopback port
    const importFrom = opts.scenarios.includes('import') ? { host: '127.0.0.1', port: Number(new URL(trivial.url).port) } : undefined
    // the shared Glint and Glance only when a scenario uses them (the gateways scenario starts its own)
    const shared = opts.scenarios.some((name) => SCENARIOS[name].ownTargets !== true)
    const glint: TargetSlot = shared
      ? await startTarget('Glint', async () => await startGlint({ workDir: opts.workDir, fileDir, clusters, importFrom }), cleanup)
      : { unavailable: 'not started (no scenario of this run uses it)' }
    const glance: TargetSlot = !opts.againstGlance
      ? { unavailable: 'not requested (run with --against-glance)' }
      : shared
        ? await startTarget('Glance', async () => await startGlance({ workDir: opts.workDir, fileDir, clusters, log, importFrom }), cleanup)
        : { unavailable: 'not started (no scenario of this run uses it)' }

    const ctx: BenchContext = { opts, glint, glance, trivial, clusters, files: new DataFiles(join(opts.workDir, 'data')), workDir: opts.workDir, log }
    const scenarios: ScenarioResult[] = []
    for (const name of opts.scenarios) {
      const scenario = SCENARIOS[name]
      log(`scenario ${name}`)
      const result: ScenarioResult = { name, title: scenario.title(opts), description: scenario.description(opts), cases: [] }
      try {
        if (stopping.signal.aborted) throw new Error('interrupted')
        result.cases = await scenario.run(ctx)
      } catch (err) {
        result.notMeasured = stopping.signal.aborted ? 'interrupted' : `the scenario failed: ${(err as Error).message}`
        if (!stopping.signal.aborted) log(`scenario ${name}: ${(err as Error).stack ?? String(err)}`)
      }
      scenarios.push(result)
      process.stdout.write(textTable(result) + '\n')
    }

    const serverLabel = new Map([glint, glance].flatMap((slot) => (slot.target !== undefined ? [[slot.target.url, slot.target.label]] : [])))
    const leftovers = (await collectLeftovers(createdImages, fileDir, clusters)).map((l) => ({ ...l, server: serverLabel.get(l.server) ?? l.server }))
    for (const l of leftovers) {
      log(`leftover: ${l.server} kept ${l.store} data of deleted image ${l.name}${l.removed ? ' (removed now)' : ' (could not remove it)'}`)
    }
    const { command, ...options } = opts
    const files = writeResults({
      format: 'glint-bench/1',
      command,
      startedAt,
      finishedAt: new Date().toISOString(),
      quick: opts.quick,
      interrupted: stopping.signal.aborted,
      options,
      machine,
      loadAverageAtEnd: loadavg().map((v) => Math.round(v * 100) / 100),
      leftovers,
      scenarios
    }, opts.outDir)
    process.stdout.write(`results: ${files.json}\nchart:   ${files.svg}\ntables:  ${files.markdown}\n`)
    return 0
  } finally {
    await cleanup.run()
  }
}

main().then((code) => { process.exitCode = code }, (err) => {
  process.stderr.write(`bench: ${err?.stack ?? err}\n`)
  process.exitCode = 1
})
