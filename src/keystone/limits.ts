// Unified limits read from Keystone as oslo.limit's flat enforcer reads them (Glance's
// use_keystone_limits): the limits belong to the service and region of one endpoint of the
// catalog ([oslo_limit] endpoint_id, or found by service type/name, region and interface as
// oslo.limit 2.3+ does); for each resource a project's own limit wins over the registered
// (default) limit, and a resource with neither is limited to 0, so nothing of it is allowed.
//
// oslo.limit reads the limits again for every check (Glance makes an Enforcer per request);
// Glint keeps what it read for `cacheTimeSec` (0: reads every time, too), for at most
// `cacheSize` projects, and concurrent checks of one project share one read.

import { Errors } from '../errors.js'
import type { UnifiedLimitsConfig } from '../config/load.js'
import { KeystoneUnavailable, type KeystoneClient } from './client.js'

export interface LimitSource {
  /** The limit of each resource for the project (null: registered limits only, as oslo.limit for project_id None). */
  limitsOf: (projectId: string | null, resources: readonly string[]) => Promise<Map<string, number>>
}

interface Endpoint { serviceId: string, regionId: string | null }
interface Cached<T> { value: Promise<T>, until: number }

/** name -> limit, from Keystone's answer to /registered_limits or /limits */
type Limits = Map<string, number>

export function keystoneLimits (client: KeystoneClient, c: UnifiedLimitsConfig): LimitSource {
  const ttlMs = c.cacheTimeSec * 1000
  let endpoint: Promise<Endpoint> | undefined
  const registered = new Map<string, Cached<Limits>>()
  const projects = new Map<string, Cached<Limits>>()

  /** Keystone not answering is a 503; Keystone saying the configuration is wrong, a 500 (Glance's too). */
  async function ask (path: string): Promise<any> {
    try {
      return await client.get(path)
    } catch (err) {
      if (err instanceof KeystoneUnavailable && err.status === undefined) throw Errors.keystoneUnavailable()
      if (err instanceof KeystoneUnavailable) throw Errors.limitsMisconfigured(err.message)
      throw err
    }
  }

  async function findEndpoint (): Promise<Endpoint> {
    const model = (await ask('/limits/model')).model?.name
    if (model !== 'flat') throw Errors.limitsMisconfigured(`enforcement model ${String(model)} is not supported`)
    let found: any
    if (c.endpointId !== undefined) {
      found = (await ask(`/endpoints/${encodeURIComponent(c.endpointId)}`)).endpoint
    } else {
      const services: any[] = (await ask(`/services?${query({ type: c.endpointServiceType, name: c.endpointServiceName })}`)).services
      // Keystone filters services by type only; the name is matched here
      const matching = services.filter((s) => (c.endpointServiceName === undefined || s.name === c.endpointServiceName) &&
        (c.endpointServiceType === undefined || s.type === c.endpointServiceType))
      if (matching.length !== 1) throw Errors.limitsMisconfigured(matching.length === 0 ? 'Service not found' : 'Multiple services found')
      const endpoints: any[] = (await ask(`/endpoints?${query({ service_id: matching[0].id, interface: c.endpointInterface, region_id: c.endpointRegionName })}`)).endpoints
      if (endpoints.length !== 1) throw Errors.limitsMisconfigured(endpoints.length === 0 ? 'Endpoint not found' : 'Multiple endpoints found')
      found = endpoints[0]
    }
    return { serviceId: found.service_id, regionId: found.region_id ?? null }
  }

  /**
   * What `key` read, shared by every check within ttl (with ttl 0: by the checks already
   * waiting for it); a failed read is not kept. Bounded: the oldest read goes first.
   */
  function cached (store: Map<string, Cached<Limits>>, key: string, read: () => Promise<Limits>): Promise<Limits> {
    const now = Date.now()
    const entry = store.get(key)
    if (entry !== undefined && now < entry.until) return entry.value
    const fresh: Cached<Limits> = { value: read(), until: ttlMs === 0 ? Infinity : now + ttlMs }
    const forget = (): void => { if (store.get(key) === fresh) store.delete(key) }
    fresh.value.then(() => { if (ttlMs === 0) forget() }, forget)
    store.delete(key)
    if (store.size >= c.cacheSize) store.delete(store.keys().next().value as string)
    store.set(key, fresh)
    return fresh.value
  }

  async function read (kind: 'registered_limits' | 'limits', projectId?: string): Promise<Limits> {
    endpoint ??= findEndpoint().catch((err) => { endpoint = undefined; throw err })
    const { serviceId, regionId } = await endpoint
    const answer = await ask(`/${kind}?${query({ service_id: serviceId, region_id: regionId ?? undefined, project_id: projectId })}`)
    const limits: Limits = new Map()
    for (const l of answer[kind] as any[]) {
      // first one wins, as oslo.limit takes the first Keystone lists
      if (!limits.has(l.resource_name)) limits.set(l.resource_name, Number(kind === 'limits' ? l.resource_limit : l.default_limit))
    }
    return limits
  }

  return {
    async limitsOf (projectId, resources) {
      const [defaults, own] = await Promise.all([
        cached(registered, '', async () => await read('registered_limits')),
        projectId === null ? new Map<string, number>() : cached(projects, projectId, async () => await read('limits', projectId))
      ])
      return new Map(resources.map((name) => [name, own.get(name) ?? defaults.get(name) ?? 0]))
    }
  }
}

function query (params: Record<string, string | undefined>): string {
  return new URLSearchParams(Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined)).toString()
}
