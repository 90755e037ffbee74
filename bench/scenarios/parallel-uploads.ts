// Four uploads at once, two into each Ceph cluster: what a server does with several
// clusters' worth of I/O in flight. Aggregate MB/s = all bytes / wall time of the batch.

import { caseResult, type RunOutcome, type SubjectRecorder } from '../measure.js'
import { createImage, deleteImage } from '../clients/api.js'
import { uploadImage } from '../clients/curl.js'
import { rbdImageName, rbdImport, rbdRemove } from '../baselines/rbd.js'
import { MiB } from '../data-files.js'
import type { Target } from '../targets/target.js'
import { baselineRecorder, rotate, sizeLabel, storesUnderTest, targetRecorder, type Scenario, type StoreUnderTest } from './context.js'

const UPLOADS = 4

export const parallelUploads: Scenario = {
  name: 'parallel-uploads',
  title: (o) => `${UPLOADS} uploads at once over two Ceph clusters (${sizeLabel(o.parallelMiB)} each)`,
  description: () => `${UPLOADS} curl -T uploads started together, alternating ceph_a and ceph_b, chunked as python-glanceclient sends them; ` +
    'aggregate MB/s = total bytes / time until the last one finished.',
  async run (ctx) {
    const rbdStores = storesUnderTest(ctx).filter((s) => s.cluster !== undefined)
    const placement: StoreUnderTest[] = Array.from({ length: UPLOADS }, (_, i) => rbdStores[i % rbdStores.length])
    const bytes = ctx.opts.parallelMiB * MiB
    const targets = ([['glint', ctx.glint], ['glance', ctx.glance]] as const).map(([role, slot]) => ({
      target: slot.target,
      recorder: targetRecorder(ctx, slot, role, rbdStores)
    }))
    const clusters = rbdStores.map((s) => s.cluster!)
    const baseline = baselineRecorder(ctx, `${UPLOADS} x rbd import at once`, { clusters })
    const recorders: SubjectRecorder[] = [...targets.map((t) => t.recorder), baseline]
    if (rbdStores.length < 2) for (const r of recorders) r.skip('needs two Ceph clusters configured')
    if (recorders.every((r) => r.skipped)) {
      return [caseResult('parallel-uploads', `${UPLOADS} x ${sizeLabel(ctx.opts.parallelMiB)} -> ceph_a, ceph_b`, 'MB/s', recorders)]
    }

    const file = await ctx.files.ensure(ctx.opts.parallelMiB)
    for (let run = 0; run < ctx.opts.runs; run++) {
      ctx.log(`parallel uploads: run ${run + 1} of ${ctx.opts.runs}`)
      for (const t of rotate(targets, run)) await uploadBatch(t.target, t.recorder, placement, file, bytes)
      if (!baseline.skipped) {
        const names = placement.map(() => rbdImageName())
        await baseline.run(async () => await aggregate(bytes, placement.map((s, i) => async () => await rbdImport(s.cluster!, file, bytes, names[i]))))
        for (const [i, name] of names.entries()) await rbdRemove(placement[i].cluster!, name)
      }
    }
    return [caseResult('parallel-uploads', `${UPLOADS} x ${sizeLabel(ctx.opts.parallelMiB)} -> ${rbdStores.map((s) => s.id).join(', ')}`, 'MB/s', recorders)]
  }
}

async function uploadBatch (target: Target | undefined, recorder: SubjectRecorder, placement: StoreUnderTest[], file: string, bytes: number): Promise<void> {
  if (target === undefined || recorder.skipped) return
  const ids: string[] = []
  try {
    await recorder.run(async () => {
      for (const _ of placement) ids.push(await createImage(target.url, 'bench-parallel'))
      return await aggregate(bytes, placement.map((s, i) => async () => await uploadImage(target.url, ids[i], s.id, file, bytes, 'chunked')))
    })
  } finally {
    for (const id of ids) await deleteImage(target.url, id)
  }
}

/** Starts every transfer at once; the rate is all bytes over the time the last one took. */
async function aggregate (bytes: number, transfers: Array<() => Promise<RunOutcome>>): Promise<RunOutcome> {
  const started = performance.now()
  const settled = await Promise.allSettled(transfers.map(async (t) => await t()))
  const seconds = (performance.now() - started) / 1000
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected')
  if (failed !== undefined) throw failed.reason
  const outcomes = settled.map((s) => (s as PromiseFulfilledResult<RunOutcome>).value)
  const usage = outcomes.every((o) => o.usage !== undefined)
    ? { cpuSeconds: outcomes.reduce((a, o) => a + o.usage!.cpuSeconds, 0), peakRssMiB: outcomes.reduce((a, o) => a + o.usage!.peakRssMiB, 0) }
    : undefined
  return { value: bytes * transfers.length / seconds / 1e6, usage }
}
