// Glance's unified limits (use_keystone_limits; glance/quota/keystone.py): a project's usage of
// each resource against its limit in Keystone (src/keystone/limits.ts), refused with Glance's
// 413 when usage + delta would be over it. The quota layer (quota.ts) and the copy-image task
// call enforceLimit where Glance calls enforce_image_*; GET /v2/info/usage reads projectUsage.
//
// Like Glance, a check reads the usage and compares, it reserves nothing: concurrent requests
// of one project can each pass and go over together (Glance's own tests say so).
//
// A resource's usage is one function of the registry (USAGE): image_stage_total counts images
// in `uploading`/`importing` and copies in progress, so a staging import method counts there
// once it records its images in those statuses.

import type { Sql } from 'postgres'
import type { AppContext } from '../context.js'
import { Errors } from '../errors.js'
import { imageCount, stagingUsage, storageUsage, uploadingCount } from '../registry/usage.js'

export const RESOURCES = ['image_size_total', 'image_stage_total', 'image_count_total', 'image_count_uploading'] as const
export type LimitedResource = typeof RESOURCES[number]

const MiB = 1024 * 1024

/** Each resource's usage for a project, as Glance counts it: sizes in whole MiB (floored), counts. */
export const USAGE: Record<LimitedResource, (sql: Sql, projectId: string) => Promise<number>> = {
  image_size_total: async (sql, projectId) => Math.floor(await storageUsage(sql, projectId) / MiB),
  image_stage_total: async (sql, projectId) => Math.floor(await stagingUsage(sql, projectId) / MiB),
  image_count_total: imageCount,
  image_count_uploading: uploadingCount
}

/** Image bytes as the deltas count them: whole MiB. */
export function mebibytes (bytes: number | null | undefined): number {
  return Math.floor((bytes ?? 0) / MiB)
}

async function usageOf (ctx: AppContext, resource: LimitedResource, projectId: string | null): Promise<number> {
  return projectId === null ? 0 : await USAGE[resource](ctx.sql, projectId)
}

/**
 * oslo.limit's Enforcer.enforce for one resource: over when usage + delta > limit. Does nothing
 * unless use_keystone_limits is on.
 */
export async function enforceLimit (ctx: AppContext, projectId: string | null, resource: LimitedResource, delta = 0): Promise<void> {
  if (ctx.limits === undefined) return
  const limit = (await ctx.limits.limitsOf(projectId, [resource])).get(resource)!
  const usage = await usageOf(ctx, resource, projectId)
  if (usage + delta > limit) {
    // oslo_limit.exception.ProjectOverLimit's words, a list of OverLimitInfo as Python prints it
    throw Errors.limitExceeded(`Project ${projectId ?? 'None'} is over a limit for ` +
      `[Resource ${resource} is over limit of ${limit} due to current usage ${usage} and delta ${delta}]`)
  }
}

/** GET /v2/info/usage's `usage`: each resource's limit and usage; {} without use_keystone_limits. */
export async function projectUsage (ctx: AppContext, projectId: string | null): Promise<Record<string, { usage: number, limit: number }>> {
  if (ctx.limits === undefined) return {}
  const limits = await ctx.limits.limitsOf(projectId, RESOURCES)
  const usages = await Promise.all(RESOURCES.map(async (r) => await usageOf(ctx, r, projectId)))
  return Object.fromEntries(RESOURCES.map((r, i) => [r, { usage: usages[i], limit: limits.get(r)! }]))
}
