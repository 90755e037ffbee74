// Writes a run's results: JSON (everything), an SVG chart of the ratios and a markdown page
// with the tables, all under the results directory with the run's timestamp in the name.

import { mkdirSync, writeFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import type { ScenarioResult } from '../measure.js'
import type { Machine } from '../machine.js'
import { machineLine } from '../machine.js'
import type { Options } from '../options.js'
import { ratioChart } from './chart.js'
import { markdownTable } from './table.js'

export interface BenchResults {
  format: 'glint-bench/1'
  command: string
  startedAt: string
  finishedAt: string
  quick: boolean
  options: Omit<Options, 'command'>
  machine: Machine
  loadAverageAtEnd: number[]
  scenarios: ScenarioResult[]
}

export interface WrittenFiles { json: string, svg: string, markdown: string }

export function writeResults (results: BenchResults, outDir: string): WrittenFiles {
  mkdirSync(outDir, { recursive: true })
  const stamp = results.startedAt.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z').replace('T', '-')
  const stem = join(outDir, `bench-${stamp}${results.quick ? '-quick' : ''}`)
  const files = { json: `${stem}.json`, svg: `${stem}.svg`, markdown: `${stem}.md` }
  writeFileSync(files.json, JSON.stringify(results, null, 2) + '\n')
  writeFileSync(files.svg, ratioChart(results.scenarios, `${results.startedAt.slice(0, 16).replace('T', ' ')} UTC, ${machineLine(results.machine)}`))
  writeFileSync(files.markdown, markdown(results, basename(files.svg)))
  return files
}

function markdown (r: BenchResults, svgName: string): string {
  const m = r.machine
  return [
    `## Results of ${r.startedAt.slice(0, 10)}${r.quick ? ' (quick mode: small sizes, 1 run)' : ''}`,
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
    ...r.scenarios.map(markdownTable)
  ].join('\n')
}
