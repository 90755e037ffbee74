// Child processes for the harness: every command runs with a deadline and is killed by its
// own PID when it overstays, so no run can hang the benchmark.

import { spawn, type ChildProcess } from 'node:child_process'
import { openSync, closeSync } from 'node:fs'

/**
 * Aborted on the first Ctrl-C/SIGTERM: commands in flight are killed and no new run starts,
 * so the scenarios fall through to their cleanup (images deleted, servers stopped).
 */
export const stopping = new AbortController()

export interface CommandResult {
  code: number | null
  stdout: string
  stderr: string
  timedOut: boolean
  wallSeconds: number
}

export interface CommandOptions {
  timeoutMs: number
  env?: Record<string, string | undefined>
  cwd?: string
  /** Write stdout to this file descriptor (e.g. /dev/null) instead of collecting it. */
  stdoutFd?: number
  /** A cleanup step: runs to its end even after an interruption. */
  cleanup?: boolean
}

export async function runCommand (command: string, args: string[], opts: CommandOptions): Promise<CommandResult> {
  const started = process.hrtime.bigint()
  const child = spawn(command, args, {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', opts.stdoutFd ?? 'pipe', 'pipe']
  })
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (d) => { stdout += d })
  child.stderr!.on('data', (d) => { stderr += d })
  let timedOut = false
  const timer = setTimeout(() => { timedOut = true; killPid(child.pid, 'SIGKILL') }, opts.timeoutMs)
  const onStop = (): void => { if (opts.cleanup !== true) killPid(child.pid, 'SIGKILL') }
  stopping.signal.addEventListener('abort', onStop)
  if (stopping.signal.aborted) onStop()
  const code = await new Promise<number | null>((resolve) => {
    child.on('error', (err) => { stderr += String(err); resolve(null) })
    child.on('close', (c) => resolve(c))
  })
  clearTimeout(timer)
  stopping.signal.removeEventListener('abort', onStop)
  const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9
  return { code, stdout, stderr, timedOut, wallSeconds }
}

/** Runs a command whose stdout is discarded (bulk data) by handing it /dev/null directly. */
export async function runToDevNull (command: string, args: string[], opts: Omit<CommandOptions, 'stdoutFd'>): Promise<CommandResult> {
  const fd = openSync('/dev/null', 'w')
  try {
    return await runCommand(command, args, { ...opts, stdoutFd: fd })
  } finally {
    closeSync(fd)
  }
}

export function killPid (pid: number | undefined, signal: NodeJS.Signals = 'SIGTERM'): void {
  if (pid === undefined) return
  try { process.kill(pid, signal) } catch { /* already gone */ }
}

export function isAlive (pid: number): boolean {
  try { process.kill(pid, 0); return true } catch { return false }
}

/** SIGTERM, then SIGKILL after graceMs; resolves once the process is gone. */
export async function stopChild (child: ChildProcess, graceMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  killPid(child.pid, 'SIGTERM')
  const timer = setTimeout(() => killPid(child.pid, 'SIGKILL'), graceMs)
  await exited
  clearTimeout(timer)
}

export function describeFailure (what: string, r: CommandResult): string {
  if (r.timedOut) return `${what} timed out after ${r.wallSeconds.toFixed(0)} s`
  const tail = (r.stderr.trim() || r.stdout.trim()).split('\n').slice(-2).join(' | ').slice(0, 200)
  return `${what} exited with ${r.code}${tail === '' ? '' : `: ${tail}`}`
}

export const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))
