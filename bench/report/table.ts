// One table per scenario: a row per measured subject (median with min-max, CPU seconds and
// peak RSS of the server during the run, secondary figures), and the ratios under each case.
// The same rows render as aligned text (console) and as markdown (BENCHMARKS.md).

import type { ScenarioResult } from '../measure.js'
import { extras, ratio, spread, subjectValue } from './format.js'

const HEADERS = ['case', 'subject', 'median (min-max)', 'CPU s', 'peak RSS MiB', 'Glint/Glance', 'Glint/baseline', 'details']

function rows (scenario: ScenarioResult): string[][] {
  const out: string[][] = []
  for (const c of scenario.cases) {
    c.subjects.forEach((s, i) => {
      const isGlint = s.role === 'glint'
      const details = [extras(s), ...s.notes].filter(Boolean).join('; ')
      out.push([
        i === 0 ? c.title : '',
        s.label,
        subjectValue(s, c.unit),
        s.notMeasured !== undefined ? '' : spread(s.cpuSeconds),
        s.notMeasured !== undefined ? '' : spread(s.peakRssMiB),
        isGlint ? ratio(c.glintOverGlance) : '',
        isGlint ? `${ratio(c.glintOverBaseline)}${c.baselineUsed !== undefined ? ` vs ${c.baselineUsed}` : ''}` : '',
        details
      ])
    })
  }
  return out
}

export function textTable (scenario: ScenarioResult): string {
  const lines = [`== ${scenario.name}: ${scenario.title} ==`, scenario.description]
  if (scenario.notMeasured !== undefined) return [...lines, `not measured: ${scenario.notMeasured}`, ''].join('\n')
  const body = rows(scenario)
  const widths = HEADERS.map((h, col) => Math.min(col === 7 ? 80 : 60, Math.max(h.length, ...body.map((r) => r[col].length))))
  const render = (cells: string[]): string => cells.map((cell, col) => cell.padEnd(widths[col])).join('  ').trimEnd()
  lines.push(render(HEADERS), widths.map((w) => '-'.repeat(w)).join('  '))
  for (const r of body) lines.push(render(r))
  return [...lines, ''].join('\n')
}

export function markdownTable (scenario: ScenarioResult): string {
  const lines = [`### ${scenario.title}`, '', scenario.description, '']
  if (scenario.notMeasured !== undefined) return [...lines, `Not measured: ${scenario.notMeasured}`, ''].join('\n')
  const escape = (cell: string): string => cell.replaceAll('|', '\\|')
  lines.push(`| ${HEADERS.join(' | ')} |`, `|${HEADERS.map(() => '---').join('|')}|`)
  for (const r of rows(scenario)) lines.push(`| ${r.map(escape).join(' | ')} |`)
  return [...lines, ''].join('\n')
}
