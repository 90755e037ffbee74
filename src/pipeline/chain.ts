// Glance's layer chain, one module a layer, around every image operation:
//
//   auth -> property protection -> notifier -> policy -> quota -> location -> registry
//
// Auth runs first, per request, before the chain (src/pipeline/auth.ts builds the Identity
// every layer reads). The rest are Layers in the interceptor shape (undici's
// `dispatch => (opts, handler) => ...`):
//
//   type Dispatch = (op: Operation) => Promise<unknown>
//   type Layer    = (next: Dispatch) => Dispatch
//
//   const someLayer: Layer = (next) => async (op) => {
//     switch (op.kind) {
//       case 'image.create': { check(op); const created = await next(op); react(created); return created }
//       default: return await next(op)          // kinds the layer has no business with pass through
//     }
//   }
//
// A layer does its own before-step, calls `next`, and may act on or transform what `next`
// returned; it undoes only what it itself started (one whose before-step threw has nothing to
// undo). Every operation is an object `{ kind, ctx, identity, requestId, ...fields }` (the
// `Ops` map below says which fields and what `next` resolves to). Operations on one image
// carry it as `image`, loaded by `targetImage(ctx, identity, id)` (index.ts; 404 when it does
// not exist or the caller may not see it) before `run(op)` hands it to the first layer, as
// Glance's controllers call image_repo.get first.
//
// 'image.upload' resolves an UploadSink (lifecycle.ts): layers wrap the sink to act per chunk,
// on finish and on abort. 'image.download' resolves the image whose data the HTTP layer
// streams, plus `sent(bytes)` to call when the response is complete: a layer that wants to
// know (the notifier: image.send) wraps it.
//
// The notifier slot: src/pipeline/notifier.ts exports `notifierLayer: Layer`. It sits between
// property protection and policy, so it sees only operations that policy will judge and
// results with protected properties still present (Glance's notifier proxy is inside the
// property-protection proxy too); it must never fail an operation and should emit after
// `await next(op)` resolves (and the `.error` events when it rejects). `ctx.notifier` is its
// transport, wired in main.ts.

import type { AppContext } from '../context.js'
import type { Identity } from '../identity.js'
import type { ImageChanges, ImageRecord, NewImage } from '../registry/images.js'
import type { MemberRecord } from '../registry/members.js'
import type { TaskQuery, TaskRow } from '../registry/tasks.js'
import type { ListQuery } from '../domain/list-query.js'
import type { PatchOp } from '../domain/json-patch.js'
import type { Store } from '../stores/stores.js'
import type { Upload, UploadLayer, UploadSink } from './lifecycle.js'
import type { RemoteCredentials } from './glance-download.js'

/** What a patch of /locations saves: the new list (if still on `expected`) and the columns it sets (status, size, hashes). */
export interface LocationSave { save: NonNullable<ImageChanges['locations']>, columns: Record<string, unknown> }

/**
 * A validated import body; the location layer resolves the stores (`stores` from
 * `storeHeader` / `all_stores`). The registry records it as a task that any gateway runs
 * (src/pipeline/import-tasks.ts): everything the work needs is in the task's input.
 */
export interface ImportRequest {
  method: string, body: Record<string, unknown>, storeHeader?: string, stores: string[], mustSucceed: boolean
  /** glance-download: the caller's token and the remote endpoint, recorded beside the task (never in its input) */
  credentials?: RemoteCredentials
}

/** Each operation's own fields, and what the innermost layer (the registry) resolves. */
export interface Ops {
  'image.create': { input: NewImage, result: ImageRecord }
  'image.show': { image: ImageRecord, result: ImageRecord }
  'image.list': { query: ListQuery, result: { images: ImageRecord[], next?: string } }
  /** `locations`: the location layer's plan of the patch's /locations changes, saved with the rest */
  'image.update': { image: ImageRecord, changes: PatchOp[], locations?: LocationSave, result: ImageRecord }
  'image.delete': { image: ImageRecord, result: void }
  'image.upload': { image: ImageRecord, upload: Upload, result: UploadSink }
  'image.download': { image: ImageRecord, result: { image: ImageRecord, sent: (bytes: number, err?: unknown) => void } }
  'image.deactivate': { image: ImageRecord, result: void }
  'image.reactivate': { image: ImageRecord, result: void }
  'image.import': { image: ImageRecord, request: ImportRequest, result: { task?: TaskRow } }
  'image.tasks': { image: ImageRecord, result: unknown[] }
  'tag.add': { image: ImageRecord, tag: string, limit?: number, result: void }
  'tag.delete': { image: ImageRecord, tag: string, result: void }
  'member.list': { image: ImageRecord, result: MemberRecord[] }
  'member.show': { image: ImageRecord, member: string, result: MemberRecord }
  'member.create': { image: ImageRecord, member: string, limit?: number, result: MemberRecord }
  'member.update': { image: ImageRecord, member: string, status: unknown, result: MemberRecord }
  'member.delete': { image: ImageRecord, member: string, result: void }
  /** the tasks API (GET /v2/tasks, /v2/tasks/{id}): `query.owner` is set by the registry for non-admins */
  'task.list': { query: TaskQuery, result: TaskRow[] }
  'task.show': { taskId: string, result: TaskRow }
  'store.delete': { image: ImageRecord, store: Store, result: void }
  'stores.detail': { result: void }
}

export type OpKind = keyof Ops

interface Common { readonly ctx: AppContext, readonly identity: Identity, readonly requestId: string }

export type Op<K extends OpKind> = Common & { kind: K } & Omit<Ops[K], 'result'>
export type Operation = { [K in OpKind]: Op<K> }[OpKind]

export type Dispatch = (op: Operation) => Promise<unknown>
export type Layer = (next: Dispatch) => Dispatch

/** layers[0] is outermost. */
export function compose (layers: Layer[], innermost: Dispatch): Dispatch {
  return layers.reduceRight<Dispatch>((next, layer) => layer(next), innermost)
}

/** The upload sub-protocol through a Layer: `step` wraps the rest of the chain for op.upload. */
export async function throughUpload (step: UploadLayer, next: Dispatch, op: Op<'image.upload'>): Promise<UploadSink> {
  return await step(async (upload) => await next({ ...op, upload }) as UploadSink)(op.upload)
}
