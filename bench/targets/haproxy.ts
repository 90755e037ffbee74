// Debian's HAProxy in front of several gateways on loopback, as issue 15 runs Glint once one
// process is not enough: round robin, health-checked on /healthcheck over HTTP/1.1 (the check
// the README gives operators). Shared by test/gateways.test.ts and the gateways benchmark.

import { spawn, spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { healthy } from '../clients/api.js'
import { freePort } from '../util/paths.js'
import { killPid, sleep } from '../util/process.js'

const START_TIMEOUT_MS = 10_000
const STOP_GRACE_MS = 5000

export interface Haproxy { url: string, pid: number, stop: () => Promise<void> }

/** Why HAProxy cannot run here, if it cannot. */
export function haproxyMissing (): string | undefined {
  return spawnSync('haproxy', ['-v']).status === 0 ? undefined : 'haproxy is not installed (apt-get install -y haproxy)'
}

/**
 * How fast a dead backend is taken out. `fast` (300 ms, 2 misses) is what a test killing a
 * gateway wants; `lenient` (every 2 s, 3 misses of 10 s each) is for load: one Glance worker
 * busy hashing (its eventlet hub blocked) misses 300 ms checks, and HAProxy would then answer
 * 503 for a server that is merely busy.
 */
export type HealthCheck = 'fast' | 'lenient'

const CHECKS: Record<HealthCheck, { inter: number, fall: number, timeout: number }> = {
  fast: { inter: 300, fall: 2, timeout: 300 },
  lenient: { inter: 2000, fall: 3, timeout: 10_000 }
}

export function haproxyConfig (port: number, backendPorts: number[], check: HealthCheck = 'fast'): string {
  const c = CHECKS[check]
  return `# Written by bench/targets/haproxy.ts.
global
  maxconn 4096
defaults
  mode http
  timeout connect 2s
  # inactivity limits: a slow storm client or a store stall must not be cut by the proxy
  timeout client 300s
  timeout server 300s
  timeout check ${c.timeout}ms
  retries 2
  option redispatch
frontend images
  bind 127.0.0.1:${port}
  default_backend gateways
backend gateways
  balance roundrobin
  option httpchk
  http-check send meth GET uri /healthcheck ver HTTP/1.1 hdr Host glint
${backendPorts.map((p, i) => `  server g${i} 127.0.0.1:${p} check inter ${c.inter} fall ${c.fall} rise 2`).join('\n')}
`
}

/**
 * HAProxy in the foreground (-db: one process, its threads), writing its config under `dir`.
 * Resolves once a request through it reaches a healthy backend.
 */
export async function startHaproxy (dir: string, backendPorts: number[], opts: { name?: string, check?: HealthCheck } = {}): Promise<Haproxy> {
  const port = await freePort()
  const cfg = join(dir, `${opts.name ?? 'haproxy'}.cfg`)
  writeFileSync(cfg, haproxyConfig(port, backendPorts, opts.check))
  const child = spawn('haproxy', ['-f', cfg, '-db'], { stdio: ['ignore', 'ignore', 'pipe'] })
  let errors = ''
  child.stderr.on('data', (d) => { errors += d })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const pid = child.pid!
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return
    killPid(pid, 'SIGTERM')
    const timer = setTimeout(() => killPid(pid, 'SIGKILL'), STOP_GRACE_MS)
    await exited
    clearTimeout(timer)
  }
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + START_TIMEOUT_MS
  while (!(await healthy(url))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop()
      throw new Error(`haproxy did not come up: ${errors.trim().slice(-300)}`)
    }
    await sleep(100)
  }
  return { url, pid, stop }
}
