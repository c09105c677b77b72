import { z } from 'zod'
import { LatheError } from '../api/common/errors.js'
import type { EngineContext } from '../context.js'
import { plainRows, withConnection } from './duck.js'
import { checkSplitSpec, splitSelectSql } from './splits.js'
import { findSplit, insertSplit, listSplits, type SplitRecord, type VersionRecord } from './store.js'
import { SplitSpec } from './types.js'

export const SplitView = z.object({
  dataset: z.string(),
  version: z.number(),
  name: z.string(),
  spec: SplitSpec,
  counts: z.object({ train: z.number(), validation: z.number(), test: z.number() }),
  createdAt: z.string(),
})
export type SplitView = z.infer<typeof SplitView>

function viewOf(record: VersionRecord, split: SplitRecord): SplitView {
  return {
    dataset: record.name,
    version: record.version,
    name: split.name,
    spec: SplitSpec.parse(split.spec),
    counts: { train: 0, validation: 0, test: 0, ...split.counts },
    createdAt: split.createdAt,
  }
}

/** Counts the rows of each part of a split of a version (the data itself is never copied). */
export async function countSplit(ctx: EngineContext, record: VersionRecord, spec: SplitSpec): Promise<Record<'train' | 'validation' | 'test', number>> {
  const sql = splitSelectSql(spec, await ctx.workspace.objects.ensure(record.objectSha256))
  const rows = await withConnection(ctx, async (connection) =>
    plainRows(await connection.runAndReadAll(`SELECT __split AS part, count(*) AS n FROM (${sql}) GROUP BY ALL`)),
  )
  const counts = { train: 0, validation: 0, test: 0 }
  for (const r of rows) counts[r.part as keyof typeof counts] = Number(r.n)
  return counts
}

/** Records a named split spec for a version. The same name with the same spec is a no-op. */
export async function createSplit(ctx: EngineContext, record: VersionRecord, name: string, spec: SplitSpec): Promise<SplitView> {
  checkSplitSpec(spec, record.columns)
  const existing = findSplit(ctx.workspace.db, record.id, name)
  if (existing) {
    if (JSON.stringify(SplitSpec.parse(existing.spec)) === JSON.stringify(spec)) return viewOf(record, existing)
    throw new LatheError('conflict', `${record.name}@${record.version} already has a split named "${name}" with a different spec; pick another name`, {
      field: 'name',
    })
  }
  const counts = await countSplit(ctx, record, spec)
  return viewOf(record, insertSplit(ctx.workspace.db, ctx.actor, { versionId: record.id, name, spec, counts }))
}

export function listSplitsOf(ctx: EngineContext, record: VersionRecord): SplitView[] {
  return listSplits(ctx.workspace.db, record.id).map((s) => viewOf(record, s))
}
