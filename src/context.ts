// What every handler is given: configuration, the registry, the stores and the logger.

import type { Logger } from 'pino'
import type { Sql } from 'postgres'
import type { Config } from './config/load.js'
import type { Authenticate } from './pipeline/auth.js'
import type { KeystoneClient } from './keystone/client.js'
import type { LimitSource } from './keystone/limits.js'
import type { Notifier } from './notifier/notifier.js'
import type { StoreSet } from './stores/stores.js'
import type { Hashers } from './stores/hashers.js'
import type { Downloads } from './stores/fanout.js'
import type { ImageCache } from './stores/image-cache.js'
import type { StalledWrites } from './http/stalled-writes.js'
import type { Policy } from './pipeline/policy/enforcer.js'
import type { PropertyRules } from './pipeline/property-protection.js'
import type { Gateway } from './recovery/sweep.js'
import type { ReadCache } from './registry/read-cache.js'

export interface AppContext {
  config: Config
  sql: Sql
  /** image reads (show, list) from memory while the registry is unchanged; undefined for the embedded registry */
  reads?: ReadCache
  stores: StoreSet
  hashers: Hashers
  /** image data out of the stores, concurrent downloads of one image sharing one read */
  downloads: Downloads
  /** the image cache, when it is on */
  imageCache?: ImageCache
  stalledWrites: StalledWrites
  log: Logger
  /** this process among the gateways sharing the registry (upload leases) */
  gateway: Gateway
  /** Keystone, when [paste_deploy] flavor = keystone (tokens, unified limits) */
  keystone?: KeystoneClient
  /** use_keystone_limits: the unified limits in Keystone ([oslo_limit]'s user reads them) */
  limits?: LimitSource
  /** Glance's notifications (src/notifier): ctx.notifier.info(eventType, payload); never throws */
  notifier: Notifier
  authenticate: Authenticate
  /** [oslo_policy]: enforce(identity, action, target) for every API action */
  policy: Policy
  /** property_protection_file's rules; undefined when none is configured */
  propertyRules?: PropertyRules
  /** this gateway's poller of import tasks (src/pipeline/import-tasks.ts): kick() looks for work now */
  importTasks?: { kick: () => void }
}
