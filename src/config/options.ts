// The glance-api.conf options Glint understands, with Glance's defaults. Anything else in an
// operator's file is reported once at start and ignored, so an existing Glance config loads.

export type OptionType = 'string' | 'int' | 'bool' | 'size' | 'dict' | 'list'

export interface OptionSpec {
  type: OptionType
  default?: unknown
  min?: number
}

const TiB = 1024 ** 4

export const DEFAULT_OPTIONS: Record<string, OptionSpec> = {
  bind_host: { type: 'string', default: '127.0.0.1' },
  bind_port: { type: 'int', default: 9292, min: 0 },
  // Glance's API processes; in Glint the hasher threads (default: one per core)
  workers: { type: 'int', default: 0, min: 0 },
  image_size_cap: { type: 'int', default: TiB, min: 0 },
  user_storage_quota: { type: 'size', default: 0 },
  show_image_direct_url: { type: 'bool', default: false },
  show_multiple_locations: { type: 'bool', default: false },
  // which location is read first and is direct_url: location_order or store_type
  location_strategy: { type: 'string', default: 'location_order' },
  enabled_backends: { type: 'dict' },
  image_property_quota: { type: 'int', default: 128 },
  image_tag_quota: { type: 'int', default: 128 },
  image_member_quota: { type: 'int', default: 128 },
  image_location_quota: { type: 'int', default: 10 },
  limit_param_default: { type: 'int', default: 25, min: 1 },
  api_limit_max: { type: 'int', default: 1000, min: 1 },
  public_endpoint: { type: 'string' },
  hashing_algorithm: { type: 'string', default: 'sha512' },
  max_request_body_size: { type: 'int', default: 1024 * 1024, min: 1 },
  // notifications (oslo.messaging's and Glance's)
  transport_url: { type: 'string' },
  control_exchange: { type: 'string', default: 'glance' },
  default_publisher_id: { type: 'string', default: 'image.localhost' },
  disabled_notifications: { type: 'list', default: [] },
  // Glint's own: the project every request belongs to when nothing authenticates it.
  default_project_id: { type: 'string', default: 'admin' },
  default_user_id: { type: 'string', default: 'admin' },
  shutdown_timeout: { type: 'int', default: 30, min: 0 },
  client_socket_timeout: { type: 'int', default: 900, min: 0 },
  // Glint's own: how long an upload's claim on its image lasts unless its gateway renews it
  upload_lease_timeout: { type: 'int', default: 30, min: 1 },
  // Glint's own: the window of recent chunks concurrent downloads of one image share
  // (src/stores/fanout.ts), per read of an image and for all images together, in MiB
  fanout_window_mb: { type: 'int', default: 32, min: 1 },
  fanout_memory_mb: { type: 'int', default: 256, min: 1 },
  // Glint's own: Prometheus metrics on a listener of their own (off while metrics_port is unset)
  metrics_port: { type: 'int', min: 0 },
  metrics_host: { type: 'string' },
  // Glance's image cache (src/stores/image-cache.ts); on with flavor = ...+caching or +cachemanagement
  image_cache_dir: { type: 'string' },
  image_cache_max_size: { type: 'int', default: 10 * 1024 ** 3, min: 0 },
  image_cache_stall_time: { type: 'int', default: 86400, min: 1 },
  cache_prefetcher_interval: { type: 'int', default: 300, min: 1 },
  // the log level (Glint logs NDJSON to stdout; log_file, log_dir, use_syslog... are reported as not supported)
  debug: { type: 'bool', default: false },
  // Glance 25.1 refuses to start unless this equals [oslo_policy] enforce_new_defaults
  enforce_secure_rbac: { type: 'bool', default: false },
  property_protection_file: { type: 'string' },
  property_protection_rule_format: { type: 'string', default: 'roles' },
  // Glance's unified limits: image_size_total, image_stage_total, image_count_total and
  // image_count_uploading read from Keystone ([oslo_limit]); user_storage_quota then has no effect
  use_keystone_limits: { type: 'bool', default: false },
  // the import methods offered (/v2/info/import) and accepted; written as Glance's sample does,
  // [glance-direct,web-download,copy-image], brackets and quotes allowed
  enabled_import_methods: { type: 'list', default: ['glance-direct', 'web-download', 'copy-image'] }
}

/**
 * [glance_download_properties]: which of the source image's properties glance-download copies
 * (a property is copied when its name starts with one of these; Glance's default list).
 */
export const GLANCE_DOWNLOAD_PROPERTIES_OPTIONS: Record<string, OptionSpec> = {
  extra_properties: { type: 'list', default: ['hw_', 'trait:', 'os_distro', 'os_secure_boot', 'os_type'] }
}

// [task]: how long a finished import task is kept (hours)
export const TASK_OPTIONS: Record<string, OptionSpec> = {
  task_time_to_live: { type: 'int', default: 48, min: 0 }
}

/** [store_type_location_strategy]: read when location_strategy = store_type. */
export const STORE_TYPE_LOCATION_OPTIONS: Record<string, OptionSpec> = {
  store_type_preference: { type: 'list', default: [] }
}

/** [image_import_opts]: the import plugins Glance runs on staged data; Glint has image_conversion. */
export const IMAGE_IMPORT_OPTIONS: Record<string, OptionSpec> = {
  image_import_plugins: { type: 'list', default: [] }
}

/** What the image_conversion plugin may write (Glance's choices). */
export const OUTPUT_FORMATS = ['raw', 'qcow2', 'vmdk'] as const
export type OutputFormat = typeof OUTPUT_FORMATS[number]

/** [image_conversion]: read when image_conversion is among the import plugins. */
export const IMAGE_CONVERSION_OPTIONS: Record<string, OptionSpec> = {
  output_format: { type: 'string', default: 'raw' }
}

export const GLANCE_STORE_OPTIONS: Record<string, OptionSpec> = {
  default_backend: { type: 'string' }
}

/**
 * Glance's single-store form, when enabled_backends is not set: the store types loaded, the
 * one that receives uploads, and that store's options, all in [glance_store] (see
 * FILE_STORE_OPTIONS and RBD_STORE_OPTIONS).
 */
export const LEGACY_STORE_OPTIONS: Record<string, OptionSpec> = {
  stores: { type: 'list', default: ['file'] },
  default_store: { type: 'string', default: 'file' }
}

export const FILE_STORE_OPTIONS: Record<string, OptionSpec> = {
  filesystem_store_datadir: { type: 'string' },
  filesystem_store_chunk_size: { type: 'int', default: 4 * 1024 * 1024, min: 4096 },
  filesystem_thin_provisioning: { type: 'bool', default: false },
  // Glint's own: write uploads with O_DIRECT (src/workers/backends/direct-file.ts)
  filesystem_store_direct_io: { type: 'bool', default: true },
  store_description: { type: 'string' },
  weight: { type: 'int', default: 0 }
}

export const RBD_STORE_OPTIONS: Record<string, OptionSpec> = {
  rbd_store_pool: { type: 'string', default: 'images' },
  rbd_store_user: { type: 'string' },
  rbd_store_ceph_conf: { type: 'string', default: '' },
  rbd_store_keyring: { type: 'string' },
  rbd_store_chunk_size: { type: 'int', default: 8, min: 1 },
  rbd_thin_provisioning: { type: 'bool', default: false },
  rados_connect_timeout: { type: 'int', default: 0, min: 0 },
  rbd_store_writers: { type: 'int', default: 2, min: 1 },
  store_description: { type: 'string' },
  weight: { type: 'int', default: 0 }
}

export const DATABASE_OPTIONS: Record<string, OptionSpec> = {
  connection: { type: 'string' },
  max_pool_size: { type: 'int', default: 10, min: 1 },
  // Glint's own: PostgreSQL cancels any registry statement that runs longer (0: no limit)
  query_timeout: { type: 'int', default: 30, min: 0 }
}

/**
 * [import_filtering_opts]: which http(s) URLs Glint may fetch (http locations; Glance 25.1's
 * validate_uri, LP #2161330). Loopback and link-local addresses are refused unless the host is
 * in allowed_hosts; ports are lists of integers.
 */
export const IMPORT_FILTERING_OPTIONS: Record<string, OptionSpec> = {
  allowed_schemes: { type: 'list', default: ['http', 'https'] },
  disallowed_schemes: { type: 'list', default: [] },
  allowed_hosts: { type: 'list', default: [] },
  disallowed_hosts: { type: 'list', default: [] },
  allowed_ports: { type: 'list', default: ['80', '443'] },
  disallowed_ports: { type: 'list', default: [] }
}

export const IMAGE_FORMAT_OPTIONS: Record<string, OptionSpec> = {
  // Refuse uploads whose content is not the declared disk_format (Glance 2025.1+; true there too)
  require_image_format_match: { type: 'bool', default: true },
  vmdk_allowed_types: { type: 'list', default: ['streamOptimized', 'monolithicSparse'] }
}

/** oslo.middleware's sizelimit: its [DEFAULT] spelling (in DEFAULT_OPTIONS) is the deprecated one. */
export const OSLO_MIDDLEWARE_OPTIONS: Record<string, OptionSpec> = {
  max_request_body_size: { type: 'int', min: 1 }
}

export const PASTE_OPTIONS: Record<string, OptionSpec> = {
  flavor: { type: 'string' }
}

export const POLICY_OPTIONS: Record<string, OptionSpec> = {
  policy_file: { type: 'string', default: 'policy.yaml' },
  enforce_new_defaults: { type: 'bool', default: false },
  enforce_scope: { type: 'bool', default: false },
  policy_default_rule: { type: 'string', default: 'default' }
}

// [keystone_authtoken] as keystonemiddleware reads it (auth_type password). Options that
// only matter to keystonemiddleware's own plumbing are accepted so a Glance file loads.
// keystoneauth's password plugin: the user a section authenticates as ([keystone_authtoken]'s
// service user, [oslo_limit]'s reader of limits)
const PASSWORD_AUTH_OPTIONS: Record<string, OptionSpec> = {
  auth_url: { type: 'string' },
  username: { type: 'string' },
  password: { type: 'string' },
  user_domain_name: { type: 'string' },
  user_domain_id: { type: 'string' },
  project_name: { type: 'string' },
  project_id: { type: 'string' },
  project_domain_name: { type: 'string' },
  project_domain_id: { type: 'string' },
}

export const KEYSTONE_AUTHTOKEN_OPTIONS: Record<string, OptionSpec> = {
  ...PASSWORD_AUTH_OPTIONS,
  www_authenticate_uri: { type: 'string' },
  auth_uri: { type: 'string' },
  auth_type: { type: 'string', default: 'password' },
  auth_section: { type: 'string' },
  region_name: { type: 'string' },
  interface: { type: 'string', default: 'internal' },
  // seconds a validation is trusted (never past the token's expiry)
  token_cache_time: { type: 'int', default: 300, min: -1 },
  include_service_catalog: { type: 'bool', default: true },
  http_connect_timeout: { type: 'int', min: 1 },
  http_request_max_retries: { type: 'int', default: 3, min: 0 },
  delay_auth_decision: { type: 'bool', default: false },
  service_token_roles_required: { type: 'bool', default: false },
  service_token_roles: { type: 'list' },
  memcached_servers: { type: 'list' },
  memcache_security_strategy: { type: 'string' },
  memcache_secret_key: { type: 'string' },
  memcache_use_advanced_pool: { type: 'bool' },
  cafile: { type: 'string' },
  insecure: { type: 'bool', default: false },
  service_type: { type: 'string' },
  // Glint's own: how many validated tokens are kept
  token_cache_size: { type: 'int', default: 10000, min: 1 }
}

// [oslo_messaging_notifications] as oslo.messaging reads it
export const NOTIFICATIONS_OPTIONS: Record<string, OptionSpec> = {
  driver: { type: 'list', default: [] },
  transport_url: { type: 'string' },
  topics: { type: 'list', default: ['notifications'] }
  // retry is not honoured (Glint retries an unreachable broker forever, with backoff): reported
}

// [oslo_limit] as oslo.limit reads it: which endpoint's limits (endpoint_id, or oslo.limit
// 2.3's service lookup), and keystoneauth's password options for the user that reads them.
export const OSLO_LIMIT_OPTIONS: Record<string, OptionSpec> = {
  endpoint_id: { type: 'string' },
  endpoint_service_type: { type: 'string' },
  endpoint_service_name: { type: 'string' },
  endpoint_region_name: { type: 'string' },
  endpoint_interface: { type: 'string', default: 'publicURL' },
  ...PASSWORD_AUTH_OPTIONS,
  auth_type: { type: 'string' },
  system_scope: { type: 'string' },
  timeout: { type: 'int', min: 1 },
  // Glint's own: how long limits read from Keystone are used before they are read again (0:
  // every check reads them, as Glance does), and for how many projects they are kept
  limits_cache_time: { type: 'int', default: 5, min: 0 },
  limits_cache_size: { type: 'int', default: 1000, min: 1 }
}
