// Glance's checksums, computed while the bytes stream: md5 (`checksum`) and sha512
// (`os_hash_value`), plus the byte count (`size`).

import { createHash, type Hash } from 'node:crypto'

export interface Digests { size: number, checksum: string, osHashAlgo: 'sha512', osHashValue: string }

export class ImageHasher {
  private readonly md5: Hash = createHash('md5')
  private readonly sha512: Hash = createHash('sha512')
  size = 0

  update (bytes: Uint8Array): void {
    this.md5.update(bytes)
    this.sha512.update(bytes)
    this.size += bytes.byteLength
  }

  digest (): Digests {
    return { size: this.size, checksum: this.md5.digest('hex'), osHashAlgo: 'sha512', osHashValue: this.sha512.digest('hex') }
  }
}
