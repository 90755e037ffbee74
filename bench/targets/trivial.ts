// Starts and stops the trivial baseline server (bench/servers/trivial-server.ts) by PID.

import { spawn } from 'node:child_process'
import { benchScript, freePort } from '../util/paths.js'
import { killPid, sleep } from '../util/process.js'
import { healthy } from '../clients/api.js'

export interface TrivialServer { url: string, pid: number, stop: () => Promise<void> }

export async function startTrivialServer (): Promise<TrivialServer> {
  const port = await freePort()
  const child = spawn(process.execPath, [benchScript('servers/trivial-server.js'), String(port)], { stdio: ['ignore', 'ignore', 'inherit'] })
  const pid = child.pid!
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const url = `http://127.0.0.1:${port}`
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return
    killPid(pid, 'SIGTERM')
    const timer = setTimeout(() => killPid(pid, 'SIGKILL'), 5000)
    await exited
    clearTimeout(timer)
  }
  const deadline = Date.now() + 20_000
  while (!(await healthy(url))) {
    if (child.exitCode !== null || Date.now() > deadline) { await stop(); throw new Error('the trivial baseline server did not start') }
    await sleep(100)
  }
  return { url, pid, stop }
}
