// The machine a run happened on, for the report: figures only mean something next to it.

import { cpus, totalmem, release, loadavg, availableParallelism } from 'node:os'
import { runCommand } from './util/process.js'

export interface Machine {
  cores: number
  cpuModel: string
  memoryGiB: number
  kernel: string
  node: string
  ceph: string
  glance: string
  curl: string
  wrk: string
  loadAverageAtStart: number[]
}

async function firstLine (command: string, args: string[]): Promise<string> {
  const r = await runCommand(command, args, { timeoutMs: 10_000 })
  const text = (r.stdout + r.stderr).trim().split('\n')[0] ?? ''
  return r.code === null || text === '' ? 'not found' : text
}

export async function describeMachine (): Promise<Machine> {
  return {
    cores: availableParallelism(),
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 1024 ** 3 * 10) / 10,
    kernel: release(),
    node: process.version,
    ceph: (await firstLine('ceph', ['--version'])).replace(/ \([0-9a-f]{40}\)/, ''),
    glance: await firstLine('dpkg-query', ['-W', '-f=glance-api ${Version}', 'glance-api']),
    curl: await firstLine('curl', ['--version']),
    wrk: (await firstLine('wrk', ['--version'])).replace(/ Copyright.*/, ''),
    loadAverageAtStart: loadavg().map((v) => Math.round(v * 100) / 100)
  }
}

export function machineLine (m: Machine): string {
  return `${m.cores} cores (${m.cpuModel}), ${m.memoryGiB} GiB, Linux ${m.kernel}, node ${m.node}`
}
