import { randomUUID } from 'node:crypto'
import { isLatheError, LatheError } from '../api/common/errors.js'
import type { EngineContext } from '../context.js'
import { loadPipeline, type PipelineDefinition, type StageDefinition } from './definition.js'
import { keyOf, keyPartsOf, whatChanged, type KeyParts } from './keys.js'
import { isVolatile, runStage, StageFailure } from './stages.js'
import {
  cachedOutput,
  endStage,
  finishRun,
  getRun,
  insertRun,
  latestStageRuns,
  recordSkippedStage,
  setStageProgress,
  settleInterruptedRuns,
  startStage,
  unfinishedProgress,
} from './store.js'
import type { PipelineRun, PipelineStatus, RunGraphStage, StageOutput, StageStatus } from './types.js'

export interface RunRequest {
  file: string
  /** Stages to run even if their cache is current ("run from here" in the UI); what reads them follows by key. */
  force?: string[]
  trigger?: string
  cause?: string | null
}

/** The runs this engine is executing: a `running` row that is not here belongs to a dead process. */
function activeRuns(ctx: EngineContext): Map<string, { pipeline: string; done: Promise<PipelineRun> }> {
  return ctx.singleton('pipelines.active', () => {
    const active = new Map<string, { pipeline: string; done: Promise<PipelineRun> }>()
    ctx.onClose(async () => {
      // Training runs end when the engine closes; give the runs a moment to record that.
      let timer: NodeJS.Timeout | undefined
      await Promise.race([Promise.allSettled([...active.values()].map((a) => a.done)), new Promise((r) => (timer = setTimeout(r, 3000)))])
      clearTimeout(timer)
    })
    return active
  })
}

export function graphOf(pipeline: PipelineDefinition): RunGraphStage[] {
  return pipeline.stages.map((s) => ({ stage: s.name, kind: s.kind, needs: [...new Set(s.refs.map((r) => r.stage))], line: s.line }))
}

/**
 * Starts a run of a pipeline file and returns at once with its record; the stages
 * run in the background (`waitForPipelineRun` to follow it). The file is read and
 * checked first, so a malformed one is refused before anything is recorded.
 */
export function startPipelineRun(ctx: EngineContext, request: RunRequest): { run: PipelineRun; done: Promise<PipelineRun> } {
  const pipeline = loadPipeline(request.file)
  const force = request.force ?? []
  for (const name of force) {
    if (!pipeline.stages.some((s) => s.name === name)) {
      throw new LatheError(
        'bad_request',
        `--force ${name}: no stage of that name in ${pipeline.file} (stages: ${pipeline.stages.map((s) => s.name).join(', ')})`,
        {
          field: 'force',
        },
      )
    }
  }
  const active = activeRuns(ctx)
  const db = ctx.workspace.db
  settleInterruptedRuns(db, new Set(active.keys()))
  for (const [id, a] of active) {
    if (a.pipeline === pipeline.name)
      throw new LatheError('conflict', `pipeline ${pipeline.name} is already running (run ${id}); wait for it to end`, { field: 'file' })
  }
  const id = `pipe-${randomUUID().slice(0, 8)}`
  insertRun(db, {
    id,
    pipeline: pipeline.name,
    file: pipeline.file,
    trigger: request.trigger ?? 'api',
    cause: request.cause ?? null,
    forced: force,
    graph: graphOf(pipeline),
    actor: ctx.actor,
    startedAt: new Date().toISOString(),
  })
  ctx.events.emit('pipelines.run', { runId: id, pipeline: pipeline.name, status: 'running' })
  const done = executeRun(ctx, pipeline, id, new Set(force), request.cause ?? null).finally(() => active.delete(id))
  active.set(id, { pipeline: pipeline.name, done })
  return { run: getRun(db, id)!, done }
}

async function executeRun(ctx: EngineContext, pipeline: PipelineDefinition, runId: string, force: Set<string>, cause: string | null): Promise<PipelineRun> {
  const db = ctx.workspace.db
  const outputs = new Map<string, StageOutput>()
  const say = (stage: string, status: string, message: string, extra: { trainingRunId?: string } = {}) =>
    ctx.events.emit('pipelines.stage', { runId, pipeline: pipeline.name, stage, status, message, ...extra })
  let failure: { stage: string; error: string } | null = null
  for (const stage of pipeline.stages) {
    let parts: KeyParts
    try {
      parts = await keyPartsOf(pipeline, stage, outputs)
    } catch (error) {
      failure = { stage: stage.name, error: (error as Error).message }
      break
    }
    const key = keyOf(parts)
    const base = { stage: stage.name, kind: stage.kind, key }
    const cached = force.has(stage.name) || isVolatile(stage) ? null : cachedOutput(db, pipeline.name, stage.name, key)
    if (cached) {
      recordSkippedStage(db, runId, pipeline.name, base, cached)
      setStageDetail(ctx, runId, stage.name, { parts })
      outputs.set(stage.name, cached)
      say(stage.name, 'skipped', 'up to date')
      continue
    }
    const adopt = unfinishedProgress(db, pipeline.name, stage.name, key)
    startStage(db, runId, pipeline.name, base)
    say(stage.name, 'running', force.has(stage.name) ? 'forced' : 'running')
    try {
      const output = await runStage(
        {
          ctx,
          pipeline,
          runId,
          cause,
          upstream: outputs,
          adopt,
          started: (progress) => setStageProgress(db, runId, stage.name, progress),
          say: (message, extra) => say(stage.name, 'running', message, extra),
        },
        stage,
      )
      endStage(db, runId, stage.name, { status: 'ran', output, detail: { parts } })
      outputs.set(stage.name, output)
      say(stage.name, 'ran', summaryOf(output))
    } catch (error) {
      const message = isLatheError(error) || error instanceof StageFailure ? error.message : `internal error: ${(error as Error).stack ?? error}`
      const detail = error instanceof StageFailure ? error.detail : null
      endStage(db, runId, stage.name, { status: 'failed', error: message, detail: { parts, ...(detail ? { failure: detail } : {}) } })
      say(stage.name, 'failed', message)
      failure = { stage: stage.name, error: message }
      break
    }
  }
  finishRun(db, runId, failure ? { status: 'failed', failedStage: failure.stage, error: failure.error } : { status: 'passed', failedStage: null, error: null })
  ctx.events.emit('pipelines.run', { runId, pipeline: pipeline.name, status: failure ? 'failed' : 'passed' })
  return getRun(db, runId)!
}

function setStageDetail(ctx: EngineContext, runId: string, stage: string, detail: Record<string, unknown>): void {
  ctx.workspace.db.prepare('UPDATE pipeline_stage_runs SET detail_json = ? WHERE run_id = ? AND stage = ?').run(JSON.stringify(detail), runId, stage)
}

export function summaryOf(output: StageOutput): string {
  switch (output.type) {
    case 'dataset':
      return `${output.dataset}@${output.version} (${output.rows} rows)`
    case 'split':
      return `${output.dataset}@${output.version} split ${Object.entries(output.counts)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`
    case 'model':
      return output.model ? `${output.model} v${output.version} (run ${output.runId})` : `run ${output.runId}`
    case 'promotion':
      return output.previous === output.version
        ? `${output.model}:${output.alias} already v${output.version}`
        : `${output.model}:${output.alias} v${output.previous ?? '-'} -> v${output.version}`
    case 'drift':
      return `${output.datasetDrift ? 'DRIFT' : 'no drift'} (${output.driftedFeatures.length} features drifted, share ${output.driftShare.toFixed(2)})`
  }
}

/** Waits for a run this engine is executing, or reads a finished one. */
export async function waitForPipelineRun(ctx: EngineContext, runId: string, timeoutMs: number): Promise<PipelineRun> {
  const run = getRun(ctx.workspace.db, runId)
  if (!run) throw new LatheError('not_found', `no pipeline run ${runId}`, { field: 'run' })
  const active = activeRuns(ctx).get(runId)
  if (!active) return run
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), timeoutMs)))
  const result = await Promise.race([active.done, timeout])
  clearTimeout(timer)
  return result ?? getRun(ctx.workspace.db, runId)!
}

/**
 * Each stage up to date or stale, and why, without running anything: the same keys a
 * run computes, over the outputs the cache holds. A stage downstream of a stale one
 * is stale because of it.
 */
export async function pipelineStatus(ctx: EngineContext, file: string): Promise<PipelineStatus> {
  const pipeline = loadPipeline(file)
  const db = ctx.workspace.db
  const latest = latestStageRuns(db, pipeline.name)
  const outputs = new Map<string, StageOutput>()
  const stale = new Set<string>()
  const stages: StageStatus[] = []
  for (const stage of pipeline.stages) {
    const last = latest.get(stage.name) ?? null
    const lastInfo = last ? { status: last.status, runId: last.runId, at: last.finishedAt ?? last.startedAt, error: last.error } : null
    const needs = [...new Set(stage.refs.map((r) => r.stage))]
    const common = { stage: stage.name, kind: stage.kind, needs, line: stage.line, last: lastInfo }
    if (isVolatile(stage)) {
      const output = lastSuccessfulOutput(last)
      if (output) outputs.set(stage.name, output)
      stages.push({ ...common, state: 'always', reason: 'reads logged traffic: imported again on every run (same rows give the same version)', output })
      continue
    }
    const staleUpstream = needs.filter((n) => stale.has(n))
    if (staleUpstream.length) {
      stale.add(stage.name)
      stages.push({ ...common, state: 'stale', reason: `upstream ${staleUpstream.map((n) => `"${n}"`).join(', ')} stale`, output: lastSuccessfulOutput(last) })
      continue
    }
    const parts = await keyPartsOf(pipeline, stage, outputs)
    const cached = cachedOutput(db, pipeline.name, stage.name, keyOf(parts))
    if (cached) {
      outputs.set(stage.name, cached)
      stages.push({ ...common, state: 'up-to-date', reason: 'definition and inputs match a successful run', output: cached })
    } else {
      stale.add(stage.name)
      const before = (last?.detail as { parts?: KeyParts } | null)?.parts ?? null
      stages.push({ ...common, state: 'stale', reason: whatChanged(parts, before), output: lastSuccessfulOutput(last) })
    }
  }
  return { pipeline: pipeline.name, file: pipeline.file, upToDate: stages.every((s) => s.state !== 'stale'), stages }
}

function lastSuccessfulOutput(last: { status: string; output: StageOutput | null } | null): StageOutput | null {
  return last && (last.status === 'ran' || last.status === 'skipped') ? last.output : null
}

/** The graph, as the file says: stages in run order with what each reads. */
export function pipelineGraph(file: string): { pipeline: string; file: string; stages: Array<RunGraphStage & { summary: string }> } {
  const pipeline = loadPipeline(file)
  return {
    pipeline: pipeline.name,
    file: pipeline.file,
    stages: pipeline.stages.map((s, i) => ({ ...graphOf(pipeline)[i]!, summary: describeStage(s) })),
  }
}

function describeStage(stage: StageDefinition): string {
  const spec = stage.spec as Record<string, unknown>
  switch (stage.kind) {
    case 'import':
      return typeof spec.import === 'string' ? `import ${spec.import}${spec.rules ? ` (rules ${spec.rules})` : ''}` : `labelled traffic`
    case 'sql':
      return `sql: ${String(spec.sql).replace(/\s+/g, ' ').slice(0, 80)}`
    case 'promote': {
      const p = spec.promote as { model: string; alias: string }
      return `promote ${p.model} to ${p.alias}${spec.gate ? ' through its gate' : ''}`
    }
    default:
      return `${stage.kind}${spec.register ? ` -> register ${String(spec.register)}` : ''}`
  }
}
