import { LatheError } from '../api/common/errors.js'
import type { EngineContext } from '../context.js'
import { appendAudit } from '../workspace/index.js'
import { runGate } from './gates.js'
import { findVersion, requireModel } from './resolve.js'
import { appendAliasMove, getAlias, getGate, getVersion, getVersionById, listAliasMoves, setAlias, setGate, type VersionRow } from './store.js'
import { AliasName, GateConfig, PROTECTED_ALIASES, protectedGate, type GateResult, type PromoteResult } from './types.js'

export interface PromoteRequest {
  model: string
  /** A version number, or an alias whose version to promote (e.g. staging -> production). */
  version: number | string
  alias: string
  force?: boolean
  reason?: string
  /** What caused the move when it was not a person: an alert id from continuous training. */
  cause?: string
}

export function checkAlias(alias: string): string {
  const parsed = AliasName.safeParse(alias)
  if (!parsed.success) throw new LatheError('bad_request', `alias "${alias}": ${parsed.error.issues[0]!.message}`, { field: 'alias' })
  return alias
}

/**
 * The gate that applies to an alias: the stored one, else for a protected alias
 * (`production`) no worse than current on the primary metric, else the signature
 * and data checks.
 */
export function gateFor(ctx: EngineContext, model: string, alias: string): GateConfig {
  return getGate(ctx.workspace.db, requireModel(ctx, model).id, alias) ?? defaultGate(alias)
}

export function defaultGate(alias: string): GateConfig {
  return PROTECTED_ALIASES.includes(alias) ? protectedGate() : GateConfig.parse({})
}

export function configureGate(ctx: EngineContext, model: string, alias: string, config: GateConfig): GateConfig {
  checkAlias(alias)
  const db = ctx.workspace.db
  const row = requireModel(ctx, model)
  const before = getGate(db, row.id, alias)
  db.transaction(() => {
    setGate(db, row.id, alias, config, new Date().toISOString())
    appendAudit(db, { actor: ctx.actor, action: 'gate.set', entityType: 'model_gate', entityId: `${model}:${alias}`, before, after: config })
  }).immediate()
  return config
}

/** The checks a promotion would run, without moving anything: the UI shows them before confirming. */
export async function checkPromotion(
  ctx: EngineContext,
  request: Omit<PromoteRequest, 'force' | 'reason' | 'cause'>,
): Promise<{
  version: number
  previous: number | null
  gate: GateResult
}> {
  checkAlias(request.alias)
  const { model, row: candidate } = findVersion(ctx, request.model, String(request.version))
  const currentAlias = getAlias(ctx.workspace.db, model.id, request.alias)
  const current = currentAlias ? getVersionById(ctx.workspace.db, currentAlias.versionId) : null
  const gate = await runGate(ctx, candidate, current, gateFor(ctx, request.model, request.alias))
  return { version: candidate.version, previous: current?.version ?? null, gate }
}

/**
 * Moves an alias to a version if the alias's gate passes (or `force`). The gate runs
 * first, outside the transaction (it may re-evaluate models); the move then commits
 * only if the alias still holds what the gate compared against.
 */
export async function promote(ctx: EngineContext, request: PromoteRequest): Promise<PromoteResult> {
  checkAlias(request.alias)
  if (request.force && !request.reason?.trim()) {
    throw new LatheError('bad_request', 'a forced move needs a reason for the audit log (--reason "why")', { field: 'reason' })
  }
  const db = ctx.workspace.db
  const { model, row: candidate } = findVersion(ctx, request.model, String(request.version))
  if (candidate.archivedAt) {
    // Archived is retired: kept so the history stays whole, not to be served again (a rollback may still return to it).
    throw new LatheError(
      'conflict',
      `${model.name} v${candidate.version} is archived (kept for lineage since ${candidate.archivedAt}): promote another version`,
      {
        field: 'version',
      },
    )
  }
  const currentAlias = getAlias(db, model.id, request.alias)
  const current = currentAlias ? getVersionById(db, currentAlias.versionId) : null
  if (current?.versionId === candidate.versionId) {
    // Nothing moves, so nothing is recorded: a repeated promote must not add a step that rollback would then undo.
    const gate: GateResult = { passed: true, checks: [{ name: 'already there', passed: true, detail: `${request.alias} already holds v${candidate.version}` }] }
    return { model: model.name, alias: request.alias, version: candidate.version, previous: candidate.version, gate, forced: false }
  }
  const gate = await runGate(ctx, candidate, current, gateFor(ctx, request.model, request.alias))
  const forced = !gate.passed && request.force === true
  if (!gate.passed && !forced) {
    const failed = gate.checks.filter((c) => !c.passed).map((c) => `${c.name}: ${c.detail}`)
    throw new LatheError(
      'conflict',
      `gate refused moving ${request.model}:${request.alias} to v${candidate.version}: ${failed.join('; ')} (use --force to move it anyway)`,
      { field: 'gate', details: gate },
    )
  }
  moveAlias(ctx, {
    modelId: model.id,
    modelName: model.name,
    alias: request.alias,
    target: candidate,
    expectedCurrentId: current?.versionId ?? null,
    kind: 'promote',
    forced,
    gate,
    reason: request.reason ?? null,
    cause: request.cause ?? null,
  })
  return { model: model.name, alias: request.alias, version: candidate.version, previous: current?.version ?? null, gate, forced }
}

/**
 * Moves an alias back to the version it held before its latest promotion. History
 * behaves as a stack: promotions push, rollbacks pop, so rolling back twice walks
 * two steps back rather than toggling.
 */
export function rollback(ctx: EngineContext, request: { model: string; alias: string; reason?: string; cause?: string }): PromoteResult {
  checkAlias(request.alias)
  const db = ctx.workspace.db
  const model = requireModel(ctx, request.model)
  const stack: number[] = []
  for (const move of listAliasMoves(db, model.id, request.alias)) {
    if (move.kind === 'promote') stack.push(move.version)
    else stack.pop()
  }
  const current = getAlias(db, model.id, request.alias)
  if (!current) throw new LatheError('not_found', `model "${request.model}" has no alias "${request.alias}" to roll back`, { field: 'alias' })
  const targetNumber = stack.length >= 2 ? stack[stack.length - 2]! : null
  if (targetNumber === null) {
    throw new LatheError('conflict', `${request.model}:${request.alias} has no earlier version to roll back to (it has only ever held v${current.version})`, {
      field: 'alias',
    })
  }
  const target = getVersion(db, model.id, targetNumber)!
  const gate: GateResult = { passed: true, checks: [{ name: 'rollback', passed: true, detail: `back to v${targetNumber}, which the alias held before` }] }
  moveAlias(ctx, {
    modelId: model.id,
    modelName: model.name,
    alias: request.alias,
    target,
    expectedCurrentId: current.versionId,
    kind: 'rollback',
    forced: false,
    gate,
    reason: request.reason ?? null,
    cause: request.cause ?? null,
  })
  return { model: model.name, alias: request.alias, version: targetNumber, previous: current.version, gate, forced: false }
}

function moveAlias(
  ctx: EngineContext,
  move: {
    modelId: string
    modelName: string
    alias: string
    target: VersionRow
    expectedCurrentId: string | null
    kind: 'promote' | 'rollback'
    forced: boolean
    gate: GateResult
    reason: string | null
    cause: string | null
  },
): void {
  const db = ctx.workspace.db
  const now = new Date().toISOString()
  let previous: number | null = null
  db.transaction(() => {
    const held = getAlias(db, move.modelId, move.alias)
    if ((held?.versionId ?? null) !== move.expectedCurrentId) {
      throw new LatheError('conflict', `${move.modelName}:${move.alias} moved while its gate was running; try again`, { field: 'alias' })
    }
    previous = held?.version ?? null
    setAlias(db, move.modelId, move.alias, move.target.versionId, now)
    appendAliasMove(db, {
      modelId: move.modelId,
      alias: move.alias,
      versionId: move.target.versionId,
      previousVersionId: held?.versionId ?? null,
      kind: move.kind,
      forced: move.forced,
      gate: move.gate,
      reason: move.reason,
      cause: move.cause,
      time: now,
      actor: ctx.actor,
    })
    appendAudit(db, {
      actor: ctx.actor,
      action: move.forced ? `alias.${move.kind}.forced` : `alias.${move.kind}`,
      entityType: 'model_alias',
      entityId: `${move.modelName}:${move.alias}`,
      before: held ? { version: held.version, versionId: held.versionId } : null,
      after: { version: move.target.version, versionId: move.target.versionId, gate: move.gate },
      reason: [move.reason, move.cause ? `cause: ${move.cause}` : null].filter(Boolean).join('; ') || undefined,
    })
  }).immediate()
  // After the commit: a listener (serving's hot swap) must only ever see a move that happened.
  ctx.events.emit('registry.alias.moved', { model: move.modelName, alias: move.alias, version: move.target.version, previous })
}
