// Number and cell formatting shared by the console tables, the markdown and the chart.

import type { Figure, Subject } from '../measure.js'

export function num (n: number): string {
  if (!Number.isFinite(n)) return '-'
  const abs = Math.abs(n)
  if (abs >= 1000) return Math.round(n).toLocaleString('en-US')
  if (abs >= 100) return n.toFixed(0)
  if (abs >= 10) return n.toFixed(1)
  if (abs >= 1) return n.toFixed(2)
  if (abs === 0) return '0'
  return n.toPrecision(2)
}

export function ratio (r: number | undefined): string {
  if (r === undefined || !Number.isFinite(r)) return '-'
  return `${r >= 10 ? r.toFixed(0) : r >= 1 ? r.toFixed(2) : r.toPrecision(2)}x`
}

/** "1,234 (1,200-1,300)", or just the value for a single run. */
export function spread (f: Figure | undefined, unit = ''): string {
  if (f === undefined) return '-'
  const u = unit === '' ? '' : ` ${unit}`
  if (f.runs.length === 1 || f.min === f.max) return `${num(f.median)}${u}`
  return `${num(f.median)}${u} (${num(f.min)}-${num(f.max)})`
}

const EXTRA_NAMES: Record<string, string> = {
  p50_ms: 'p50 ms', p99_ms: 'p99 ms', non2xx: 'non-2xx', socket_errors: 'socket errors',
  errors: 'errors', p50_s: 'p50 s', p99_s: 'p99 s', ttfb_p50_s: 'TTFB p50 s',
  cpu_s_per_gib: 'own CPU-s/GiB', osd_cpu_s_per_gib: 'OSD CPU-s/GiB', max_ms: 'max ms', keystone_cpu_s: 'Keystone CPU-s',
  stage_s: 'stage s', import_s: 'import s', stage_cpu_s: 'stage CPU-s', import_cpu_s: 'import CPU-s',
  staging_peak_mib: 'staging dir peak MiB', disk_written_mib: 'disk written MiB', slowest_poll_s: 'slowest GET s',
  haproxy_cpu_s: 'HAProxy CPU-s', client_cpu_s: 'client CPU-s', rss_max_process_MiB: 'peak RSS of one process MiB'
}

function extraName (key: string): string {
  // per-cluster client bytes: ceph_a_written_mib -> "ceph_a written MiB"
  const io = /^(.+)_(written|read)_mib$/.exec(key)
  return EXTRA_NAMES[key] ?? (io !== null ? `${io[1]} ${io[2]} MiB` : key)
}

export function extras (s: Subject): string {
  return Object.entries(s.extra).map(([key, f]) => `${extraName(key)} ${spread(f)}`).join(', ')
}

export function subjectValue (s: Subject, unit: string): string {
  return s.notMeasured !== undefined ? `not measured: ${s.notMeasured}` : spread(s.value, unit)
}
