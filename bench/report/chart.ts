// The ratios as one self-contained SVG (no scripts, fonts or network): per case, Glint/Glance
// and Glint/baseline as bars from the 1x line on a log scale, right = Glint ahead.

import type { CaseResult, ScenarioResult } from '../measure.js'
import { ratio } from './format.js'

const LABEL_WIDTH = 300
const PLOT_WIDTH = 560
const RIGHT_MARGIN = 70
const ROW_HEIGHT = 30
const BAR_HEIGHT = 10
const HEADER_HEIGHT = 26
const TOP = 86
const COLORS = { glance: '#2f6db5', baseline: '#d9822b', missing: '#999999' }

function escapeXml (text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;')
}

function domain (cases: CaseResult[]): [number, number] {
  const values = cases.flatMap((c) => [c.glintOverGlance, c.glintOverBaseline]).filter((v): v is number => v !== undefined && v > 0)
  const lo = Math.min(0.1, ...values.map((v) => v / 1.5))
  const hi = Math.max(10, ...values.map((v) => v * 1.5))
  return [10 ** Math.floor(Math.log10(lo)), 10 ** Math.ceil(Math.log10(hi))]
}

export function ratioChart (scenarios: ScenarioResult[], subtitle: string): string {
  const all = scenarios.flatMap((s) => s.cases)
  const [lo, hi] = domain(all)
  const x = (v: number): number => LABEL_WIDTH + (Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo)) * PLOT_WIDTH
  const rowsHeight = scenarios.reduce((h, s) => h + HEADER_HEIGHT + Math.max(1, s.cases.length) * ROW_HEIGHT, 0)
  const height = TOP + rowsHeight + 30
  const width = LABEL_WIDTH + PLOT_WIDTH + RIGHT_MARGIN
  const out: string[] = []
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Arial, sans-serif" font-size="12">`)
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`)
  out.push(`<text x="10" y="22" font-size="16" font-weight="bold">Glint speed ratios (log scale; right of 1x = Glint ahead)</text>`)
  out.push(`<text x="10" y="40" fill="#444">${escapeXml(subtitle)}</text>`)
  out.push(`<rect x="10" y="52" width="12" height="10" fill="${COLORS.glance}"/><text x="27" y="61">Glint / Glance</text>`)
  out.push(`<rect x="140" y="52" width="12" height="10" fill="${COLORS.baseline}"/><text x="157" y="61">Glint / physical baseline (the tightest one measured)</text>`)

  // Grid: every power of ten, labelled, with the 1x line stronger.
  const gridBottom = TOP + rowsHeight
  for (let v = lo; v <= hi * 1.0001; v *= 10) {
    const gx = x(v)
    out.push(`<line x1="${gx}" y1="${TOP - 6}" x2="${gx}" y2="${gridBottom}" stroke="${v === 1 ? '#333' : '#ddd'}" stroke-width="${v === 1 ? 1.5 : 1}"/>`)
    out.push(`<text x="${gx}" y="${TOP - 10}" text-anchor="middle" fill="#555">${Number(v.toPrecision(1))}x</text>`)
  }

  let y = TOP
  for (const scenario of scenarios) {
    out.push(`<text x="10" y="${y + 18}" font-weight="bold">${escapeXml(scenario.title)}</text>`)
    y += HEADER_HEIGHT
    if (scenario.cases.length === 0) {
      out.push(`<text x="20" y="${y + 18}" fill="${COLORS.missing}">not measured: ${escapeXml(scenario.notMeasured ?? 'no cases')}</text>`)
      y += ROW_HEIGHT
      continue
    }
    for (const c of scenario.cases) {
      out.push(`<text x="20" y="${y + 18}">${escapeXml(c.title)}</text>`)
      const bars: Array<[number | undefined, string, number]> = [[c.glintOverGlance, COLORS.glance, 3], [c.glintOverBaseline, COLORS.baseline, 3 + BAR_HEIGHT + 2]]
      for (const [value, color, dy] of bars) {
        if (value === undefined || !(value > 0)) continue
        const from = x(1)
        const to = x(Math.min(hi, Math.max(lo, value)))
        out.push(`<rect x="${Math.min(from, to)}" y="${y + dy}" width="${Math.max(1, Math.abs(to - from))}" height="${BAR_HEIGHT}" fill="${color}"/>`)
        const labelX = value >= 1 ? to + 4 : to - 4
        out.push(`<text x="${labelX}" y="${y + dy + 9}" font-size="10" text-anchor="${value >= 1 ? 'start' : 'end'}">${ratio(value)}</text>`)
      }
      if (c.glintOverGlance === undefined && c.glintOverBaseline === undefined) {
        const glint = c.subjects.find((s) => s.role === 'glint')
        // Left of the 1x line: that half of the plot is empty on this row and has room for the reason.
        const reason = glint?.notMeasured !== undefined ? `: ${glint.notMeasured}` : ''
        out.push(`<text x="${LABEL_WIDTH + 6}" y="${y + 18}" fill="${COLORS.missing}" font-size="11">${escapeXml(`not measured${reason}`.slice(0, 95))}</text>`)
      }
      y += ROW_HEIGHT
    }
  }
  out.push('</svg>')
  return out.join('\n') + '\n'
}
