// Where things are, from the compiled file's location (dist/bench/util/paths.js).

import { fileURLToPath } from 'node:url'
import { resolve } from 'node:path'
import { createServer } from 'node:net'

export const REPO_ROOT = resolve(fileURLToPath(import.meta.url), '..', '..', '..', '..')
export const COMPILED_BENCH = resolve(fileURLToPath(import.meta.url), '..', '..')
export const GLANCE_SCRIPT = resolve(REPO_ROOT, 'bench', 'glance', 'glance.sh')
export const CLUSTERS_SCRIPT = resolve(REPO_ROOT, 'test', 'ceph', 'clusters.sh')

/** A compiled helper script under dist/bench, e.g. 'clients/http-load.js'. */
export function benchScript (relative: string): string {
  return resolve(COMPILED_BENCH, relative)
}

export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
    server.on('error', reject)
  })
}
