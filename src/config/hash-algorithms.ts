// Glance's `hashing_algorithm` names a Python hashlib algorithm; node:crypto names some of
// them differently. An image records the Glance name in os_hash_algo, so a client can check
// the data with hashlib; Glint hashes with node's name for the same digest.

import { getHashes } from 'node:crypto'

/** hashlib names (algorithms_available) with a fixed-length hexdigest, and node's name for each. */
const NODE_NAMES: Record<string, string> = {
  md5: 'md5',
  sha1: 'sha1',
  sha224: 'sha224',
  sha256: 'sha256',
  sha384: 'sha384',
  sha512: 'sha512',
  sha512_224: 'sha512-224',
  sha512_256: 'sha512-256',
  sha3_224: 'sha3-224',
  sha3_256: 'sha3-256',
  sha3_384: 'sha3-384',
  sha3_512: 'sha3-512',
  // hashlib's defaults: 64- and 32-byte digests
  blake2b: 'blake2b512',
  blake2s: 'blake2s256',
  ripemd160: 'ripemd160',
  sm3: 'sm3',
  'md5-sha1': 'md5-sha1'
}

/** node:crypto's name for Glance's algorithm, or undefined when Glint cannot compute it. */
export function nodeHashName (glanceName: string): string | undefined {
  const name = Object.hasOwn(NODE_NAMES, glanceName) ? NODE_NAMES[glanceName] : undefined
  return name !== undefined && getHashes().includes(name) ? name : undefined
}

export function supportedHashAlgorithms (): string[] {
  return Object.keys(NODE_NAMES).filter((name) => nodeHashName(name) !== undefined)
}
