// Glance's checksums, computed while the bytes stream: md5 (`checksum`) and, by default,
// sha512 (`os_hash_value`; `hashing_algorithm` picks another). One core hashes md5+sha512 at ~270 MiB/s, slower than the network or a
// Ceph cluster here, so the two digests run on two threads at once: md5 in the store worker
// (beside the writes), sha512 in a hasher thread (hash-worker.ts), over the same shared buffer.

import { createHash, type Hash } from 'node:crypto'

/** A running digest with the byte count beside it. */
export class StreamDigest {
  private readonly hash: Hash
  size = 0

  constructor (algorithm: string) {
    this.hash = createHash(algorithm)
  }

  update (bytes: Uint8Array): void {
    this.hash.update(bytes)
    this.size += bytes.byteLength
  }

  hex (): string {
    return this.hash.digest('hex')
  }
}
