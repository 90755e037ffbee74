// The upload baseline Glance and Glint both pay: md5 (`checksum`) and sha512
// (`os_hash_value`) over every byte, on one core with node:crypto, fed in 4 MiB chunks the
// way an upload arrives. Run as its own process so nothing else shares its core.
//
//   node dist/bench/baselines/hash-rate.js MIB      prints {"mbps": ...}

import { createHash, randomFillSync } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { benchScript } from '../util/paths.js'
import { describeFailure, runCommand } from '../util/process.js'
import type { RunOutcome } from '../measure.js'

const CHUNK = 4 * 1024 * 1024
// Distinct chunks cycling through 64 MiB: larger than the CPU caches, as streamed data is.
const RING_CHUNKS = 16

function hashRate (mib: number): { mbps: number, cpuSeconds: number, peakRssMiB: number } {
  const ring = Array.from({ length: RING_CHUNKS }, () => randomFillSync(Buffer.alloc(CHUNK)))
  const chunks = Math.max(1, Math.round(mib * 1024 * 1024 / CHUNK))
  const md5 = createHash('md5')
  const sha512 = createHash('sha512')
  const started = performance.now()
  const cpu = process.cpuUsage()
  for (let i = 0; i < chunks; i++) { const chunk = ring[i % RING_CHUNKS]; md5.update(chunk); sha512.update(chunk) }
  md5.digest(); sha512.digest()
  const used = process.cpuUsage(cpu)
  return {
    mbps: chunks * CHUNK / ((performance.now() - started) / 1000) / 1e6,
    // what hashing alone costs per byte, whatever else shares the core meanwhile
    cpuSeconds: (used.user + used.system) / 1e6,
    peakRssMiB: process.resourceUsage().maxRSS / 1024
  }
}

/** Measures the rate in a child process (the harness's own event loop stays out of it). */
export async function measureHashRate (mib: number): Promise<RunOutcome> {
  const r = await runCommand(process.execPath, [benchScript('baselines/hash-rate.js'), String(mib)], { timeoutMs: 300_000 })
  if (r.code !== 0) throw new Error(describeFailure('hash-rate', r))
  const { mbps, cpuSeconds, peakRssMiB } = JSON.parse(r.stdout)
  return { value: mbps, usage: { cpuSeconds, peakRssMiB } }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(JSON.stringify(hashRate(Number(process.argv[2] ?? 256))) + '\n')
}
