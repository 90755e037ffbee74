// What an image's bytes really are, learned from its headers as the data streams past: the
// disk format, the virtual size, and whether the image is safe to hand to qemu/Nova. The
// rules are those of Glance's format inspector (glance/common/format_inspector.py): a qcow2
// with a backing file or an external data file makes qemu open a host file of the
// uploader's choosing (CVE-2022-47951, CVE-2024-32498 and their kind), as does a VMDK whose
// extents name other files.
//
// Every known format is inspected at once; only the few header regions each needs are kept
// (at most about 1 MiB in all), and once every inspector has decided, feeding costs nothing.

export type DetectedFormat = 'raw' | 'qcow2' | 'qed' | 'vhd' | 'vhdx' | 'vmdk' | 'vdi' | 'iso' | 'ploop'

/** The disk formats whose content can be recognised; others (ami, ari, aki) are not checked. */
export const INSPECTABLE_FORMATS: ReadonlySet<string> = new Set(['raw', 'qcow2', 'vhd', 'vhdx', 'vmdk', 'vdi', 'iso', 'ploop'])

export interface Inspection {
  format: DetectedFormat
  /** Bytes the guest sees; for raw, the data's own size. */
  virtualSize: number
  /** Why the image must not be stored, when it must not. */
  unsafe?: string
}

export interface InspectorOptions {
  /** VMDK createTypes accepted ([image_format] vmdk_allowed_types). */
  vmdkAllowedTypes?: readonly string[]
}

/** A byte range of the stream that an inspector wants to read. */
class Region {
  private data: Uint8Array | undefined
  private filled = 0

  constructor (readonly offset: number, readonly length: number) {}

  get complete (): boolean { return this.filled === this.length }

  /** The captured bytes; only meaningful once complete. */
  get bytes (): Uint8Array { return this.data ?? new Uint8Array(0) }

  capture (chunk: Uint8Array, chunkStart: number): void {
    if (this.complete) return
    const from = Math.max(this.offset + this.filled, chunkStart)
    const to = Math.min(this.offset + this.length, chunkStart + chunk.byteLength)
    if (to <= from) return
    // Regions are filled in stream order, so `from` is always where the last capture ended.
    this.data ??= new Uint8Array(this.length)
    this.data.set(chunk.subarray(from - chunkStart, to - chunkStart), from - this.offset)
    this.filled += to - from
  }
}

class NotThisFormat extends Error {}

/** One format's inspector: which regions it reads, and what it concludes from them. */
abstract class FormatReader {
  abstract readonly name: DetectedFormat
  protected readonly regions = new Map<string, Region>()

  protected want (name: string, offset: number, length: number): void {
    if (!this.regions.has(name)) this.regions.set(name, new Region(offset, length))
  }

  protected region (name: string): Region | undefined { return this.regions.get(name) }

  protected have (name: string): Uint8Array | undefined {
    const r = this.regions.get(name)
    return r?.complete === true ? r.bytes : undefined
  }

  /** Takes a chunk that starts at `chunkStart`; may add regions that the same chunk feeds. */
  feed (chunk: Uint8Array, chunkStart: number): void {
    for (;;) {
      const before = this.regions.size
      for (const r of this.regions.values()) r.capture(chunk, chunkStart)
      this.afterCapture()
      if (this.regions.size === before) return
    }
  }

  /** Called after every chunk; throws NotThisFormat as soon as the data rules it out. */
  protected afterCapture (): void {}

  get complete (): boolean {
    for (const r of this.regions.values()) if (!r.complete) return false
    return true
  }

  abstract matches (): boolean
  abstract virtualSize (): number
  unsafe (_opts: InspectorOptions): string | undefined { return undefined }
}

const ascii = (b: Uint8Array, from: number, to: number): string => String.fromCharCode(...b.subarray(from, to))
const view = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength)

function startsWith (b: Uint8Array | undefined, magic: string, at = 0): boolean {
  if (b === undefined || b.byteLength < at + magic.length) return false
  for (let i = 0; i < magic.length; i++) if (b[at + i] !== magic.charCodeAt(i)) return false
  return true
}

// qcow2 (big-endian): magic "QFI\xfb", version u32 @4, backing file offset u64 @8,
// size u64 @24; version 3 adds incompatible feature bits u64 @72.
class Qcow2 extends FormatReader {
  readonly name = 'qcow2'
  constructor () { super(); this.want('header', 0, 512) }
  protected override afterCapture (): void {
    const h = this.have('header')
    if (h !== undefined && !this.matches()) throw new NotThisFormat()
  }

  matches (): boolean { return startsWith(this.have('header'), 'QFI\xfb') }
  virtualSize (): number { return Number(view(this.have('header')!).getBigUint64(24)) }
  override unsafe (): string | undefined {
    const h = view(this.have('header')!)
    if (h.getBigUint64(8) !== 0n) return 'qcow2 image has a backing file'
    if (h.getUint32(4) >= 3) {
      const incompatible = h.getBigUint64(72)
      // bit 2: external data file; bits past 3 are features Glance does not know
      if ((incompatible & 4n) !== 0n) return 'qcow2 image has an external data file'
      if ((incompatible & ~0xfn) !== 0n) return 'qcow2 image has unknown incompatible features'
    }
    return undefined
  }
}

// QED: no service supports it, so it is recognised only to be refused.
class Qed extends FormatReader {
  readonly name = 'qed'
  constructor () { super(); this.want('header', 0, 512) }
  protected override afterCapture (): void { if (this.have('header') !== undefined && !this.matches()) throw new NotThisFormat() }
  matches (): boolean { return startsWith(this.have('header'), 'QED\0') }
  virtualSize (): number { return 0 }
  override unsafe (): string { return 'QED images are not supported' }
}

// VHD (VPC): a 512-byte big-endian footer copy at the start, "conectix", size u64 @40.
class Vhd extends FormatReader {
  readonly name = 'vhd'
  constructor () { super(); this.want('header', 0, 512) }
  protected override afterCapture (): void { if (this.have('header') !== undefined && !this.matches()) throw new NotThisFormat() }
  matches (): boolean { return startsWith(this.have('header'), 'conectix') }
  virtualSize (): number { return Number(view(this.have('header')!).getBigUint64(40)) }
}

// VHDX: "vhdxfile" at 0; the region table at 192 KiB names the metadata region; its table
// names the virtual-disk-size item (little-endian throughout).
const VHDX_METADATA_REGION = '8B7CA206-4790-4B9A-B8FE-575F050F886E'
const VHDX_VIRTUAL_DISK_SIZE = '2FA54224-CD1B-4876-B211-5DBED83BF4B8'
const VHDX_MAX_ENTRIES = 2047

function msGuid (b: Uint8Array, at: number): string {
  const v = view(b)
  const hex = (n: number, width: number): string => n.toString(16).toUpperCase().padStart(width, '0')
  const tail = Array.from(b.subarray(at + 8, at + 16), (x) => hex(x, 2)).join('')
  return `${hex(v.getUint32(at, true), 8)}-${hex(v.getUint16(at + 4, true), 4)}-${hex(v.getUint16(at + 6, true), 4)}-${tail.slice(0, 4)}-${tail.slice(4)}`
}

class Vhdx extends FormatReader {
  readonly name = 'vhdx'
  constructor () { super(); this.want('ident', 0, 32); this.want('header', 192 * 1024, 64 * 1024) }

  protected override afterCapture (): void {
    const ident = this.have('ident')
    if (ident !== undefined && !this.matches()) throw new NotThisFormat()
    const header = this.have('header')
    if (header !== undefined && this.region('metadata') === undefined) {
      const h = view(header)
      if (h.getUint32(0, true) !== 0x69676572) throw new NotThisFormat() // "regi"
      const count = h.getUint32(8, true)
      if (count > VHDX_MAX_ENTRIES) throw new NotThisFormat()
      for (let i = 0, at = 16; i < count && at + 32 <= header.byteLength; i++, at += 32) {
        if (msGuid(header, at) === VHDX_METADATA_REGION) {
          this.want('metadata', Number(h.getBigUint64(at + 16, true)), 32 * (VHDX_MAX_ENTRIES + 1))
          return
        }
      }
      throw new NotThisFormat()
    }
    const meta = this.have('metadata')
    if (meta !== undefined && this.region('vds') === undefined) {
      if (!startsWith(meta, 'metadata')) throw new NotThisFormat()
      const m = view(meta)
      const count = m.getUint16(10, true)
      if (count > VHDX_MAX_ENTRIES) throw new NotThisFormat()
      for (let i = 0, at = 32; i < count; i++, at += 32) {
        if (msGuid(meta, at) === VHDX_VIRTUAL_DISK_SIZE) {
          this.want('vds', this.region('metadata')!.offset + m.getUint32(at + 16, true), 8)
          return
        }
      }
      throw new NotThisFormat()
    }
  }

  matches (): boolean { return startsWith(this.have('ident'), 'vhdxfile') }
  virtualSize (): number {
    const vds = this.have('vds')
    return vds === undefined ? 0 : Number(view(vds).getBigUint64(0, true))
  }
}

// VMDK (sparse extent): "KDMV", capacity in sectors u64 @12, descriptor offset/size in
// sectors u64 @28/@36; only descriptors right after the header are accepted, as in Glance.
const VMDK_DESCRIPTOR_MAX = (1 << 20) - 1

class Vmdk extends FormatReader {
  readonly name = 'vmdk'
  constructor () { super(); this.want('header', 0, 512) }

  protected override afterCapture (): void {
    const h = this.have('header')
    if (h === undefined || this.region('descriptor') !== undefined) return
    if (!this.matches()) throw new NotThisFormat()
    const v = view(h)
    const version = v.getUint32(4, true)
    if (version < 1 || version > 3) throw new NotThisFormat()
    if (v.getBigUint64(56, true) === 0xffffffffffffffffn) throw new NotThisFormat() // footer-located grain directory
    const descOffset = Number(v.getBigUint64(28, true)) * 512
    const descSize = Math.min(Number(v.getBigUint64(36, true)) * 512, VMDK_DESCRIPTOR_MAX)
    if (descOffset !== 512 || descSize === 0) throw new NotThisFormat()
    this.want('descriptor', descOffset, descSize)
  }

  matches (): boolean { return startsWith(this.have('header'), 'KDMV') }

  private descriptor (): string | undefined {
    const d = this.have('descriptor')
    if (d === undefined) return undefined
    let end = d.byteLength
    while (end > 0 && d[end - 1] === 0) end--
    return new TextDecoder('latin1').decode(d.subarray(0, end))
  }

  private createType (): string | undefined {
    return /createType="([^"]{0,63})"/.exec(this.descriptor() ?? '')?.[1]
  }

  virtualSize (): number {
    const type = this.createType()
    if (type !== 'monolithicSparse' && type !== 'streamOptimized') return 0
    return Number(view(this.have('header')!).getBigUint64(12, true)) * 512
  }

  override unsafe (opts: InspectorOptions): string | undefined {
    const text = this.descriptor()
    if (text === undefined) return 'VMDK descriptor is incomplete'
    if (/[^\x00-\x7f]/.test(text)) return 'VMDK descriptor is not ASCII'
    const type = this.createType()
    const allowed = opts.vmdkAllowedTypes ?? ['monolithicSparse', 'streamOptimized']
    if (type === undefined || !allowed.includes(type)) return `VMDK create-type ${type ?? '(none)'} is not allowed`
    let extents = 0
    for (const raw of text.toLowerCase().split('\n')) {
      const line = raw.trim()
      if (line === '' || line.startsWith('#') || line.startsWith('ddb')) continue
      const key = line.split('=')[0]
      if (line.includes('=') && !key.includes(' ')) continue
      if (!['rw', 'rdonly', 'noaccess'].includes(line.split(' ')[0])) return 'VMDK descriptor has an unsupported line'
      // an extent naming a path reads a host file
      if (line.includes('/')) return 'VMDK extent names another file'
      extents++
    }
    return extents === 0 ? 'VMDK descriptor has no extents' : undefined
  }
}

// VDI: signature 0xbeda107f (LE u32 @0x40), disk size LE u64 @0x170.
class Vdi extends FormatReader {
  readonly name = 'vdi'
  constructor () { super(); this.want('header', 0, 512) }
  protected override afterCapture (): void { if (this.have('header') !== undefined && !this.matches()) throw new NotThisFormat() }
  matches (): boolean {
    const h = this.have('header')
    return h !== undefined && view(h).getUint32(0x40, true) === 0xbeda107f
  }

  virtualSize (): number { return Number(view(this.have('header')!).getBigUint64(0x170, true)) }
}

// ISO 9660: the primary volume descriptor at 32 KiB: type 1, "CD001"; volume space size
// (LE u32 @80) times logical block size (LE u16 @128).
class Iso extends FormatReader {
  readonly name = 'iso'
  constructor () { super(); this.want('pvd', 0x8000, 2048) }
  protected override afterCapture (): void { if (this.have('pvd') !== undefined && !this.matches()) throw new NotThisFormat() }
  matches (): boolean { return startsWith(this.have('pvd'), 'CD001', 1) }
  virtualSize (): number {
    const v = view(this.have('pvd')!)
    return v.getUint32(80, true) * v.getUint16(128, true)
  }
}

// Parallels ploop: signature at 0, size in sectors @36 (u32 in v1, u64 in v2).
class Ploop extends FormatReader {
  readonly name = 'ploop'
  constructor () { super(); this.want('header', 0, 64) }
  protected override afterCapture (): void { if (this.have('header') !== undefined && !this.matches()) throw new NotThisFormat() }
  matches (): boolean {
    const h = this.have('header')
    return startsWith(h, 'WithoutFreeSpace') || startsWith(h, 'WithouFreSpacExt')
  }

  virtualSize (): number {
    const h = this.have('header')!
    const v = view(h)
    const sectors = ascii(h, 0, 16) === 'WithouFreSpacExt' ? Number(v.getBigUint64(36, true)) : v.getUint32(36, true)
    return sectors * 512
  }
}

/**
 * Feeds every format's reader with the stream and reports what the data is. Call feed()
 * with each chunk in order (it keeps no reference to the chunk), then inspect() at the end.
 */
export class FormatInspector {
  private readers: FormatReader[] = [new Qcow2(), new Qed(), new Vhd(), new Vhdx(), new Vmdk(), new Vdi(), new Iso(), new Ploop()]
  private position = 0
  private decided: FormatReader | undefined

  constructor (private readonly opts: InspectorOptions = {}) {}

  /** True once more data cannot change the verdict (the caller may stop feeding). */
  get done (): boolean { return this.decided !== undefined || this.readers.length === 0 }

  feed (chunk: Uint8Array): void {
    const start = this.position
    this.position += chunk.byteLength
    if (this.done) return
    this.readers = this.readers.filter((reader) => {
      try {
        reader.feed(chunk, start)
        return true
      } catch (err) {
        if (err instanceof NotThisFormat) return false
        throw err
      }
    })
    // The first reader that recognises the data and has all it needs decides.
    this.decided = this.readers.find((r) => r.complete && r.matches())
  }

  /** The verdict on everything fed so far; `size` is the whole stream's length. */
  inspect (): Inspection {
    const reader = this.decided ?? this.readers.find((r) => r.matches())
    if (reader === undefined) return { format: 'raw', virtualSize: this.position }
    if (!reader.complete) return { format: reader.name, virtualSize: 0, unsafe: `${reader.name} header is truncated` }
    const unsafe = reader.unsafe(this.opts)
    return { format: reader.name, virtualSize: reader.virtualSize(), ...(unsafe !== undefined ? { unsafe } : {}) }
  }
}

/**
 * Glance's decision for uploaded data declared as `diskFormat`: undefined when it may be
 * stored, else the reason it may not. Content of a format Glance cannot inspect (ami, ari,
 * aki) is only held to the safety checks.
 */
export function formatVerdict (diskFormat: string | null, found: Inspection, requireMatch: boolean): string | undefined {
  if (found.unsafe !== undefined) return `Image does not pass safety check: ${found.unsafe}`
  if (!requireMatch || diskFormat === null || !INSPECTABLE_FORMATS.has(diskFormat)) return undefined
  // An ISO 9660 filesystem is a valid raw disk; any other recognised format is not.
  if (diskFormat === 'raw' && (found.format === 'raw' || found.format === 'iso')) return undefined
  if (found.format !== diskFormat) return `Image content does not match disk_format ${diskFormat} (found ${found.format})`
  return undefined
}
