// Writes a run's results: JSON (everything), an SVG chart of the ratios and a markdown page
// with the tables, all under the results directory with the run's timestamp in the name.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import type { ScenarioResult } from '../measure.js'
import type { Machine } from '../machine.js'
import { machineLine } from '../machine.js'
import type { Leftover } from '../leftovers.js'
import type { Options } from '../options.js'
import { ratioChart } from './chart.js'
import { markdownTable } from './table.js'

export interface BenchResults {
  format: 'glint-bench/1'
  command: string
  startedAt: string
  finishedAt: string
  quick: boolean
  /** stopped by a signal: later runs and scenarios are missing */
  interrupted: boolean
  options: Omit<Options, 'command'>
  machine: Machine
  loadAverageAtEnd: number[]
  /** store data of deleted images that a server left behind (found and removed at the end) */
  leftovers: Leftover[]
  scenarios: ScenarioResult[]
}

export interface WrittenFiles { json: string, svg: string, markdown: string }

export function writeResults (results: BenchResults, outDir: string): WrittenFiles {
  mkdirSync(outDir, { recursive: true })
  const stamp = results.startedAt.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z').replace('T', '-')
  const stem = join(outDir, `bench-${stamp}${results.quick ? '-quick' : ''}`)
  writeFileSync(`${stem}.json`, JSON.stringify(results, null, 2) + '\n')
  return renderResults(`${stem}.json`)
}

/** (Re)draws the chart and the tables of a results file beside it (`--render FILE.json`). */
export function renderResults (jsonFile: string): WrittenFiles {
  const results = JSON.parse(readFileSync(jsonFile, 'utf8')) as BenchResults
  const stem = jsonFile.replace(/\.json$/, '')
  const files = { json: jsonFile, svg: `${stem}.svg`, markdown: `${stem}.md` }
  writeFileSync(files.svg, ratioChart(results.scenarios, `${results.startedAt.slice(0, 16).replace('T', ' ')} UTC, ${machineLine(results.machine)}`))
  writeFileSync(files.markdown, markdown(results, basename(files.svg)))
  return files
}

function markdown (r: BenchResults, svgName: string): string {
  const m = r.machine
  return [
    `## Results of ${r.startedAt.slice(0, 10)}${r.quick ? ' (quick mode: small sizes, 1 run)' : ''}${r.interrupted ? ' (interrupted: incomplete)' : ''}`,
    '',
    `Command: \`${r.command}\`, from ${r.startedAt} to ${r.finishedAt}.`,
    '',
    `Machine: ${machineLine(m)}; ${m.ceph}; ${m.glance}; ${m.curl.split(' ').slice(0, 2).join(' ')}; ${m.wrk.split(' ').slice(0, 2).join(' ')}. ` +
      `Load average ${m.loadAverageAtStart.join(' ')} at the start, ${r.loadAverageAtEnd.join(' ')} at the end.`,
    '',
    `![ratios](${svgName})`,
    '',
    'Figures are medians of the runs with (min-max); CPU s and peak RSS are the server\'s (its whole process tree) during each run, ' +
      'or the baseline command\'s own. Ratios: Glint median / Glance median, and Glint median / the slowest baseline of the case.',
    '',
    ...r.scenarios.map(markdownTable),
    ...(r.leftovers.length === 0
      ? []
      : ['### Store data left behind', '', 'Data of images the harness had deleted through the API, still in the store at the end (removed by the harness):', '',
          ...r.leftovers.map((l) => `- ${l.server}: ${l.store} ${l.name}${l.removed ? '' : ' (could not be removed)'}`), ''])
  ].join('\n')
}
