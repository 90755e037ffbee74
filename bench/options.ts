// Command-line options of `npm run bench`, with the full and --quick profiles.

import { parseArgs } from 'node:util'
import { resolve } from 'node:path'
import { REPO_ROOT } from './util/paths.js'
import { parseClusterSpec, type ClusterSpec } from './targets/clusters.js'

export const SCENARIO_NAMES = ['listing', 'transfer', 'parallel-uploads', 'boot-storm', 'keystone', 'import', 'gateways'] as const
export type ScenarioName = typeof SCENARIO_NAMES[number]
export const IMPORT_METHODS = ['glance-direct', 'copy-image', 'web-download'] as const
export type ImportMethod = typeof IMPORT_METHODS[number]

export interface Options {
  quick: boolean
  againstGlance: boolean
  scenarios: ScenarioName[]
  runs: number
  /** single-stream transfer sizes, MiB */
  transferMiB: number[]
  /** import image sizes, MiB (--sizes sets these and the transfer sizes) */
  importMiB: number[]
  /** import methods measured (copy-image copies the glance-direct image, so it needs glance-direct) */
  importMethods: ImportMethod[]
  /** size of each of the 4 parallel uploads, MiB */
  parallelMiB: number
  stormMiB: number
  stormClients: number[]
  /** gateways: the numbers of gateways (Glint processes, Glance workers) to measure */
  gateways: number[]
  /** gateways: concurrent downloads of the storm */
  gatewayClients: number
  listImages: number
  /** images per create-rate run */
  createImages: number
  wrkSeconds: number
  /** keystone: requests per run with a fresh token each, and with a cached token or none */
  newTokenRequests: number
  cachedRequests: number
  /** longest wait for a server to go idle before a run */
  idleTimeoutSec: number
  /** clusters named with --ceph (none: the two test clusters) */
  ceph: ClusterSpec[]
  /** only these stores (ids), or all */
  stores?: string[]
  /** listing: only the cases whose id contains one of these */
  cases?: string[]
  outDir: string
  workDir: string
  /** the command line, for the report */
  command: string
  /** only redraw the chart and tables of this results file */
  render?: string
}

const FULL = {
  runs: 3, transferMiB: [1024, 4096], importMiB: [1024, 4096], parallelMiB: 1024, stormMiB: 256, stormClients: [32, 256],
  gateways: [1, 2, 3], gatewayClients: 64, listImages: 1000, createImages: 200, wrkSeconds: 10, newTokenRequests: 50, cachedRequests: 200, idleTimeoutSec: 90
}
const QUICK = {
  runs: 1, transferMiB: [64], importMiB: [64], parallelMiB: 64, stormMiB: 32, stormClients: [8, 32],
  gateways: [1, 2], gatewayClients: 8, listImages: 100, createImages: 50, wrkSeconds: 3, newTokenRequests: 10, cachedRequests: 30, idleTimeoutSec: 20
}

export const HELP = `Usage: npm run bench -- [options]

Runs the scenarios against Glint (and with --against-glance also against the real Glance),
each beside a physical baseline measured in the same run, and reports ratios.

Scenarios (default: all):
  listing            1,000 images: GET /v2/images?limit=25 and ?limit=1000 at 1 and 64
                     connections, keep-alive and Connection: close, and GET /v2/images/{id}
                     at 1 and 64 keep-alive connections (wrk: req/s, p50, p99, non-2xx);
                     image creates per second. Baseline: the same requests to a
                     trivial node:http server returning the same JSON.
  transfer           single-stream upload and download of 1 GiB and 4 GiB into the file store
                     and each RBD store (curl). Baselines: md5+sha512 on one core
                     (node:crypto), rbd import / rbd export of the same file into the same
                     cluster, curl into a trivial sink / from a trivial source.
  parallel-uploads   4 uploads at once, 2 into each Ceph cluster (aggregate MB/s).
                     Baseline: 4 rbd imports at once, placed the same way.
  boot-storm         32 and 256 concurrent downloads of one 256 MiB image from the file store
                     and from RBD (aggregate MB/s, errors, latency, peak RSS). Baseline: the
                     same clients against the trivial server streaming the same file.
  gateways           several gateways behind HAProxy (roundrobin, loopback): for N in 1, 2, 3,
                     N Glint processes over one registry database, and (with --against-glance)
                     Glance with workers = N behind its own HAProxy, interleaved. 6 uploads at
                     once alternating the RBD stores (each --parallel-mib, stored sha512
                     checked) and a boot storm of --gateway-clients downloads of one
                     --storm-mib image from RBD (every body's sha256 checked): aggregate MB/s,
                     errors, CPU-s of all gateway processes and of HAProxy, peak RSS per
                     process. Baselines: 6 rbd imports at once; the trivial server behind
                     HAProxy streaming the same file to the same clients.
  keystone           Keystone tokens (test/keystone/keystone.sh, booted if not up): a Glint with
                     flavor = keystone and (with --against-glance) Glance with keystonemiddleware,
                     1,000 images each. GET /v2/images/{id} latency (median, p99) with a new
                     token per request (validated against Keystone), with a cached token, and
                     without Keystone (the trusted-header servers); GET /v2/images/{id} and
                     ?limit=25 with a token at 1 and 64 connections (wrk). CPU-s of each server
                     and of Keystone. Baselines: Keystone's own validation call; the trivial
                     server returning the same JSON.
  import             the interoperable import of 1 GiB and 4 GiB into RBD: glance-direct (PUT
                     /stage, POST /import into ceph_a; stage, import and end to end), web-download
                     (from a loopback server into ceph_a) and copy-image (ceph_a -> ceph_b), each
                     timed to active, with each cluster's client bytes written and read (OSD perf
                     counters), the staging directory's peak size, the server's CPU-s and peak
                     RSS; every result's os_hash_value checked against the file's sha512, the
                     ceph_b copy read back and hashed. Baselines: rbd import, curl | rbd import,
                     rbd export | rbd import of the same file and clusters.

Options:
  --quick              small sizes and one run each (64 MiB transfers and imports, 32 MiB storm
                       image with 8 and 32 clients, 100 images, 3 s wrk runs, 10 new tokens):
                       a few minutes
  --against-glance     also install (if missing), start and measure Debian's glance-api
  --only LIST          comma-separated scenario names, e.g. --only listing,transfer
  --runs N             runs per figure (default 3, --quick 1); the median is reported
  --sizes LIST         transfer and import sizes in MiB (default 1024,4096)
  --import-methods LIST
                       import methods measured (default glance-direct,copy-image,web-download;
                       copy-image copies the glance-direct image, so it needs glance-direct)
  --parallel-mib N     size of each parallel upload in MiB (default 1024)
  --storm-mib N        boot-storm image size in MiB (default 256)
  --storm-clients LIST concurrent downloads (default 32,256)
  --gateways LIST      gateways: the numbers of gateways (default 1,2,3; --quick 1,2)
  --gateway-clients N  gateways: concurrent downloads in the storm (default 64; --quick 8)
  --images N           images in the listing and the keystone scenario (default 1000)
  --wrk-seconds N      length of each wrk run (default 10)
  --ceph NAME=CONF[,pool=P][,user=U][,keyring=FILE][,chunk=MIB]
                       measure this Ceph cluster as store NAME (repeatable) instead of the two
                       test clusters of test/ceph/clusters.sh: any ceph.conf, pool (default
                       images), cephx user (default admin), keyring (default: the conf's) and
                       rbd_store_chunk_size (default 8). The OSDs' CPU is read when they run on
                       this machine.
  --stores LIST        only these stores, e.g. --stores ceph_a,ceph_b (default: the file store
                       "fast" and every Ceph store)
  --cases LIST         listing: only the cases whose id contains one of these, e.g.
                       --cases limit=25/c=64/keep-alive,show/c=64 (ids as in the results file)
  --out DIR            results directory (default bench/results)
  --render FILE.json   measure nothing: redraw the chart and tables of a results file
  --work-dir DIR       scratch space for test files and server state (default /tmp/glint-bench/run-PID);
                       removed at the end
  -h, --help           this text
`

function numberList (text: string, name: string): number[] {
  const list = text.split(',').map((s) => Number(s.trim()))
  if (list.length === 0 || list.some((n) => !Number.isFinite(n) || n <= 0)) throw new Error(`--${name}: expected positive numbers, got ${text}`)
  return list
}

function positive (text: string, name: string): number {
  return numberList(text, name)[0]
}

function importMethods (text: string | undefined): ImportMethod[] {
  if (text === undefined) return [...IMPORT_METHODS]
  const asked = text.split(',').map((s) => s.trim()).filter(Boolean)
  const unknown = asked.filter((m) => !(IMPORT_METHODS as readonly string[]).includes(m))
  if (unknown.length > 0 || asked.length === 0) throw new Error(`--import-methods: unknown method ${unknown.join(', ')} (known: ${IMPORT_METHODS.join(', ')})`)
  if (asked.includes('copy-image') && !asked.includes('glance-direct')) throw new Error('--import-methods: copy-image copies the glance-direct image; add glance-direct')
  return IMPORT_METHODS.filter((m) => asked.includes(m))
}

/** Parses argv; returns undefined when --help was asked for. */
export function parseOptions (argv: string[]): Options | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      'against-glance': { type: 'boolean', default: false },
      only: { type: 'string' },
      runs: { type: 'string' },
      sizes: { type: 'string' },
      'import-methods': { type: 'string' },
      'parallel-mib': { type: 'string' },
      'storm-mib': { type: 'string' },
      'storm-clients': { type: 'string' },
      gateways: { type: 'string' },
      'gateway-clients': { type: 'string' },
      images: { type: 'string' },
      'wrk-seconds': { type: 'string' },
      out: { type: 'string' },
      ceph: { type: 'string', multiple: true },
      stores: { type: 'string' },
      cases: { type: 'string' },
      'work-dir': { type: 'string' },
      render: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false }
    },
    strict: true
  })
  if (values.help === true) return undefined
  const profile = values.quick === true ? QUICK : FULL
  let scenarios: ScenarioName[] = [...SCENARIO_NAMES]
  if (values.only !== undefined) {
    const asked = values.only.split(',').map((s) => s.trim()).filter(Boolean)
    const unknown = asked.filter((s) => !(SCENARIO_NAMES as readonly string[]).includes(s))
    if (unknown.length > 0) throw new Error(`--only: unknown scenario ${unknown.join(', ')} (known: ${SCENARIO_NAMES.join(', ')})`)
    scenarios = SCENARIO_NAMES.filter((s) => asked.includes(s))
  }
  return {
    quick: values.quick === true,
    againstGlance: values['against-glance'] === true,
    scenarios,
    runs: values.runs !== undefined ? Math.round(positive(values.runs, 'runs')) : profile.runs,
    transferMiB: values.sizes !== undefined ? numberList(values.sizes, 'sizes') : profile.transferMiB,
    importMiB: values.sizes !== undefined ? numberList(values.sizes, 'sizes') : profile.importMiB,
    importMethods: importMethods(values['import-methods']),
    parallelMiB: values['parallel-mib'] !== undefined ? positive(values['parallel-mib'], 'parallel-mib') : profile.parallelMiB,
    stormMiB: values['storm-mib'] !== undefined ? positive(values['storm-mib'], 'storm-mib') : profile.stormMiB,
    stormClients: values['storm-clients'] !== undefined ? numberList(values['storm-clients'], 'storm-clients') : profile.stormClients,
    gateways: values.gateways !== undefined ? numberList(values.gateways, 'gateways').map(Math.round) : profile.gateways,
    gatewayClients: values['gateway-clients'] !== undefined ? Math.round(positive(values['gateway-clients'], 'gateway-clients')) : profile.gatewayClients,
    listImages: values.images !== undefined ? Math.round(positive(values.images, 'images')) : profile.listImages,
    createImages: profile.createImages,
    wrkSeconds: values['wrk-seconds'] !== undefined ? positive(values['wrk-seconds'], 'wrk-seconds') : profile.wrkSeconds,
    newTokenRequests: profile.newTokenRequests,
    cachedRequests: profile.cachedRequests,
    idleTimeoutSec: profile.idleTimeoutSec,
    ceph: (values.ceph ?? []).map(parseClusterSpec),
    stores: values.stores?.split(',').map((s) => s.trim()).filter(Boolean),
    cases: values.cases?.split(',').map((s) => s.trim()).filter(Boolean),
    outDir: resolve(values.out ?? resolve(REPO_ROOT, 'bench', 'results')),
    workDir: resolve(values['work-dir'] ?? `/tmp/glint-bench/run-${process.pid}`),
    render: values.render !== undefined ? resolve(values.render) : undefined,
    command: ['npm run bench', ...(argv.length > 0 ? ['--', ...argv] : [])].join(' ')
  }
}
