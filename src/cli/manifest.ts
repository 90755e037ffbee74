// What `glint upload` is asked to upload: files and directories from the command line, or a
// manifest (YAML: a list, or {images: [...]}; CSV: a header row), each image with its name,
// formats, visibility, tags, properties and stores. Flags give the defaults; a manifest's
// entries override them per image.

import { readdirSync, readFileSync, statSync } from 'node:fs'
import { basename, dirname, extname, join, resolve } from 'node:path'
import { parse as parseYaml } from 'yaml'
import { parse as parseCsv } from 'csv-parse/sync'

export interface UploadJob {
  file: string
  size: number
  name: string
  diskFormat: string
  containerFormat: string
  visibility?: string
  tags: string[]
  properties: Record<string, string>
  /** the first takes the upload, the others get copies (copy-image) */
  stores: string[]
}

export interface JobDefaults {
  diskFormat?: string
  containerFormat: string
  visibility?: string
  tags: string[]
  properties: Record<string, string>
  stores: string[]
}

const FORMAT_BY_EXTENSION: Record<string, string> = {
  '.raw': 'raw', '.img': 'raw', '.qcow2': 'qcow2', '.iso': 'iso', '.vmdk': 'vmdk', '.vdi': 'vdi',
  '.vhd': 'vhd', '.vhdx': 'vhdx', '.ploop': 'ploop', '.aki': 'aki', '.ari': 'ari', '.ami': 'ami'
}

/** Each regular file named, and each regular, non-hidden file directly inside a directory named (sorted). */
export function filesOf (paths: string[]): string[] {
  const out: string[] = []
  for (const path of paths) {
    const st = statSync(path)
    if (st.isDirectory()) {
      for (const name of readdirSync(path).sort()) {
        const inside = join(path, name)
        if (!name.startsWith('.') && statSync(inside).isFile()) out.push(inside)
      }
    } else if (st.isFile()) {
      out.push(path)
    } else {
      throw new Error(`${path} is neither a file nor a directory`)
    }
  }
  return out
}

export function jobForFile (file: string, defaults: JobDefaults, overrides: Partial<Omit<UploadJob, 'file' | 'size'>> = {}): UploadJob {
  const ext = extname(file).toLowerCase()
  const known = FORMAT_BY_EXTENSION[ext]
  const diskFormat = overrides.diskFormat ?? defaults.diskFormat ?? known
  if (diskFormat === undefined) throw new Error(`${file}: no disk format (give --disk-format, or a disk_format in the manifest)`)
  return {
    file: resolve(file),
    size: statSync(file).size,
    name: overrides.name ?? (known !== undefined ? basename(file, extname(file)) : basename(file)),
    diskFormat,
    containerFormat: overrides.containerFormat ?? defaults.containerFormat,
    visibility: overrides.visibility ?? defaults.visibility,
    tags: overrides.tags ?? defaults.tags,
    properties: { ...defaults.properties, ...overrides.properties },
    stores: overrides.stores ?? defaults.stores
  }
}

const MANIFEST_FIELDS = new Set(['file', 'name', 'disk_format', 'container_format', 'visibility', 'tags', 'properties', 'stores'])

/** A manifest's entries; file paths are relative to the manifest. CSV columns not named above become properties. */
export function readManifest (path: string, defaults: JobDefaults): UploadJob[] {
  const text = readFileSync(path, 'utf8')
  const dir = dirname(resolve(path))
  let entries: Array<Record<string, unknown>>
  if (/\.csv$/i.test(path)) {
    const rows = parseCsv(text, { columns: true, skip_empty_lines: true, trim: true }) as Array<Record<string, string>>
    entries = rows.map((row) => {
      const entry: Record<string, unknown> = { properties: {} }
      for (const [key, value] of Object.entries(row)) {
        if (value === '') continue
        if (key === 'tags' || key === 'stores') entry[key] = value.split(/[\s;]+/).filter(Boolean)
        else if (MANIFEST_FIELDS.has(key)) entry[key] = value
        else (entry.properties as Record<string, string>)[key] = value
      }
      return entry
    })
  } else {
    const doc = parseYaml(text) as unknown
    const list = Array.isArray(doc) ? doc : (doc as { images?: unknown })?.images
    if (!Array.isArray(list)) throw new Error(`${path}: a manifest is a list of images, or a mapping with 'images:'`)
    entries = list as Array<Record<string, unknown>>
  }
  return entries.map((entry, i) => {
    const where = `${path}: entry ${i + 1}`
    if (typeof entry?.file !== 'string') throw new Error(`${where}: needs a 'file'`)
    for (const key of Object.keys(entry)) if (!MANIFEST_FIELDS.has(key)) throw new Error(`${where}: unknown field '${key}' (fields: ${[...MANIFEST_FIELDS].join(', ')})`)
    const strings = (v: unknown, what: string): string[] | undefined => {
      if (v === undefined) return undefined
      if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) throw new Error(`${where}: '${what}' must be a list of strings`)
      return v as string[]
    }
    const properties: Record<string, string> = {}
    for (const [k, v] of Object.entries((entry.properties ?? {}) as Record<string, unknown>)) properties[k] = String(v)
    return jobForFile(resolve(dir, entry.file), defaults, {
      name: entry.name === undefined ? undefined : String(entry.name),
      diskFormat: entry.disk_format as string | undefined,
      containerFormat: entry.container_format as string | undefined,
      visibility: entry.visibility as string | undefined,
      tags: strings(entry.tags, 'tags'),
      stores: strings(entry.stores, 'stores'),
      properties
    })
  })
}
