// The chain every image operation runs through (chain.ts explains the shape), and the
// lookup of the image an operation targets.

import type { AppContext } from '../context.js'
import type { GlintError } from '../errors.js'
import { Errors } from '../errors.js'
import type { Identity } from '../identity.js'
import { findImage, type ImageRecord } from '../registry/images.js'
import { compose, type Op, type OpKind, type Operation, type Ops } from './chain.js'
import { propertyProtectionLayer } from './property-protection.js'
import { notifierLayer } from './notifier.js'
import { policyLayer } from './policy.js'
import { quotaLayer } from './quota.js'
import { locationLayer } from './location.js'
import { registry } from './registry.js'


const dispatch = compose([propertyProtectionLayer, notifierLayer, policyLayer, quotaLayer, locationLayer], registry)

/** Runs one operation through every layer; resolves what the registry (as wrapped by the layers) returned. */
export async function run<K extends OpKind> (op: Op<K>): Promise<Ops[K]['result']> {
  return await dispatch(op as unknown as Operation) as Ops[K]['result']
}

/** The image `id`, if it exists and the caller may see it (Glance's image_repo.get); 404 otherwise. */
export async function targetImage (ctx: AppContext, identity: Identity, id: string,
  notFound: (id: string) => GlintError = Errors.imageNotFound): Promise<ImageRecord> {
  const image = await findImage(ctx.sql, id, identity)
  if (image === undefined) throw notFound(id)
  return image
}

/** targetImage for a read that changes nothing (show): from the read cache when there is one. */
export async function shownImage (ctx: AppContext, identity: Identity, id: string): Promise<ImageRecord> {
  if (ctx.reads === undefined) return await targetImage(ctx, identity, id)
  const found = await ctx.reads.get(`show\n${identity.isAdmin}\n${identity.projectId}\n${id}`,
    async () => ({ image: await findImage(ctx.sql, id, identity) }))
  const image = found.image
  if (image === undefined) throw Errors.imageNotFound(id)
  return image
}
