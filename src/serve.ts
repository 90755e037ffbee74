// Runs the API server until SIGTERM/SIGINT: what `glint serve` and `node dist/src/main.js` start.
import { availableParallelism, hostname } from 'node:os'
import { randomBytes } from 'node:crypto'

import { ConfigError, loadConfig } from './config/load.js'
import { createLogger } from './log.js'
import { connectionUse, openRegistry } from './registry/connect.js'
import { openReadCache } from './registry/read-cache.js'
import { createStores } from './stores/stores.js'
import { createHashers } from './stores/hashers.js'
import { fanOut } from './stores/fanout.js'
import { openImageCache } from './stores/image-cache.js'
import { authLayer } from './pipeline/auth.js'
import { keystoneClient, type KeystoneClient } from './keystone/client.js'
import { keystoneLimits } from './keystone/limits.js'
import { createNotifier } from './notifier/notifier.js'
import { createPolicy, PolicyFileError, type Policy } from './pipeline/policy/enforcer.js'
import { loadPropertyRules, PropertyProtectionError, type PropertyRules } from './pipeline/property-protection.js'
import type { Identity } from './identity.js'
import { startServer } from './http/app.js'
import { stalledWrites } from './http/stalled-writes.js'
import { routes } from './http/routes/index.js'
import type { AppContext } from './context.js'
import { startSweeper, type Gateway } from './recovery/sweep.js'
import { startImportTasks } from './pipeline/import-tasks.js'
import { watchRegistry } from './metrics/registry.js'
import { startMetricsServer, type MetricsServer } from './metrics/server.js'

/**
 * Glance's context.is_admin is the policy's `context_is_admin` rule, decided once per request;
 * the unauthenticated mode stays admin whatever the rules say, as Glance's does.
 */
function adminByPolicy<R extends Identity | Promise<Identity>> (authenticate: (headers: Record<string, string>) => R, policy: Policy, noauth: boolean): (headers: Record<string, string>) => R {
  if (noauth) return authenticate
  const decide = (identity: Identity): Identity => ({ ...identity, isAdmin: policy.isAdmin(identity) })
  return (headers) => {
    const identity = authenticate(headers)
    return (identity instanceof Promise ? identity.then(decide) : decide(identity as Identity)) as R
  }
}

export async function serve (configFile: string | undefined): Promise<void> {
  const log = createLogger()
  // The log is written in 4 KiB batches; a quiet server would otherwise hold its last lines
  // (an error, a recovery, a store read) until enough others follow.
  setInterval(() => log.flush(), 1000).unref()
  let config
  let policy: Policy
  let propertyRules: PropertyRules | undefined
  try {
    config = loadConfig(configFile)
    policy = createPolicy({ ...config.policy })
    const protection = config.propertyProtection
    if (protection.file !== undefined) propertyRules = loadPropertyRules(protection.file, protection.format)
  } catch (err) {
    if (err instanceof ConfigError || err instanceof PolicyFileError || err instanceof PropertyProtectionError) {
      process.stderr.write(`glint: ${err.message}\n`)
      process.exit(2)
    }
    throw err
  }
  if (config.debug && process.env.GLINT_LOG_LEVEL === undefined) log.level = 'debug'
  if (config.ignored.length > 0) log.warn({ options: config.ignored }, 'options Glint does not use were ignored')
  for (const notice of config.notices) log.warn(notice)

  const registry = await openRegistry({ url: config.databaseUrl, poolSize: config.dbPoolSize, dataDir: config.dataDir, queryTimeoutSec: config.dbQueryTimeoutSec })
  log.info({ mode: registry.mode, applied: registry.applied }, 'registry ready')
  const stores = createStores(config.stores, config.defaultStore, config.httpStore, config.staging)
  const hashers = createHashers(config.workers > 0 ? config.workers : availableParallelism())

  const notifier = createNotifier(config.notifier, log)
  const keystone: KeystoneClient | undefined = config.keystone === undefined
    ? undefined
    : keystoneClient({ ...config.keystone, timeoutMs: config.keystone.timeoutSec * 1000 })
  const gateway: Gateway = { id: `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`, leaseSeconds: config.uploadLeaseSec, uploads: new Set() }
  const ctx: AppContext = {
    config,
    gateway,
    sql: registry.sql,
    reads: registry.listener === undefined ? undefined : openReadCache(registry.listener, log),
    stores,
    hashers,
    downloads: fanOut(config.fanout, log),
    imageCache: config.imageCache === undefined ? undefined : openImageCache(config.imageCache, { sql: registry.sql, stores, log }),
    stalledWrites: stalledWrites(config.clientSocketTimeoutSec),
    log,
    keystone,
    limits: config.unifiedLimits === undefined
      ? undefined
      : keystoneLimits(keystoneClient({ ...config.unifiedLimits.credentials, timeoutMs: config.unifiedLimits.timeoutSec * 1000 }), config.unifiedLimits),
    notifier,
    authenticate: adminByPolicy(authLayer({
      mode: config.authMode,
      defaultProjectId: config.defaultProjectId,
      defaultUserId: config.defaultUserId,
      keystone: config.keystone === undefined
        ? undefined
        : {
            client: keystone!,
            wwwAuthenticateUri: config.keystone.wwwAuthenticateUri,
            cacheTimeSec: config.keystone.cacheTimeSec,
            cacheSize: config.keystone.cacheSize,
            includeServiceCatalog: config.keystone.includeServiceCatalog,
            log
          }
    }), policy, config.authMode === 'noauth'),
    policy,
    propertyRules
  }
  const sweeper = startSweeper({ sql: registry.sql, stores, log, gateway })
  const importTasks = startImportTasks(ctx)
  ctx.importTasks = importTasks
  const server = await startServer(ctx, routes)
  log.info({ host: config.bindHost, port: server.port, stores: stores.ids(), auth: config.authMode }, 'listening')
  let metrics: MetricsServer | undefined
  if (config.metrics !== undefined) {
    watchRegistry(registry.mode === 'postgres' ? config.dbPoolSize : 1,
      async () => registry.mode === 'postgres' ? await connectionUse(registry.sql) : [])
    metrics = await startMetricsServer(config.metrics.host, config.metrics.port)
    log.info({ host: config.metrics.host, port: metrics.port }, 'metrics at /metrics')
  }
  log.flush()

  // A bug in one request's promise chain must not take every other request down with it.
  process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection'))

  let stopping = false
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return
    stopping = true
    log.info({ signal }, 'stopping: draining requests in flight')
    await server.drain(config.shutdownTimeoutSec * 1000)
    sweeper.stop()
    importTasks.stop()
    await metrics?.close()
    await ctx.imageCache?.close()
    await notifier.flush(5000)
    await notifier.close()
    await ctx.reads?.close()
    await stores.close()
    await hashers.close()
    await registry.close()
    log.info('stopped')
    log.flush()
    setTimeout(() => process.exit(0), 50)
  }
  process.once('SIGTERM', () => { void stop('SIGTERM') })
  process.once('SIGINT', () => { void stop('SIGINT') })
}
