import { z } from 'zod'
import { LatheError } from '../api/common/errors.js'
import type { EngineContext } from '../context.js'
import { appendAudit } from '../workspace/index.js'
import { getRun, updateRun } from './store.js'
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
