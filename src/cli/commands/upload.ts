// `glint upload FILES|DIRS [--manifest FILE] [--store ID]... [--parallel N]`: bulk ingestion
// through the API, resumable (ingest.ts), with live progress and a summary table; exits 1 when
// any image failed.

import type { Command } from 'commander'
import { apiFrom } from '../connection.js'
import { filesOf, jobForFile, readManifest, type JobDefaults, type UploadJob } from '../manifest.js'
import { createProgress, formatBytes, formatRate } from '../progress.js'
import { ingest, type IngestResult } from '../ingest.js'
import { renderTable } from '../table.js'

interface UploadFlags {
  manifest?: string
  store: string[]
  parallel: string
  name?: string
  diskFormat?: string
  containerFormat: string
  visibility?: string
  property: string[]
  tag: string[]
  retries: string
}

const collect = (value: string, previous: string[]): string[] => [...previous, value]

export function uploadCommand (program: Command): void {
  program.command('upload')
    .description('upload image files (or every file of a directory) in parallel, verified and resumable')
    .argument('[paths...]', 'image files and directories')
    .option('--manifest <file>', 'a YAML or CSV list of images: file, name, disk_format, container_format, visibility, tags, stores, properties')
    .option('--store <id>', 'a store to put every image in (several allowed: the first takes the upload, the others get copies)', collect, [])
    .option('--parallel <n>', 'images uploaded at once', '4')
    .option('--name <name>', 'the image name (one file only; default: the file name without a known extension)')
    .option('--disk-format <format>', 'disk format (default: from the extension: .raw/.img raw, .qcow2, .iso, ...)')
    .option('--container-format <format>', 'container format', 'bare')
    .option('--visibility <visibility>', 'public, community, shared or private')
    .option('--property <key=value>', 'an extra property (several allowed)', collect, [])
    .option('--tag <tag>', 'a tag (several allowed)', collect, [])
    .option('--retries <n>', 'tries again after an upload fails this many times', '2')
    .action(async (paths: string[], flags: UploadFlags) => {
      const parallel = Number(flags.parallel)
      if (!Number.isInteger(parallel) || parallel < 1) throw new Error(`--parallel must be a positive integer, got ${flags.parallel}`)
      const properties: Record<string, string> = {}
      for (const pair of flags.property) {
        const at = pair.indexOf('=')
        if (at <= 0) throw new Error(`--property takes key=value, got ${pair}`)
        properties[pair.slice(0, at)] = pair.slice(at + 1)
      }
      const defaults: JobDefaults = {
        diskFormat: flags.diskFormat, containerFormat: flags.containerFormat, visibility: flags.visibility,
        tags: flags.tag, properties, stores: flags.store
      }
      const jobs: UploadJob[] = []
      if (flags.manifest !== undefined) jobs.push(...readManifest(flags.manifest, defaults))
      const files = filesOf(paths)
      if (flags.name !== undefined && files.length !== 1) throw new Error('--name needs exactly one file')
      for (const file of files) jobs.push(jobForFile(file, defaults, { name: flags.name }))
      if (jobs.length === 0) throw new Error('nothing to upload: give files, directories or --manifest')
      const names = new Set<string>()
      for (const job of jobs) {
        if (names.has(job.name)) throw new Error(`two images would be named '${job.name}': names identify images across runs, give each its own (--manifest)`)
        names.add(job.name)
      }

      const api = await apiFrom(program)
      const total = jobs.reduce((sum, j) => sum + j.size, 0)
      const progress = createProgress(total, jobs.length)
      progress.log(`uploading ${jobs.length} images (${formatBytes(total)}) to ${api.auth.endpoint} as ${api.auth.describe}, ${parallel} at a time`)
      const results: IngestResult[] = []
      const queue = [...jobs]
      const opts = { retries: Number(flags.retries), waitSecPerGiB: 120 }
      await Promise.all(Array.from({ length: Math.min(parallel, jobs.length) }, async () => {
        for (let job = queue.shift(); job !== undefined; job = queue.shift()) {
          const tracker = progress.begin(job.name, job.size)
          const r = await ingest(api, job, tracker, opts)
          results.push(r)
          tracker.end(`${r.outcome}: ${job.name}${r.id === undefined ? '' : ` (${r.id})`}${r.sent > 0 ? `, ${formatBytes(r.sent)} at ${formatRate(r.sent, r.sendSeconds)}` : ''}${r.note === undefined ? '' : `: ${r.note}`}`)
        }
      }))
      progress.stop()

      const order = new Map(jobs.map((j, i) => [j, i]))
      results.sort((a, b) => order.get(a.job)! - order.get(b.job)!)
      process.stdout.write('\n' + renderTable(['NAME', 'ID', 'SIZE', 'RESULT', 'STORES', 'TIME', 'RATE', 'NOTE'], results.map((r) => [
        r.job.name, r.id ?? '-', formatBytes(r.job.size), r.outcome, r.stores ?? '-', `${r.seconds.toFixed(1)}s`,
        r.sent > 0 ? formatRate(r.sent, r.sendSeconds) : '-', r.note ?? ''
      ])))
      const failed = results.filter((r) => r.outcome === 'failed').length
      const count = (o: string): number => results.filter((r) => r.outcome === o).length
      process.stdout.write(`${count('uploaded')} uploaded, ${count('skipped')} skipped, ${count('completed')} completed, ${failed} failed\n`)
      if (failed > 0) process.exitCode = 1
    })
}
