import { z } from 'zod'
import { LatheError } from '../api/common/errors.js'
import type { EngineContext } from '../context.js'
import { appendAudit } from '../workspace/index.js'
import { deleteRunRows, getRun, updateRun } from './store.js'
import type { RunRecord } from './types.js'

const Tag = z
  .string()
  .trim()
  .min(1, 'a tag cannot be empty')
  .max(60, 'a tag has at most 60 characters')
  .regex(/^[\p{L}\p{N}_.:=/+ -]+$/u, 'a tag holds letters, digits, spaces and _ . : = / + - only')

export const RunEdit = z
  .object({
    run: z.string().min(1),
    /** An empty name removes it. */
    name: z.string().trim().max(100, 'a run name has at most 100 characters').optional(),
    tags: z.array(Tag).max(30, 'a run has at most 30 tags').optional(),
    notes: z.string().max(10_000, 'notes have at most 10,000 characters').optional(),
  })
  .strict()

/** Names, tags and notes: what a person adds to a run after the fact; the trained record stays as it was. */
export function editRun(ctx: EngineContext, edit: z.output<typeof RunEdit>): RunRecord {
  const db = ctx.workspace.db
  const next = db.transaction(() => {
    const before = getRun(db, edit.run)
    const change: Partial<RunRecord> = {}
    if (edit.name !== undefined) change.name = edit.name || undefined
    if (edit.tags !== undefined) change.tags = [...new Set(edit.tags)]
    if (edit.notes !== undefined) change.notes = edit.notes || undefined
    const after = updateRun(db, edit.run, change)
    appendAudit(db, {
      actor: ctx.actor,
      action: 'run.edit',
      entityType: 'run',
      entityId: edit.run,
      before: { name: before.name, tags: before.tags, notes: before.notes },
      after: { name: after.name, tags: after.tags, notes: after.notes },
    })
    return after
  })()
  ctx.events.emit('training.run.edited', { runId: next.id })
  return next
}

/**
 * Archives a run (or brings it back): it leaves the default list, and everything that
 * points at it (a model version's lineage) keeps pointing at it. Runs are never erased.
 */
export function archiveRun(ctx: EngineContext, runId: string, archived: boolean): RunRecord {
  const db = ctx.workspace.db
  const next = db.transaction(() => {
    const run = getRun(db, runId)
    if (archived && (run.status === 'queued' || run.status === 'running')) {
      throw new LatheError('conflict', `run ${runId} is ${run.status}: cancel it before archiving it`, { field: 'run' })
    }
    const after = updateRun(db, runId, { archivedAt: archived ? (run.archivedAt ?? new Date().toISOString()) : undefined })
    appendAudit(db, { actor: ctx.actor, action: archived ? 'run.archive' : 'run.restore', entityType: 'run', entityId: runId })
    return after
  })()
  ctx.events.emit('training.run.edited', { runId: next.id })
  return next
}

export const RunRemoval = z.object({
  run: z.string(),
  action: z.enum(['deleted', 'archived', 'none']),
  /** What deleting does to this run: erase it, or archive it because something refers to it. */
  plan: z.enum(['delete', 'archive']),
  dryRun: z.boolean(),
  /** What happens (or happened) and why, one sentence each. */
  reasons: z.array(z.string()),
  /** Model versions registered from the run. */
  versions: z.array(z.object({ model: z.string(), version: z.number().int() })),
})
export type RunRemoval = z.infer<typeof RunRemoval>

/**
 * Deletes a run nothing refers to (its record and metric series; its model objects stay
 * in the content-addressed store), or archives one that a model version was registered
 * from or a team server holds: lineage never points at nothing. `dryRun` says which.
 */
export async function deleteRun(ctx: EngineContext, runId: string, dryRun: boolean): Promise<RunRemoval> {
  const db = ctx.workspace.db
  const run = getRun(db, runId)
  if (run.status === 'queued' || run.status === 'running') {
    throw new LatheError('conflict', `run ${runId} is ${run.status}: cancel it before deleting it`, { field: 'run' })
  }
  // The registry sits above training: it is asked through the contract.
  const versions = (await ctx.call('registry.runs.versions', { run: runId })) as RunRemoval['versions']
  const rollback = new Error('dry run')
  let kept: string | null = null
  try {
    db.transaction(() => {
      deleteRunRows(db, runId)
      appendAudit(db, { actor: ctx.actor, action: 'run.delete', entityType: 'run', entityId: runId, before: { dataset: run.dataset, status: run.status } })
      if (dryRun) throw rollback
    })()
  } catch (error) {
    if (error !== rollback) {
      if (!(error instanceof Error && /kept for lineage/.test(error.message))) throw error
      kept = versions.length
        ? `model version${versions.length === 1 ? '' : 's'} ${versions.map((v) => `${v.model} v${v.version}`).join(', ')} ${versions.length === 1 ? 'was' : 'were'} registered from it`
        : 'it is on the team server'
    }
  }
  if (kept === null) {
    if (!dryRun) ctx.events.emit('training.run.edited', { runId })
    return {
      run: runId,
      action: dryRun ? 'none' : 'deleted',
      plan: 'delete',
      dryRun,
      reasons: ['nothing refers to this run: its record and metric series are erased'],
      versions,
    }
  }
  const reasons = [`${kept}: the run is archived (hidden from the list, kept for lineage), not deleted`]
  if (!dryRun && !run.archivedAt) archiveRun(ctx, runId, true)
  return { run: runId, action: dryRun ? 'none' : 'archived', plan: 'archive', dryRun, reasons, versions }
}
