import { z } from 'zod'
import { LatheError } from '../api/common/errors.js'
import type { EngineContext } from '../context.js'
import { appendAudit } from '../workspace/index.js'
import { findVersion, requireModel } from './resolve.js'
import {
  aliasesOfVersion,
  archivedAtOfModel,
  countAliasMovesOfVersion,
  deleteModelRow,
  deleteVersionRow,
  listAliases,
  listVersions,
  restoreModelRow,
  setModelArchived,
  setVersionArchived,
  versionsByRun,
  type ModelRow,
  type VersionRow,
} from './store.js'

/**
 * Deleting or archiving models and versions. What depends on the thing decides:
 * - **blocked**: an alias holds it, a deployment serves it, or (for a model) a monitor
 *   watches it. Those are live; the person moves or removes them first.
 * - **archive**: lineage refers to it (alias history: it was promoted, maybe served and
 *   monitored) or a team server has it. It stays, marked archived.
 * - **delete**: nothing refers to it; it is erased.
 * The same plan answers a dry run, so the confirmation says what will happen and why.
 */

export const Dependents = z.object({
  action: z.enum(['delete', 'archive', 'blocked']),
  /** Why the action is what it is, one sentence each. */
  reasons: z.array(z.string()),
  aliases: z.array(z.object({ alias: z.string(), version: z.number().int() })),
  deployments: z.array(z.object({ model: z.string(), selector: z.string(), version: z.number().int().nullable() })),
  monitors: z.array(z.object({ id: z.string(), name: z.string() })),
  aliasMoves: z.number().int(),
  versions: z.array(z.number().int()),
})
export type Dependents = z.infer<typeof Dependents>

export const RemovalResult = z.object({
  action: z.enum(['deleted', 'archived', 'none']),
  dryRun: z.boolean(),
  dependents: Dependents,
})
export type RemovalResult = z.infer<typeof RemovalResult>

interface Live {
  deployments: Dependents['deployments']
  monitors: Dependents['monitors']
}

/** Deployments and monitors of a model: serving and monitoring sit above the registry, so they are asked through the contract. */
async function liveUsers(ctx: EngineContext, model: string): Promise<Live> {
  const status = (await ctx.call('serving.status', {})) as { deployments: Array<{ model: string; selector: string; version: number | null }> }
  const monitors = (await ctx.call('monitoring.monitors.list', { model })) as Array<{ id: string; name: string }>
  return {
    deployments: status.deployments.filter((d) => d.model === model).map((d) => ({ model: d.model, selector: d.selector, version: d.version })),
    monitors: monitors.map((m) => ({ id: m.id, name: m.name })),
  }
}

/** Whether the schema lets these rows go (its triggers know about sync too): tried in a transaction that always rolls back. */
function deletable(ctx: EngineContext, erase: () => void): boolean {
  const rollback = new Error('dry run')
  try {
    ctx.workspace.db.transaction(() => {
      erase()
      throw rollback
    })()
  } catch (error) {
    if (error === rollback) return true
    if (error instanceof Error && /kept for lineage/.test(error.message)) return false
    throw error
  }
  return true
}

function planVersion(ctx: EngineContext, model: ModelRow, row: VersionRow, live: Live): Dependents {
  const db = ctx.workspace.db
  const aliases = aliasesOfVersion(db, row.versionId).map((alias) => ({ alias, version: row.version }))
  const deployments = live.deployments.filter((d) => d.selector === String(row.version) || aliases.some((a) => a.alias === d.selector))
  const aliasMoves = countAliasMovesOfVersion(db, row.versionId)
  const reasons: string[] = []
  for (const a of aliases) reasons.push(`alias ${a.alias} holds ${model.name} v${row.version}: promote another version to ${a.alias} first`)
  for (const d of deployments)
    reasons.push(`the endpoint serves ${model.name} v${row.version} (deployed as ${model.name}:${d.selector}): undeploy it or move the alias first`)
  if (reasons.length) return { action: 'blocked', reasons, aliases, deployments, monitors: live.monitors, aliasMoves, versions: [row.version] }
  if (aliasMoves > 0)
    reasons.push(
      `v${row.version} has ${aliasMoves} alias move${aliasMoves === 1 ? '' : 's'} in its history (it was promoted): it is archived, not erased, so the history stays whole`,
    )
  else if (!deletable(ctx, () => deleteVersionRow(db, row.versionId))) reasons.push(`v${row.version} is on the team server: it is archived, not erased`)
  if (reasons.length) return { action: 'archive', reasons, aliases, deployments, monitors: live.monitors, aliasMoves, versions: [row.version] }
  return {
    action: 'delete',
    reasons: [`nothing refers to ${model.name} v${row.version}: no alias holds it or ever did, nothing serves it`],
    aliases,
    deployments,
    monitors: live.monitors,
    aliasMoves,
    versions: [row.version],
  }
}

export async function removeVersion(ctx: EngineContext, modelName: string, selector: string, dryRun: boolean): Promise<RemovalResult> {
  const { model, row } = findVersion(ctx, modelName, selector)
  if (!/^\d+$/.test(selector)) throw new LatheError('bad_request', `name the version by its number (v${row.version}), not by an alias`, { field: 'version' })
  const live = await liveUsers(ctx, model.name)
  const db = ctx.workspace.db
  const plan = planVersion(ctx, model, row, live)
  if (dryRun || plan.action === 'blocked') return blockedOrPlan(plan, dryRun, `${model.name} v${row.version}`)
  db.transaction(() => {
    if (plan.action === 'delete') deleteVersionRow(db, row.versionId)
    else setVersionArchived(db, row.versionId, new Date().toISOString())
    appendAudit(db, {
      actor: ctx.actor,
      action: plan.action === 'delete' ? 'version.delete' : 'version.archive',
      entityType: 'model_version',
      entityId: `${model.name}@${row.version}`,
      before: { model: model.name, version: row.version, onnxSha256: row.onnxSha256, runId: row.runId },
      reason: plan.reasons.join('; '),
    })
  })()
  const action = plan.action === 'delete' ? 'deleted' : 'archived'
  ctx.events.emit('registry.removed', { model: model.name, version: row.version, action })
  return { action, dryRun: false, dependents: plan }
}

export async function removeModel(ctx: EngineContext, modelName: string, dryRun: boolean): Promise<RemovalResult> {
  const model = requireModel(ctx, modelName)
  const db = ctx.workspace.db
  const live = await liveUsers(ctx, model.name)
  const versions = listVersions(db, model.id)
  const aliases = listAliases(db, model.id).map((a) => ({ alias: a.alias, version: a.version }))
  const reasons: string[] = []
  for (const a of aliases) reasons.push(`alias ${a.alias} holds v${a.version}`)
  for (const d of live.deployments) reasons.push(`the endpoint serves ${model.name}:${d.selector}: undeploy it first`)
  for (const m of live.monitors) reasons.push(`monitor ${m.name} watches ${model.name}: remove it first`)
  const aliasMoves = versions.reduce((n, v) => n + countAliasMovesOfVersion(db, v.versionId), 0)
  const base = { aliases, deployments: live.deployments, monitors: live.monitors, aliasMoves, versions: versions.map((v) => v.version) }
  let plan: Dependents
  if (reasons.length) {
    plan = { action: 'blocked', reasons: reasons.map((r) => `${r}.`), ...base }
  } else {
    const erase = () => {
      for (const v of versions) deleteVersionRow(db, v.versionId)
      deleteModelRow(db, model.id)
    }
    const kept = aliasMoves > 0 || !deletable(ctx, erase)
    plan = kept
      ? {
          action: 'archive',
          reasons: [
            aliasMoves > 0
              ? `${model.name} has ${aliasMoves} alias move${aliasMoves === 1 ? '' : 's'} in its history: it and its ${versions.length} version${versions.length === 1 ? '' : 's'} are archived, not erased, so the history stays whole`
              : `${model.name} is on the team server: it is archived, not erased`,
          ],
          ...base,
        }
      : { action: 'delete', reasons: [`nothing refers to ${model.name} or its ${versions.length} version${versions.length === 1 ? '' : 's'}`], ...base }
    if (!dryRun) {
      db.transaction(() => {
        if (plan.action === 'delete') erase()
        else setModelArchived(db, model.id, new Date().toISOString())
        appendAudit(db, {
          actor: ctx.actor,
          action: plan.action === 'delete' ? 'model.delete' : 'model.archive',
          entityType: 'model',
          entityId: model.name,
          before: { name: model.name, versions: versions.map((v) => v.version) },
          reason: plan.reasons.join('; '),
        })
      })()
    }
  }
  if (dryRun || plan.action === 'blocked') return blockedOrPlan(plan, dryRun, model.name)
  const action = plan.action === 'delete' ? 'deleted' : 'archived'
  ctx.events.emit('registry.removed', { model: model.name, version: null, action })
  return { action, dryRun: false, dependents: plan }
}

function blockedOrPlan(plan: Dependents, dryRun: boolean, what: string): RemovalResult {
  if (plan.action === 'blocked' && !dryRun) {
    throw new LatheError('conflict', `${what} cannot be deleted or archived now: ${plan.reasons.join('; ')}`, { details: plan })
  }
  return { action: 'none', dryRun, dependents: plan }
}

/** The model versions registered from a run: a run with any is archived, never deleted. */
export function versionsFromRun(ctx: EngineContext, runId: string): Array<{ model: string; version: number }> {
  return versionsByRun(ctx.workspace.db, runId).map((v) => ({ model: v.model, version: v.version }))
}

/** Brings an archived version (or a model, with the versions archived with it) back; audited. */
export function restoreArchived(ctx: EngineContext, modelName: string, version?: string): { model: string; version: number | null; restored: boolean } {
  const db = ctx.workspace.db
  if (version === undefined) {
    const model = requireModel(ctx, modelName)
    const was = archivedAtOfModel(db, model.id)
    if (!was) return { model: model.name, version: null, restored: false }
    db.transaction(() => {
      restoreModelRow(db, model.id)
      appendAudit(db, { actor: ctx.actor, action: 'model.restore', entityType: 'model', entityId: model.name, before: { archivedAt: was } })
    })()
    return { model: model.name, version: null, restored: true }
  }
  const { model, row } = findVersion(ctx, modelName, version)
  if (!row.archivedAt) return { model: model.name, version: row.version, restored: false }
  if (archivedAtOfModel(db, model.id)) {
    throw new LatheError('conflict', `model ${model.name} is archived: restore the model first (lathe models restore ${model.name})`, { field: 'model' })
  }
  db.transaction(() => {
    setVersionArchived(db, row.versionId, null)
    appendAudit(db, {
      actor: ctx.actor,
      action: 'version.restore',
      entityType: 'model_version',
      entityId: `${model.name}@${row.version}`,
      before: { archivedAt: row.archivedAt },
    })
  })()
  return { model: model.name, version: row.version, restored: true }
}
