// Image conversion on import (Glance's image_conversion plugin, [image_conversion]
// output_format): a staged qcow2 or vmdk becomes raw so that Nova can boot it from RBD by a
// copy-on-write clone. qemu-img needs random access to its input, so this works on the staged
// file, and writes the result beside it (the scratch space is the staging store's own disk;
// the output is sparse where the image is empty).
//
// The checks are Glance's, in its order, because qemu-img itself is the attack surface: our
// own format inspector first (is it what the uploader declared, and safe?), then `qemu-img
// info` with the format given explicitly (never probed) under Glance's process limits (1 GiB
// address space, 30 CPU-s: a crafted header must not exhaust the host), then convert.

import { execFile } from 'node:child_process'
import { open, rm } from 'node:fs/promises'
import { promisify } from 'node:util'
import { FormatInspector, INSPECTABLE_FORMATS } from '../domain/format-inspector.js'
import type { OutputFormat } from '../config/options.js'

const run = promisify(execFile)

export interface ConversionOptions {
  outputFormat: OutputFormat
  /** [image_format] vmdk_allowed_types */
  vmdkAllowedTypes: readonly string[]
  /** image_size_cap: a raw output is as large as the virtual disk, so that bounds the scratch space */
  maxVirtualSize: number
}

export interface Converted {
  /** The file to import: the staged one (nothing to convert) or the converted one beside it. */
  path: string
  diskFormat: string
  virtualSize: number
  converted: boolean
}

/** A conversion refused or failed: the task fails with this message, nothing is imported. */
export class ConversionError extends Error {
  readonly code = 'GLINT_CONVERSION_FAILED'
}

// glance/async_/utils.py QEMU_IMG_PROC_LIMITS
const QEMU_IMG_LIMITS = ['--as=1073741824', '--cpu=30']
const INSPECT_CHUNK = 1024 * 1024

/** Converts the staged image at `stagedPath`, declared as `sourceFormat`, to the output format. */
export async function convertStaged (stagedPath: string, sourceFormat: string, opts: ConversionOptions): Promise<Converted> {
  if (!INSPECTABLE_FORMATS.has(sourceFormat)) throw new ConversionError(`Unable to convert from format ${sourceFormat}`)
  await inspectFile(stagedPath, sourceFormat, opts)
  const info = await qemuImgInfo(stagedPath, sourceFormat)
  if (info.format !== sourceFormat) throw new ConversionError('Image metadata disagrees about format')
  if ('backing-filename' in info) throw new ConversionError('QCOW images with backing files are not allowed')
  if (info['format-specific']?.data?.['data-file'] !== undefined) throw new ConversionError('QCOW images with data-file set are not allowed')
  if (info.format === 'vmdk') checkVmdkType(info['format-specific']?.data?.['create-type'], opts.vmdkAllowedTypes)
  const virtualSize = Number(info['virtual-size'] ?? 0)
  if (sourceFormat === opts.outputFormat) return { path: stagedPath, diskFormat: sourceFormat, virtualSize, converted: false }
  if (opts.outputFormat === 'raw' && virtualSize > opts.maxVirtualSize) {
    throw new ConversionError(`The converted image would be ${virtualSize} bytes, more than image_size_cap (${opts.maxVirtualSize})`)
  }

  const outPath = `${stagedPath}.${opts.outputFormat}`
  try {
    await run('qemu-img', ['convert', '-f', sourceFormat, '-O', opts.outputFormat, stagedPath, outPath], { maxBuffer: 1 << 20 })
  } catch (err) {
    await rm(outPath, { force: true })
    throw new ConversionError(stderrOf(err))
  }
  return { path: outPath, diskFormat: opts.outputFormat, virtualSize, converted: true }
}

/** Glance's own inspector over the file, before qemu-img ever reads it. */
async function inspectFile (path: string, sourceFormat: string, opts: ConversionOptions): Promise<void> {
  const inspector = new FormatInspector({ vmdkAllowedTypes: opts.vmdkAllowedTypes })
  const file = await open(path, 'r')
  try {
    const chunk = Buffer.allocUnsafe(INSPECT_CHUNK)
    for (;;) {
      const { bytesRead } = await file.read(chunk, 0, INSPECT_CHUNK, null)
      if (bytesRead === 0) break
      inspector.feed(chunk.subarray(0, bytesRead))
      if (inspector.done) break
    }
  } finally {
    await file.close()
  }
  const found = inspector.inspect()
  if (found.unsafe !== undefined) throw new ConversionError('Image has disallowed configuration')
  // raw data that holds an ISO filesystem is still raw
  const format = found.format === 'iso' && sourceFormat === 'raw' ? 'raw' : found.format
  if (format !== sourceFormat) throw new ConversionError('Image format detection failed')
}

interface QemuImgInfo {
  format?: string
  'virtual-size'?: number
  'backing-filename'?: string
  'format-specific'?: { data?: Record<string, unknown> }
}

async function qemuImgInfo (path: string, format: string): Promise<QemuImgInfo> {
  try {
    const { stdout, stderr } = await run('prlimit', [...QEMU_IMG_LIMITS, 'qemu-img', 'info', '-f', format, '--output=json', path], { maxBuffer: 1 << 20 })
    if (stderr.trim() !== '') throw new ConversionError(stderr.trim())
    return JSON.parse(stdout) as QemuImgInfo
  } catch (err) {
    if (err instanceof ConversionError) throw err
    throw new ConversionError(stderrOf(err))
  }
}

function checkVmdkType (createType: unknown, allowed: readonly string[]): void {
  if (typeof createType !== 'string' || createType === '') throw new ConversionError('Unable to determine VMDK create-type')
  if (allowed.length === 0) throw new ConversionError('Image is a VMDK, but no VMDK createType is specified')
  if (!allowed.includes(createType)) throw new ConversionError('Invalid VMDK create-type specified')
}

function stderrOf (err: unknown): string {
  const stderr = (err as { stderr?: string }).stderr?.trim()
  return stderr !== undefined && stderr !== '' ? stderr : (err as Error).message
}
