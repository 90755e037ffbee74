// Reads an operator's glance-api.conf (parsed as oslo.config parses it: oslo-ini.ts) into Glint's Config.
// Unknown options become warnings; a malformed line or value stops the start with an error
// that names the file, the line and the option.

import { existsSync, readFileSync } from 'node:fs'
import { dirname, isAbsolute, resolve } from 'node:path'
import { NOTIFIER_DRIVERS, type NotifierConfig } from '../notifier/notifier.js'
import { IniSyntaxError, parseOsloIni, type ParsedConfig } from './oslo-ini.js'
import {
  TASK_OPTIONS, DATABASE_OPTIONS, DEFAULT_OPTIONS, FILE_STORE_OPTIONS, GLANCE_STORE_OPTIONS, IMAGE_FORMAT_OPTIONS, IMPORT_FILTERING_OPTIONS, KEYSTONE_AUTHTOKEN_OPTIONS,
  LEGACY_STORE_OPTIONS, NOTIFICATIONS_OPTIONS, OSLO_LIMIT_OPTIONS, OSLO_MIDDLEWARE_OPTIONS, PASTE_OPTIONS, POLICY_OPTIONS, RBD_STORE_OPTIONS, type OptionSpec,
  IMAGE_IMPORT_OPTIONS, IMAGE_CONVERSION_OPTIONS, GLANCE_DOWNLOAD_PROPERTIES_OPTIONS, OUTPUT_FORMATS, type OutputFormat, STORE_TYPE_LOCATION_OPTIONS
} from './options.js'
import { LOCATION_STRATEGIES, locationStrategy, type LocationStrategy } from '../domain/location-strategy.js'
import { nodeHashName, supportedHashAlgorithms } from './hash-algorithms.js'

export interface FileStoreConfig { dir: string, chunkSize: number, thin: boolean, directIo: boolean }
export interface RbdStoreConfig {
  pool: string, user?: string, cephConf: string, keyring?: string,
  chunkSizeMiB: number, thin: boolean, connectTimeoutSec: number, writers: number
}
export interface StoreConfig {
  id: string
  /** http: read-only, the data of http(s) locations (src/stores/http-store.ts) */
  type: 'file' | 'rbd' | 'http'
  description?: string
  weight: number
  file?: FileStoreConfig
  rbd?: RbdStoreConfig
  /** the http store fetches through [import_filtering_opts] */
  http?: { filtering: ImportFiltering }
}

export interface ImportFiltering {
  allowedSchemes: string[], disallowedSchemes: string[], allowedHosts: string[], disallowedHosts: string[],
  allowedPorts: number[], disallowedPorts: number[]
}

/** Who Glint is to Keystone ([keystone_authtoken]'s password method). */
export interface KeystoneCredentials {
  /** The identity API root (ending in /v3) Glint validates tokens and reads limits at. */
  authUrl: string
  username: string
  password: string
  userDomainName?: string
  userDomainId?: string
  projectName?: string
  projectId?: string
  projectDomainName?: string
  projectDomainId?: string
  regionName?: string
  /** keystoneauth's system_scope (`all`): a system-scoped token instead of a project's */
  systemScope?: string
}

/** use_keystone_limits with [oslo_limit]: whose limits (an endpoint of the catalog) and who reads them. */
export interface UnifiedLimitsConfig {
  credentials: KeystoneCredentials
  /** the endpoint whose service and region the limits belong to ... */
  endpointId?: string
  /** ... or found by its service (type and/or name), region and interface, as oslo.limit 2.3+ does */
  endpointServiceType?: string
  endpointServiceName?: string
  endpointRegionName?: string
  endpointInterface: string
  timeoutSec: number
  /** Glint's own: how long limits read are used (0: read for every check), for how many projects */
  cacheTimeSec: number
  cacheSize: number
}

export interface KeystoneConfig extends KeystoneCredentials {
  wwwAuthenticateUri: string
  cacheTimeSec: number
  cacheSize: number
  includeServiceCatalog: boolean
  timeoutSec: number
}

export interface Config {
  bindHost: string
  bindPort: number
  workers: number
  imageSizeCap: number
  userStorageQuota: number
  showImageDirectUrl: boolean
  showMultipleLocations: boolean
  /** location_strategy (and store_type_preference): the order locations are read in */
  locationStrategy: LocationStrategy
  /** the stores that take data (uploads, copies) */
  stores: StoreConfig[]
  /** the read-only http store (`NAME:http` in enabled_backends, or `http` in [glance_store] stores): http locations are accepted */
  httpStore?: StoreConfig
  /** [import_filtering_opts]: which URLs may be fetched */
  importFiltering: ImportFiltering
  /** os_glance_staging_store: the file store glance-direct stages into and web-download fetches into */
  staging: StoreConfig
  /** enabled_import_methods, in the operator's order */
  importMethods: string[]
  /** [glance_download_properties] extra_properties: the name prefixes of the properties glance-download copies */
  glanceDownloadProperties: string[]
  /** [task] task_time_to_live: hours a finished task is kept */
  taskTtlHours: number
  /** the image_conversion import plugin ([image_import_opts], [image_conversion]); undefined: off */
  imageConversion?: { outputFormat: OutputFormat }
  defaultStore: string
  databaseUrl?: string
  dbPoolSize: number
  /** os_hash_algo of new uploads, as Glance names it (hashlib) */
  hashingAlgorithm: string
  /** seconds any registry statement may run on PostgreSQL */
  dbQueryTimeoutSec: number
  dataDir: string
  authMode: 'noauth' | 'trusted' | 'keystone'
  /** [oslo_messaging_notifications] and the notification options of [DEFAULT] */
  notifier: NotifierConfig
  /** [keystone_authtoken], when flavor is keystone */
  keystone?: KeystoneConfig
  /** use_keystone_limits: Glance's unified limits read from Keystone; undefined when off */
  unifiedLimits?: UnifiedLimitsConfig
  defaultProjectId: string
  defaultUserId: string
  quotas: { properties: number, tags: number, members: number, locations: number }
  limitDefault: number
  limitMax: number
  publicEndpoint?: string
  maxBodySize: number
  /** [DEFAULT] debug: log at debug level */
  debug: boolean
  shutdownTimeoutSec: number
  /** how long a client may take nothing from a response before it is closed (0: forever) */
  clientSocketTimeoutSec: number
  /** [oslo_policy]: the policy file (undefined: Glance's defaults only) and oslo.policy's switches */
  policy: { file?: string, enforceNewDefaults: boolean, enforceScope: boolean, defaultRule: string }
  /** property_protection_file and its rule format; undefined file: no protections */
  propertyProtection: { file?: string, format: 'roles' | 'policies' }
  /** seconds an upload's lease lasts unless renewed (src/recovery/sweep.ts) */
  uploadLeaseSec: number
  /** window memory of shared downloads (fanout.ts): per read of an image, and in total, in bytes */
  fanout: { windowBytes: number, totalBytes: number }
  /** the image cache (flavor ...+caching or +cachemanagement with image_cache_dir); undefined: off */
  imageCache?: { dir: string, maxSize: number, stallTimeSec: number, prefetchIntervalSec: number }
  /** [image_format]: what uploaded content must be (src/domain/format-inspector.ts) */
  imageFormat: { requireMatch: boolean, vmdkAllowedTypes: string[] }
  /** where GET /metrics is served; undefined: metrics are off */
  metrics?: { host: string, port: number }
  /** Options found in the file that Glint does not use: reported once at start. */
  ignored: string[]
  /** Options read but deliberately without effect, each with why: reported once at start. */
  notices: string[]
}

/** PostgreSQL as libpq and SQLAlchemy spell it: postgres://, postgresql://, postgresql+<driver>:// */
const POSTGRES_URL = /^postgres(?:ql)?(?:\+[\w-]+)?:\/\//i

export class ConfigError extends Error {
  readonly code = 'GLINT_CONFIG_INVALID'
}

type Section = Record<string, unknown>

export function parseArgs (argv: string[]): { configFile?: string } {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === '--config-file') return { configFile: argv[i + 1] }
    if (arg.startsWith('--config-file=')) return { configFile: arg.slice('--config-file='.length) }
  }
  return {}
}

export function loadConfig (configFile: string | undefined, env: NodeJS.ProcessEnv = process.env): Config {
  const text = configFile === undefined ? '' : readConfigText(configFile)
  const where = configFile ?? '(defaults)'
  const parsed = parseConfigText(text, where)
  const reader = new OptionReader(parsed.lines, where)
  const ignored: string[] = []
  const sectionOf = (name: string): Section => parsed.sections[name] ?? {}

  const defaults = reader.section(sectionOf('DEFAULT'), 'DEFAULT', DEFAULT_OPTIONS, ignored)
  const backends = defaults.enabled_backends as Record<string, string> | undefined
  const legacy = backends === undefined || Object.keys(backends).length === 0
  // In the single-store form [glance_store] is also the store's own section.
  const glanceStoreSpecs = legacy ? { ...GLANCE_STORE_OPTIONS, ...LEGACY_STORE_OPTIONS, ...FILE_STORE_OPTIONS, ...RBD_STORE_OPTIONS } : GLANCE_STORE_OPTIONS
  const glanceStore = reader.section(sectionOf('glance_store'), 'glance_store', glanceStoreSpecs, ignored)
  const database = reader.section(sectionOf('database'), 'database', DATABASE_OPTIONS, ignored)
  const paste = reader.section(sectionOf('paste_deploy'), 'paste_deploy', PASTE_OPTIONS, ignored)
  const middleware = reader.section(sectionOf('oslo_middleware'), 'oslo_middleware', OSLO_MIDDLEWARE_OPTIONS, ignored)
  const imageFormat = reader.section(sectionOf('image_format'), 'image_format', IMAGE_FORMAT_OPTIONS, ignored)
  const osloPolicy = reader.section(sectionOf('oslo_policy'), 'oslo_policy', POLICY_OPTIONS, ignored)
  const filtering = reader.section(sectionOf('import_filtering_opts'), 'import_filtering_opts', IMPORT_FILTERING_OPTIONS, ignored)
  const taskSection = reader.section(sectionOf('task'), 'task', TASK_OPTIONS, ignored)
  const glanceDownload = reader.section(sectionOf('glance_download_properties'), 'glance_download_properties', GLANCE_DOWNLOAD_PROPERTIES_OPTIONS, ignored)
  const importPlugins = reader.section(sectionOf('image_import_opts'), 'image_import_opts', IMAGE_IMPORT_OPTIONS, ignored)
  const imageConversion = readImageConversion(importPlugins, sectionOf('image_conversion'), reader, where, ignored)
  const stagingSection = reader.section(sectionOf('os_glance_staging_store'), 'os_glance_staging_store', FILE_STORE_OPTIONS, ignored)

  // An empty variable (`DATABASE_URL= npm start`) means unset, as in a shell's own tests.
  const fromEnv = (name: string): string | undefined => (env[name] === '' ? undefined : env[name])
  const dataDir = resolve(fromEnv('GLINT_DATA_DIR') ?? './data')
  const allStores = readStores(parsed.sections, defaults, glanceStore, reader, ignored, dataDir)
  const stores = allStores.filter((s) => s.type !== 'http')
  const importFiltering = importFilteringOf(filtering, (name) => `${where}: line ${reader.lineOf('import_filtering_opts', name)}`)
  const found = allStores.find((s) => s.type === 'http')
  const httpStore = found === undefined ? undefined : { ...found, http: { filtering: importFiltering } }
  if (stores.length === 0) throw new ConfigError(`${where}: enabled_backends has no file or rbd store to keep image data in`)
  const defaultStore = legacy ? stores[0].id : (glanceStore.default_backend ?? stores[0].id) as string
  if (!stores.some((s) => s.id === defaultStore)) {
    throw new ConfigError(`${where}: [glance_store] default_backend = ${defaultStore} is not one of enabled_backends (${stores.map((s) => s.id).join(', ')})`)
  }

  const notifications = reader.section(sectionOf('oslo_messaging_notifications'), 'oslo_messaging_notifications', NOTIFICATIONS_OPTIONS, ignored)
  const drivers = notifications.driver as string[]
  for (const driver of drivers) {
    if (!NOTIFIER_DRIVERS.includes(driver)) throw new ConfigError(`${where}: line ${reader.lineOf('oslo_messaging_notifications', 'driver')}: [oslo_messaging_notifications] driver = ${driver} is not one of ${NOTIFIER_DRIVERS.join(', ')}`)
  }
  const transportUrl = (notifications.transport_url ?? defaults.transport_url) as string | undefined
  if (drivers.some((d) => d === 'messaging' || d === 'messagingv2') && !/^(rabbit|amqp):\/\//.test(transportUrl ?? '')) {
    throw new ConfigError(`${where}: [oslo_messaging_notifications] driver = ${drivers.join(', ')} needs transport_url = rabbit://user:pass@host:port/ (in [oslo_messaging_notifications] or [DEFAULT])`)
  }
  const notifier: NotifierConfig = {
    drivers,
    transportUrl,
    topics: notifications.topics as string[],
    exchange: defaults.control_exchange as string,
    publisherId: defaults.default_publisher_id as string,
    disabled: defaults.disabled_notifications as string[]
  }
  const notices: string[] = []
  const authMode = authModeOf(paste.flavor as string | undefined, `${where}: line ${reader.lineOf('paste_deploy', 'flavor')}`)
  const keystone = authMode === 'keystone'
    ? readKeystone(reader.section(sectionOf('keystone_authtoken'), 'keystone_authtoken', KEYSTONE_AUTHTOKEN_OPTIONS, ignored), where, notices)
    : undefined

  // [oslo_limit] is read only when limits are on: otherwise it is reported as unused
  const unifiedLimits = defaults.use_keystone_limits === true
    ? readUnifiedLimits(reader.section(sectionOf('oslo_limit'), 'oslo_limit', OSLO_LIMIT_OPTIONS, ignored), where)
    : undefined

  const strategyName = defaults.location_strategy as string
  if (!(LOCATION_STRATEGIES as readonly string[]).includes(strategyName)) {
    throw new ConfigError(`${where}: line ${reader.lineOf('DEFAULT', 'location_strategy')}: [DEFAULT] location_strategy must be one of ${LOCATION_STRATEGIES.join(', ')}, not ${strategyName}`)
  }
  const storeTypeSection = strategyName === 'store_type'
    ? reader.section(sectionOf('store_type_location_strategy'), 'store_type_location_strategy', STORE_TYPE_LOCATION_OPTIONS, ignored)
    : undefined
  const strategy = locationStrategy(strategyName as typeof LOCATION_STRATEGIES[number], (storeTypeSection?.store_type_preference as string[] | undefined) ?? [])
  const importMethods = importMethodsOf(defaults.enabled_import_methods as string[], `${where}: line ${reader.lineOf('DEFAULT', 'enabled_import_methods')}`)
  const knownSections = new Set(['DEFAULT', 'task', 'image_import_opts', 'glance_download_properties', ...(imageConversion !== undefined ? ['image_conversion'] : []), ...(storeTypeSection !== undefined ? ['store_type_location_strategy'] : []), 'os_glance_staging_store', 'glance_store', 'database', 'paste_deploy', 'image_format', 'oslo_middleware', 'oslo_policy', 'oslo_messaging_notifications', 'import_filtering_opts', ...(keystone !== undefined ? ['keystone_authtoken'] : []), ...(unifiedLimits !== undefined ? ['oslo_limit'] : []), ...stores.map((s) => s.id.toLowerCase())])
  for (const name of Object.keys(parsed.sections)) {
    if (!knownSections.has(name)) ignored.push(`[${name}]`)
  }

  const connection = database.connection as string | undefined
  const envDatabaseUrl = fromEnv('DATABASE_URL')
  const databaseUrl = envDatabaseUrl ?? connection
  if (databaseUrl !== undefined && !POSTGRES_URL.test(databaseUrl)) {
    const what = envDatabaseUrl !== undefined
      ? 'DATABASE_URL'
      : `${where}: line ${reader.lineOf('database', 'connection')}: [database] connection`
    const scheme = databaseUrl.split('://')[0]
    if (/^(mysql|mariadb)(\+|$)/i.test(scheme)) {
      throw new ConfigError(`${what} is a MySQL database (${scheme}://...): Glint needs PostgreSQL. ` +
        'Give it a postgresql:// URL (or leave it unset for the embedded registry)')
    }
    throw new ConfigError(`${what} must be a postgresql:// URL, got ${scheme}://...`)
  }
  const envPort = fromEnv('GLINT_PORT')
  if (envPort !== undefined && !/^\d{1,5}$/.test(envPort.trim())) throw new ConfigError(`GLINT_PORT must be a port number, got ${envPort}`)
  if (envPort !== undefined && Number(envPort) > 65535) throw new ConfigError(`GLINT_PORT must be at most 65535, got ${envPort}`)

  return {
    bindHost: defaults.bind_host as string,
    bindPort: envPort !== undefined ? Number(envPort) : defaults.bind_port as number,
    workers: defaults.workers as number,
    imageSizeCap: defaults.image_size_cap as number,
    userStorageQuota: defaults.user_storage_quota as number,
    showImageDirectUrl: defaults.show_image_direct_url as boolean,
    showMultipleLocations: defaults.show_multiple_locations as boolean,
    locationStrategy: strategy,
    stores,
    httpStore,
    importFiltering,
    staging: fileStore('os_glance_staging_store', stagingSection, resolve(dataDir, 'staging')),
    importMethods,
    glanceDownloadProperties: (glanceDownload.extra_properties as string[]).filter((p) => p !== ''),
    taskTtlHours: taskSection.task_time_to_live as number,
    defaultStore,
    // SQLAlchemy's driver suffix (postgresql+psycopg2://) means nothing to a libpq-style client
    databaseUrl: databaseUrl?.replace(POSTGRES_URL, 'postgresql://'),
    dbPoolSize: database.max_pool_size as number,
    hashingAlgorithm: hashingAlgorithmOf(defaults.hashing_algorithm as string, `${where}: line ${reader.lineOf('DEFAULT', 'hashing_algorithm')}`),
    dbQueryTimeoutSec: database.query_timeout as number,
    dataDir,
    authMode,
    keystone,
    unifiedLimits,
    notifier,
    defaultProjectId: defaults.default_project_id as string,
    defaultUserId: defaults.default_user_id as string,
    quotas: {
      properties: defaults.image_property_quota as number,
      tags: defaults.image_tag_quota as number,
      members: defaults.image_member_quota as number,
      locations: defaults.image_location_quota as number
    },
    limitDefault: defaults.limit_param_default as number,
    limitMax: defaults.api_limit_max as number,
    publicEndpoint: defaults.public_endpoint as string | undefined,
    maxBodySize: (middleware.max_request_body_size ?? defaults.max_request_body_size) as number,
    debug: defaults.debug as boolean,
    shutdownTimeoutSec: defaults.shutdown_timeout as number,
    clientSocketTimeoutSec: defaults.client_socket_timeout as number,
    policy: readPolicyOptions(osloPolicy, defaults, configFile, reader, where),
    propertyProtection: readPropertyProtection(defaults, configFile, reader, where),
    uploadLeaseSec: defaults.upload_lease_timeout as number,
    fanout: { windowBytes: (defaults.fanout_window_mb as number) * 1024 * 1024, totalBytes: (defaults.fanout_memory_mb as number) * 1024 * 1024 },
    imageCache: imageCacheOf(paste.flavor as string | undefined, defaults, `${where}: line ${reader.lineOf('paste_deploy', 'flavor')}`),
    imageConversion,
    imageFormat: {
      requireMatch: imageFormat.require_image_format_match as boolean,
      vmdkAllowedTypes: imageFormat.vmdk_allowed_types as string[]
    },
    metrics: defaults.metrics_port === undefined
      ? undefined
      : { host: (defaults.metrics_host as string | undefined) ?? defaults.bind_host as string, port: defaults.metrics_port as number },
    ignored,
    notices
  }
}

/** keystonemiddleware takes auth_url with or without the version; Glint speaks v3 only. */
function identityApiRoot (authUrl: string): string {
  const base = authUrl.replace(/\/+$/, '')
  if (/\/v3$/.test(base)) return base
  return `${base.replace(/\/v2\.0$/, '')}/v3`
}

/** The user a section names with keystoneauth's password options (checked present by the caller). */
function passwordCredentials (str: (key: string) => string | undefined): Omit<KeystoneCredentials, 'authUrl' | 'systemScope'> {
  return {
    username: str('username')!,
    password: str('password')!,
    userDomainName: str('user_domain_name'),
    userDomainId: str('user_domain_id'),
    projectName: str('project_name'),
    projectId: str('project_id'),
    projectDomainName: str('project_domain_name'),
    projectDomainId: str('project_domain_id')
  }
}

function readKeystone (k: Section, where: string, notices: string[]): KeystoneConfig {
  const str = (key: string): string | undefined => {
    const v = k[key] as string | undefined
    return v === undefined || v === '' ? undefined : v
  }
  const missing = ['auth_url', 'username', 'password'].filter((key) => str(key) === undefined)
  if (missing.length > 0) throw new ConfigError(`${where}: [paste_deploy] flavor = keystone needs [keystone_authtoken] ${missing.join(', ')}`)
  const authType = String(k.auth_type)
  if (authType !== 'password' && authType !== 'v3password') {
    throw new ConfigError(`${where}: [keystone_authtoken] auth_type = ${authType}: Glint authenticates its service user with auth_type = password only`)
  }
  if (str('auth_section') !== undefined) throw new ConfigError(`${where}: [keystone_authtoken] auth_section: put the service user's options in [keystone_authtoken] itself`)
  if ((k.memcached_servers as string[] | undefined)?.length) notices.push('[keystone_authtoken] memcached_servers: ignored, Glint caches token validations in its own memory')
  if (k.delay_auth_decision === true) notices.push('[keystone_authtoken] delay_auth_decision: ignored, requests without a valid token are refused')
  const authUrl = str('auth_url')!
  return {
    authUrl: identityApiRoot(authUrl),
    wwwAuthenticateUri: str('www_authenticate_uri') ?? str('auth_uri') ?? authUrl.replace(/\/+$/, ''),
    ...passwordCredentials(str),
    regionName: str('region_name'),
    // keystonemiddleware: -1 disables its cache; Glint keeps an expiring token refused either way
    cacheTimeSec: Math.max(k.token_cache_time as number, 0),
    cacheSize: k.token_cache_size as number,
    includeServiceCatalog: k.include_service_catalog as boolean,
    timeoutSec: (k.http_connect_timeout as number | undefined) ?? 10
  }
}

/**
 * [oslo_limit] as oslo.limit reads it. Where Glance would fail every quota check with a 500
 * (oslo.limit's SessionInitError, or "can't find endpoint"), Glint refuses to start.
 */
function readUnifiedLimits (l: Section, where: string): UnifiedLimitsConfig {
  const str = (key: string): string | undefined => {
    const v = l[key] as string | undefined
    return v === undefined || v === '' ? undefined : v
  }
  const authType = str('auth_type')
  if (authType !== 'password' && authType !== 'v3password') {
    throw new ConfigError(`${where}: use_keystone_limits = true needs [oslo_limit] auth_type = password (got ${authType ?? 'none'}): ` +
      'Glint reads limits as a user with a password')
  }
  const missing = ['auth_url', 'username', 'password'].filter((key) => str(key) === undefined)
  if (missing.length > 0) throw new ConfigError(`${where}: use_keystone_limits = true needs [oslo_limit] ${missing.join(', ')}`)
  if (str('endpoint_id') === undefined && str('endpoint_service_type') === undefined && str('endpoint_service_name') === undefined) {
    throw new ConfigError(`${where}: use_keystone_limits = true needs [oslo_limit] endpoint_id (or endpoint_service_type / endpoint_service_name)`)
  }
  const systemScope = str('system_scope')
  if (systemScope !== undefined && systemScope !== 'all') throw new ConfigError(`${where}: [oslo_limit] system_scope = ${systemScope}: Keystone's only system scope is all`)
  return {
    credentials: { authUrl: identityApiRoot(str('auth_url')!), ...passwordCredentials(str), systemScope },
    endpointId: str('endpoint_id'),
    endpointServiceType: str('endpoint_service_type'),
    endpointServiceName: str('endpoint_service_name'),
    endpointRegionName: str('endpoint_region_name'),
    // keystoneauth's spellings: publicURL is public
    endpointInterface: (str('endpoint_interface') ?? 'public').replace(/URL$/, ''),
    timeoutSec: (l.timeout as number | undefined) ?? 10,
    cacheTimeSec: l.limits_cache_time as number,
    cacheSize: l.limits_cache_size as number
  }
}

/**
 * Glance's paste flavors: keystone[+caching|+cachemanagement] validates tokens,
 * trusted-auth[+...] reads the identity headers, the unauthenticated ones (none, caching,
 * cachemanagement) make every caller an admin. One Glance does not ship refuses to start
 * rather than fall back to letting everyone in as admin.
 */
function authModeOf (flavor: string | undefined, where: string): 'noauth' | 'trusted' | 'keystone' {
  const [base, ...rest] = (flavor ?? '').split('+')
  if (rest.every((r) => r === 'caching' || r === 'cachemanagement')) {
    if (base === 'trusted-auth') return 'trusted'
    if (base === 'keystone') return 'keystone'
    if (base === '' || base === 'caching' || base === 'cachemanagement') return 'noauth'
  }
  throw new ConfigError(`${where}: [paste_deploy] flavor = ${flavor} is not one of Glance's: trusted-auth, keystone, caching, cachemanagement (with +caching or +cachemanagement)`)
}

/** Glance checks the name against hashlib at the first upload; Glint refuses it at start. */
function hashingAlgorithmOf (name: string, where: string): string {
  if (nodeHashName(name) !== undefined) return name
  throw new ConfigError(`${where}: [DEFAULT] hashing_algorithm = ${name}: not a hash algorithm Glint can compute as Glance does; ` +
    `use one of ${supportedHashAlgorithms().join(', ')}`)
}

/** A file named relative to the config file's directory, as oslo.config finds it. */
function besideConfig (file: string, configFile: string | undefined): string {
  return isAbsolute(file) ? file : resolve(configFile === undefined ? '.' : dirname(configFile), file)
}

function readPolicyOptions (section: Section, defaults: Section, configFile: string | undefined, reader: OptionReader, where: string): Config['policy'] {
  const enforceNewDefaults = section.enforce_new_defaults as boolean
  if (defaults.enforce_secure_rbac !== enforceNewDefaults) {
    throw new ConfigError(`${where}: [DEFAULT] enforce_secure_rbac does not match [oslo_policy] enforce_new_defaults. ` +
      'Please set both to True to enable secure RBAC personas. Otherwise, make sure both are False.')
  }
  const named = section.policy_file as string
  let file: string | undefined = besideConfig(named, configFile)
  if (!existsSync(file)) {
    // oslo.policy runs on its defaults when the default policy.yaml is absent; a file the
    // operator named must exist.
    if (reader.lineOf('oslo_policy', 'policy_file') > 0) throw new ConfigError(`${where}: line ${reader.lineOf('oslo_policy', 'policy_file')}: [oslo_policy] policy_file ${file} does not exist`)
    file = undefined
  }
  return { file, enforceNewDefaults, enforceScope: section.enforce_scope as boolean, defaultRule: section.policy_default_rule as string }
}

function readPropertyProtection (defaults: Section, configFile: string | undefined, reader: OptionReader, where: string): Config['propertyProtection'] {
  const format = defaults.property_protection_rule_format as string
  if (format !== 'roles' && format !== 'policies') {
    throw new ConfigError(`${where}: line ${reader.lineOf('DEFAULT', 'property_protection_rule_format')}: property_protection_rule_format must be roles or policies, got ${format}`)
  }
  const named = defaults.property_protection_file as string | undefined
  if (named === undefined || named === '') return { format }
  const file = besideConfig(named, configFile)
  if (!existsSync(file)) throw new ConfigError(`${where}: line ${reader.lineOf('DEFAULT', 'property_protection_file')}: property_protection_file ${file} does not exist`)
  return { file, format }
}

/** Glance caches images when its paste pipeline has the cache middleware (+caching, +cachemanagement). */
function imageCacheOf (flavor: string | undefined, defaults: Section, where: string): Config['imageCache'] {
  const parts = (flavor ?? '').split('+')
  if (!parts.some((p) => p === 'caching' || p === 'cachemanagement')) return undefined
  const dir = defaults.image_cache_dir as string | undefined
  if (dir === undefined || dir === '') throw new ConfigError(`${where}: [paste_deploy] flavor = ${flavor} needs [DEFAULT] image_cache_dir`)
  return {
    dir: resolve(dir),
    maxSize: defaults.image_cache_max_size as number,
    stallTimeSec: defaults.image_cache_stall_time as number,
    prefetchIntervalSec: defaults.cache_prefetcher_interval as number
  }
}

function readConfigText (file: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch (err) {
    throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`)
  }
}

/** A line oslo.config would not parse stops the start, as it stops Glance's. */
function parseConfigText (text: string, where: string): ParsedConfig {
  try {
    return parseOsloIni(text)
  } catch (err) {
    if (err instanceof IniSyntaxError) throw new ConfigError(`${where}: ${err.message}`)
    throw err
  }
}

class OptionReader {
  constructor (private readonly lines: ParsedConfig['lines'], private readonly where: string) {}

  section (raw: Section, name: string, specs: Record<string, OptionSpec>, ignored: string[]): Section {
    const out: Section = {}
    for (const [key, spec] of Object.entries(specs)) out[key] = spec.default
    for (const [key, value] of Object.entries(raw)) {
      const spec = specs[key]
      if (spec === undefined) { ignored.push(`[${name}] ${key}`); continue }
      out[key] = this.value(name, key, spec, value)
    }
    return out
  }

  value (section: string, key: string, spec: OptionSpec, raw: unknown): unknown {
    const text = String(raw).trim()
    const fail = (why: string): never => {
      throw new ConfigError(`${this.where}: line ${this.lineOf(section, key)}: [${section}] ${key} = ${text}: ${why}`)
    }
    switch (spec.type) {
      case 'string': return text
      case 'int': {
        if (!/^-?\d+$/.test(text)) fail('not an integer')
        const n = Number(text)
        if (spec.min !== undefined && n < spec.min) fail(`must be at least ${spec.min}`)
        return n
      }
      case 'bool': {
        const lower = text.toLowerCase()
        if (['true', '1', 'yes', 'on'].includes(lower)) return true
        if (['false', '0', 'no', 'off'].includes(lower)) return false
        return fail('not a boolean')
      }
      case 'size': {
        const m = /^(\d+)\s*(B|KB|MB|GB|TB)?$/i.exec(text)
        if (m === null) return fail('not a size (<n>[B|KB|MB|GB|TB])')
        const unit = { B: 0, KB: 1, MB: 2, GB: 3, TB: 4 }[(m[2] ?? 'B').toUpperCase() as 'B']
        return Number(m[1]) * 1024 ** unit
      }
      case 'list': return text === '' ? [] : text.split(',').map((s) => s.trim()).filter(Boolean)
      case 'dict': {
        const out: Record<string, string> = {}
        for (const pair of text.split(',').map((s) => s.trim()).filter(Boolean)) {
          const m = /^([^:\s]+)\s*:\s*(\S+)$/.exec(pair)
          if (m === null) fail(`'${pair}' is not id:type`)
          else out[m[1]] = m[2]
        }
        return out
      }
    }
  }

  lineOf (section: string, key: string): number {
    return this.lines[section === 'DEFAULT' ? section : section.toLowerCase()]?.[key] ?? 0
  }
}

function readStores (parsed: Record<string, Section>, defaults: Section, glanceStore: Section,
  reader: OptionReader, ignored: string[], dataDir: string): StoreConfig[] {
  const backends = defaults.enabled_backends as Record<string, string> | undefined
  if (backends === undefined || Object.keys(backends).length === 0) return legacyStores(glanceStore, ignored, dataDir)
  const stores: StoreConfig[] = []
  for (const [id, type] of Object.entries(backends)) {
    if (id.startsWith('os_glance_')) {
      throw new ConfigError(`[DEFAULT] enabled_backends: store id ${id} uses the reserved prefix os_glance_`)
    }
    const raw: Section = parsed[id.toLowerCase()] ?? {}
    if (type === 'file') {
      stores.push(fileStore(id, reader.section(raw, id, FILE_STORE_OPTIONS, ignored), resolve(dataDir, id)))
    } else if (type === 'rbd') {
      stores.push(rbdStore(id, reader.section(raw, id, RBD_STORE_OPTIONS, ignored)))
    } else if (type === 'http') {
      if (stores.some((s) => s.type === 'http')) throw new ConfigError(`[DEFAULT] enabled_backends: more than one http store (${id})`)
      stores.push(httpStoreConfig(id, reader.section(raw, id, { store_description: FILE_STORE_OPTIONS.store_description, weight: FILE_STORE_OPTIONS.weight }, ignored)))
    } else {
      throw new ConfigError(`[DEFAULT] enabled_backends: store ${id} has type ${type}; Glint supports file, rbd and http`)
    }
  }
  return stores
}

/**
 * The single store of Glance's legacy form: default_store's type, configured in
 * [glance_store]; named `local` (file) or `rbd` in Glint's locations. Store types Glint does
 * not have (http, swift, cinder...) are reported.
 */
function legacyStores (glanceStore: Section, ignored: string[], dataDir: string): StoreConfig[] {
  const type = glanceStore.default_store as string
  const listed = glanceStore.stores as string[]
  const others = listed.filter((t) => t !== 'file' && t !== 'rbd' && t !== 'http')
  if (others.length > 0) ignored.push(`[glance_store] stores: ${others.join(', ')} (Glint has file, rbd and http stores)`)
  // glance_store's http store: read-only, for http locations
  const http = listed.includes('http') ? [httpStoreConfig('http', {})] : []
  if (type === 'file') return [fileStore('local', glanceStore, resolve(dataDir, 'images')), ...http]
  if (type === 'rbd') return [rbdStore('rbd', glanceStore), ...http]
  throw new ConfigError(`[glance_store] default_store = ${type}: Glint supports file and rbd stores`)
}

/** Glance's four; glance-download is offered only when listed (it is not in Glance's default list). */
export const IMPORT_METHODS = ['glance-direct', 'web-download', 'copy-image', 'glance-download']

/**
 * enabled_import_methods as Glance's ListOpt(bounds=True, quotes) reads it: `[a,b]` or `a, b`,
 * items optionally quoted.
 */
function importMethodsOf (raw: string[], line: string): string[] {
  const items = raw.join(',').replace(/^\s*\[/, '').replace(/\]\s*$/, '').split(',')
    .map((s) => s.trim().replace(/^(['"])(.*)\1$/, '$2')).filter(Boolean)
  const methods: string[] = []
  for (const item of items) {
    if (!IMPORT_METHODS.includes(item)) throw new ConfigError(`${line}: [DEFAULT] enabled_import_methods: ${item} is not one of ${IMPORT_METHODS.join(', ')}`)
    if (!methods.includes(item)) methods.push(item)
  }
  return methods
}

function httpStoreConfig (id: string, s: Section): StoreConfig {
  return { id, type: 'http', description: s.store_description as string | undefined, weight: (s.weight as number | undefined) ?? 0 }
}

function importFilteringOf (s: Section, line: (name: string) => string): ImportFiltering {
  const ports = (name: string): number[] => (s[name] as string[]).map((p) => {
    const n = Number(p)
    if (!/^\d+$/.test(p) || n < 1 || n > 65535) throw new ConfigError(`${line(name)}: [import_filtering_opts] ${name}: ${p} is not a port`)
    return n
  })
  return {
    allowedSchemes: s.allowed_schemes as string[],
    disallowedSchemes: s.disallowed_schemes as string[],
    allowedHosts: (s.allowed_hosts as string[]).map((h) => h.toLowerCase()),
    disallowedHosts: (s.disallowed_hosts as string[]).map((h) => h.toLowerCase()),
    allowedPorts: ports('allowed_ports'),
    disallowedPorts: ports('disallowed_ports')
  }
}

function fileStore (id: string, s: Section, defaultDir: string): StoreConfig {
  return {
    id, type: 'file', description: s.store_description as string | undefined, weight: s.weight as number,
    file: {
      dir: resolve((s.filesystem_store_datadir as string | undefined) ?? defaultDir),
      chunkSize: s.filesystem_store_chunk_size as number,
      thin: s.filesystem_thin_provisioning as boolean,
      directIo: s.filesystem_store_direct_io as boolean
    }
  }
}

function rbdStore (id: string, s: Section): StoreConfig {
  return {
    id, type: 'rbd', description: s.store_description as string | undefined, weight: s.weight as number,
    rbd: {
      pool: s.rbd_store_pool as string,
      user: s.rbd_store_user as string | undefined,
      cephConf: s.rbd_store_ceph_conf as string,
      keyring: s.rbd_store_keyring as string | undefined,
      chunkSizeMiB: s.rbd_store_chunk_size as number,
      thin: s.rbd_thin_provisioning as boolean,
      connectTimeoutSec: s.rados_connect_timeout as number,
      writers: s.rbd_store_writers as number
    }
  }
}

/**
 * image_import_plugins, as Glance lists them (`['image_conversion']` or a plain list); the
 * plugins Glint does not have are reported with the other unsupported options.
 */
function readImageConversion (importOpts: Record<string, unknown>, conversionSection: Section, reader: OptionReader,
  where: string, ignored: string[]): { outputFormat: OutputFormat } | undefined {
  const plugins = (importOpts.image_import_plugins as string[]).map((p) => p.replace(/^[\s[\]'"]+|[\s[\]'"]+$/g, '')).filter((p) => p !== '')
  for (const p of plugins) if (p !== 'image_conversion') ignored.push(`[image_import_opts] image_import_plugins: ${p}`)
  if (!plugins.includes('image_conversion')) return undefined
  const conversion = reader.section(conversionSection, 'image_conversion', IMAGE_CONVERSION_OPTIONS, ignored)
  const outputFormat = conversion.output_format as string
  if (!(OUTPUT_FORMATS as readonly string[]).includes(outputFormat)) {
    throw new ConfigError(`${where}: line ${reader.lineOf('image_conversion', 'output_format')}: [image_conversion] output_format must be one of ${OUTPUT_FORMATS.join(', ')}, not ${outputFormat}`)
  }
  return { outputFormat: outputFormat as OutputFormat }
}
