import fs from 'node:fs'
import path from 'node:path'
import { z } from 'zod'
import { isLatheError, LatheError } from '../api/common/errors.js'
import type { EngineContext } from '../context.js'
import {
  createSplit,
  findDataset,
  findVersionRecord,
  ImportOptions,
  importDatasetFile,
  runTransform,
  setDatasetRules,
  SplitSpec,
  validateVersion,
  ValidationRule,
} from '../data/index.js'
import { computeDriftReport, datasetSource, labelledTrafficRows } from '../monitoring/index.js'
import { configureGate, gateFor, promote, registerRun } from '../registry/index.js'
import { getRun, startRun, startSweep, startTrainingService, sweepSummary, waitForRun, type RunRecord, type RunSpecInput } from '../training/index.js'
import type { PipelineDefinition, StageDefinition } from './definition.js'
import { gateConfigOf } from './gate-adapter.js'
import { canonicalJson, sha256 } from './hash.js'
import type { StageKind, StageSpecs, TrainSettings } from './stage-specs.js'
import type { StageOutput } from './types.js'

/**
 * What each stage kind does, through the other capabilities' front doors. Each
 * stage's own change is atomic where it lands (a dataset version, a registered
 * version, an alias move are each one transaction), so a failure leaves the
 * outputs of earlier stages and nothing of its own.
 */

export interface StageRunContext {
  ctx: EngineContext
  pipeline: PipelineDefinition
  runId: string
  /** The alert that caused this run, for promotions. */
  cause: string | null
  upstream: ReadonlyMap<string, StageOutput>
  /** What an interrupted attempt at the same key had started (a training run, a sweep), to adopt. */
  adopt: Record<string, string> | null
  /** Records what this stage started before waiting on it, so a kill does not lose it. */
  started(progress: Record<string, string>): void
  say(message: string, extra?: { trainingRunId?: string }): void
}

/** A stage that did not pass: the run stops here. `detail` holds the checks for people (gate, rules, drift). */
export class StageFailure extends Error {
  constructor(
    message: string,
    readonly detail: Record<string, unknown> | null = null,
  ) {
    super(message)
  }
}

export function datasetNameOf(pipeline: string, stage: string): string {
  return `${pipeline}.${stage}`
}

export async function runStage(run: StageRunContext, stage: StageDefinition): Promise<StageOutput> {
  switch (stage.kind) {
    case 'import':
      return importStage(run, stage as StageDefinition<'import'>)
    case 'sql':
      return sqlStage(run, stage as StageDefinition<'sql'>)
    case 'split':
      return splitStage(run, stage as StageDefinition<'split'>)
    case 'train':
      return trainStage(run, stage as StageDefinition<'train'>)
    case 'sweep':
      return sweepStage(run, stage as StageDefinition<'sweep'>)
    case 'promote':
      return promoteStage(run, stage as StageDefinition<'promote'>)
    case 'drift':
      return driftStage(run, stage as StageDefinition<'drift'>)
  }
}

/** A stage that reads logged traffic is checked on every run: its input is not a file to hash. */
export function isVolatile(stage: StageDefinition): boolean {
  return stage.kind === 'import' && 'model' in importSource(stage as StageDefinition<'import'>)
}

export function importSource(stage: StageDefinition<'import'>): { model: string; last?: number } | { file: string } {
  const spec = stage.spec
  if (typeof spec.import === 'object') return { model: spec.import.labelled_traffic, last: spec.import.last }
  if (spec.labelled_traffic) return { model: spec.labelled_traffic, last: spec.last }
  return { file: spec.import! }
}

const RulesFile = z.union([z.array(ValidationRule), z.object({ rules: z.array(ValidationRule) }).transform((r) => r.rules)])

/** The rules file's rules; null when there is no such file (rules are optional, and its later arrival makes the stage stale). */
function readRules(file: string): ValidationRule[] | null {
  if (!fs.existsSync(file)) return null
  let json: unknown
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'))
  } catch (error) {
    throw new LatheError('bad_request', `rules file ${file}: ${(error as Error).message}`, { field: 'rules' })
  }
  const parsed = RulesFile.safeParse(json)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    throw new LatheError(
      'bad_request',
      `rules file ${file}: ${issue.path.join('.') || 'rules'}: ${issue.message} (a JSON list of rules, as \`lathe data rules\` takes)`,
      {
        field: 'rules',
      },
    )
  }
  return parsed.data
}

async function importStage(run: StageRunContext, stage: StageDefinition<'import'>): Promise<StageOutput> {
  const { ctx } = run
  const name = datasetNameOf(run.pipeline.name, stage.name)
  const source = importSource(stage)
  if ('model' in source) {
    run.say(`labelled traffic of ${source.model}${source.last ? ` (last ${source.last} rows)` : ''}`)
    const out = await labelledTrafficRows(ctx, { model: source.model, last: source.last, name })
    return { type: 'dataset', id: out.versionId, dataset: out.dataset, version: out.version, rows: out.rows }
  }
  const file = path.resolve(run.pipeline.dir, source.file)
  const rules = stage.spec.rules ? readRules(path.resolve(run.pipeline.dir, stage.spec.rules)) : null
  if (stage.spec.rules && !rules) run.say(`${stage.spec.rules} not found: no rules checked`)
  const options = ImportOptions.safeParse(stage.spec.options ?? {})
  if (!options.success) throw new LatheError('bad_request', `options: ${options.error.issues[0]!.message}`, { field: 'options' })
  // Rules first when the dataset exists, so the import checks the new version against them.
  const existed = findDataset(ctx.workspace.db, name) !== null
  if (rules && existed) await setDatasetRules(ctx, name, rules)
  run.say(`importing ${path.relative(run.pipeline.dir, file)}`)
  const { record } = await importDatasetFile(ctx, { name, file, sourceName: path.basename(file), options: options.data })
  if (rules) {
    if (!existed) await setDatasetRules(ctx, name, rules)
    const validation = await validateVersion(ctx, record)
    if (validation.status === 'failed') {
      const failed = validation.results.filter((r) => !r.passed)
      throw new StageFailure(`${name}@${record.version} broke ${failed.length} rule(s): ${failed.map((r) => r.message).join('; ')}`, {
        rules: validation.results.map((r) => ({ passed: r.passed, message: r.message, failingRows: r.failingRows })),
      })
    }
  }
  return { type: 'dataset', id: record.id, dataset: record.name, version: record.version, rows: record.rows }
}

function datasetOf(run: StageRunContext, stage: string): Extract<StageOutput, { type: 'dataset' | 'split' }> {
  const out = run.upstream.get(stage)
  if (!out || (out.type !== 'dataset' && out.type !== 'split')) throw new Error(`stage ${stage} has no dataset output`)
  return out
}

async function sqlStage(run: StageRunContext, stage: StageDefinition<'sql'>): Promise<StageOutput> {
  const names = [...new Set(stage.refs.map((r) => r.stage))]
  // Earlier stages are tables by their names: CTEs over the exact versions they made.
  const ctes = names.map((n) => {
    const out = datasetOf(run, n)
    return `"${n}" AS (SELECT * FROM ${out.dataset}@${out.version})`
  })
  const body = stage.spec.sql.trim().replace(/;\s*$/, '')
  const sql = `${ctes.length ? `WITH ${ctes.join(', ')} ` : ''}SELECT * FROM (${body})`
  run.say('running the SQL')
  const { record } = await runTransform(run.ctx, datasetNameOf(run.pipeline.name, stage.name), sql)
  return { type: 'dataset', id: record.id, dataset: record.name, version: record.version, rows: record.rows }
}

async function splitStage(run: StageRunContext, stage: StageDefinition<'split'>): Promise<StageOutput> {
  const { dataset, ...settings } = stage.spec.split
  const source = datasetOf(run, dataset)
  const record = findVersionRecord(run.ctx, `${source.dataset}@${source.version}`)
  const spec = SplitSpec.parse(settings)
  const view = await createSplit(run.ctx, record, `${run.pipeline.name}.${stage.name}`, spec)
  return {
    type: 'split',
    id: sha256(record.id, canonicalJson(spec)),
    dataset: record.name,
    version: record.version,
    versionId: record.id,
    split: spec,
    counts: view.counts,
  }
}

function runSpecOf(run: StageRunContext, settings: TrainSettings): RunSpecInput {
  const source = datasetOf(run, settings.dataset)
  const split = source.type === 'split' ? source.split : settings.split
  const params: Record<string, unknown> = {}
  if (settings.epochs !== undefined) params.epochs = settings.epochs
  if (settings.hidden !== undefined) params.hidden = settings.hidden
  if (settings.activation !== undefined) params.activation = settings.activation
  if (settings.dropout !== undefined) params.dropout = settings.dropout
  if (settings.l2 !== undefined) params.l2 = settings.l2
  if (settings.optimizer !== undefined) params.optimizer = settings.optimizer
  if (settings.learning_rate !== undefined) params.learningRate = settings.learning_rate
  if (settings.batch_size !== undefined) params.batchSize = settings.batch_size
  if (settings.early_stopping !== undefined) params.earlyStopping = settings.early_stopping
  return {
    dataset: `${source.dataset}@${source.version}`,
    target: settings.target,
    ...(settings.task ? { task: settings.task } : {}),
    ...(settings.features ? { features: settings.features } : {}),
    exclude: settings.exclude ?? [],
    modelFamily: settings.model ?? 'mlp',
    params: params as RunSpecInput['params'],
    ...(settings.seed !== undefined ? { seed: settings.seed } : {}),
    ...(settings.backend ? { backend: settings.backend as RunSpecInput['backend'] } : {}),
    ...(split ? { split: split as RunSpecInput['split'] } : {}),
    registerAs: null,
    allowInvalidData: settings.allow_invalid_data ?? false,
    allowManyClasses: settings.allow_many_classes ?? false,
  }
}

function flatMetrics(run: RunRecord): Record<string, number> {
  const out: Record<string, number> = {}
  for (const part of ['validation', 'test'] as const) {
    for (const [name, value] of Object.entries(run.metrics?.[part] ?? {})) out[`${part}.${name}`] = value
  }
  return out
}

async function finishedRun(run: StageRunContext, runId: string): Promise<RunRecord> {
  run.say(`training run ${runId}`, { trainingRunId: runId })
  const finished = await waitForRun(run.ctx, runId)
  if (finished.status !== 'finished') throw new StageFailure(`training run ${runId} ${finished.status}${finished.error ? `: ${finished.error}` : ''}`)
  return finished
}

/** A finished run becomes a model output; with `register` its model becomes a version that names the pipeline. */
function modelOutput(run: StageRunContext, stage: StageDefinition<'train' | 'sweep'>, trained: RunRecord, sweepId: string | null): StageOutput {
  const register = (stage.spec as StageSpecs['train']).register
  if (!register)
    return { type: 'model', id: trained.id, runId: trained.id, sweepId, model: null, version: null, versionId: null, metrics: flatMetrics(trained) }
  const version = registerRun(run.ctx, trained.id, register, {
    pipeline: run.pipeline.name,
    'pipeline.run': run.runId,
    'pipeline.stage': stage.name,
    'pipeline.file': run.pipeline.file,
  })
  return {
    type: 'model',
    id: version.versionId,
    runId: trained.id,
    sweepId,
    model: version.model,
    version: version.version,
    versionId: version.versionId,
    metrics: version.metrics,
  }
}

async function trainStage(run: StageRunContext, stage: StageDefinition<'train'>): Promise<StageOutput> {
  const adopted = run.adopt?.runId ? adoptableRun(run, run.adopt.runId) : null
  const runId = adopted ?? (await startRun(run.ctx, runSpecOf(run, stage.spec.train))).id
  run.started({ runId })
  return modelOutput(run, stage, await finishedRun(run, runId), null)
}

/** An earlier attempt's run that finished (or may still) is used instead of training again. */
function adoptableRun(run: StageRunContext, runId: string): string | null {
  // The queue settles runs a dead engine left running (failed) and resumes queued ones.
  startTrainingService(run.ctx)
  try {
    const earlier = getRun(run.ctx.workspace.db, runId)
    return earlier.status === 'failed' || earlier.status === 'cancelled' ? null : earlier.id
  } catch (error) {
    if (isLatheError(error)) return null
    throw error
  }
}

async function sweepStage(run: StageRunContext, stage: StageDefinition<'sweep'>): Promise<StageOutput> {
  const { space, metric, method, trials, ...settings } = stage.spec.sweep
  let sweepId = run.adopt?.sweepId ?? null
  if (sweepId) {
    startTrainingService(run.ctx)
    const summary = sweepSummary(run.ctx, sweepId)
    if (summary.runs.some((r) => r.status === 'failed' || r.status === 'cancelled')) sweepId = null
  }
  if (!sweepId) {
    const base = runSpecOf(run, settings)
    const started = await startSweep(run.ctx, { base: base as never, space, metric, ...(method ? { method } : {}), ...(trials ? { trials } : {}) })
    sweepId = started.sweepId
  }
  run.started({ sweepId })
  const runs = sweepSummary(run.ctx, sweepId).runs
  for (const [i, child] of runs.entries()) {
    run.say(`sweep ${sweepId}: trial ${i + 1}/${runs.length}`, { trainingRunId: child.id })
    await waitForRun(run.ctx, child.id)
  }
  const summary = sweepSummary(run.ctx, sweepId)
  if (!summary.bestRunId) throw new StageFailure(`sweep ${sweepId}: no trial finished with a validation ${metric}`)
  return modelOutput(run, stage, getRun(run.ctx.workspace.db, summary.bestRunId), sweepId)
}

async function promoteStage(run: StageRunContext, stage: StageDefinition<'promote'>): Promise<StageOutput> {
  const { model: from, alias } = stage.spec.promote
  const candidate = run.upstream.get(from)
  if (candidate?.type !== 'model' || !candidate.model || candidate.version === null) {
    throw new StageFailure(`stage "${from}" registered no version to promote (give it \`register: MODEL\`)`)
  }
  if (stage.spec.gate) {
    const config = gateConfigOf(stage.spec.gate)
    // The file is the gate's source of truth for this alias; unchanged, it is not re-recorded.
    if (canonicalJson(gateFor(run.ctx, candidate.model, alias)) !== canonicalJson(config)) configureGate(run.ctx, candidate.model, alias, config)
  }
  run.say(`promoting ${candidate.model} v${candidate.version} to ${alias}`)
  try {
    const result = await promote(run.ctx, {
      model: candidate.model,
      version: candidate.version,
      alias,
      reason: `pipeline ${run.pipeline.name} (run ${run.runId}, stage ${stage.name})`,
      ...(run.cause ? { cause: run.cause } : {}),
    })
    return {
      type: 'promotion',
      id: `${candidate.model}:${alias}:${candidate.versionId}`,
      model: candidate.model,
      alias,
      version: result.version,
      previous: result.previous,
      gate: result.gate,
    }
  } catch (error) {
    const gate = isLatheError(error) && error.field === 'gate' ? error.details : null
    if (gate)
      throw new StageFailure(error instanceof Error ? error.message : String(error), { gate, model: candidate.model, version: candidate.version, alias })
    throw error
  }
}

async function driftStage(run: StageRunContext, stage: StageDefinition<'drift'>): Promise<StageOutput> {
  const { reference, current, features, drift_share: share, fail } = stage.spec.drift
  const refOut = datasetOf(run, reference)
  const curOut = datasetOf(run, current)
  const ref = `${refOut.dataset}@${refOut.version}`
  const cur = `${curOut.dataset}@${curOut.version}`
  run.say(`drift of ${cur} against ${ref}`)
  const conn = await run.ctx.workspace.monitor()
  const report = await computeDriftReport(conn, await datasetSource(run.ctx, ref), await datasetSource(run.ctx, cur), {
    ...(features ? { features: features.map((name) => ({ name })) } : {}),
    ...(share !== undefined ? { driftShareThreshold: share } : {}),
  })
  const drifted = report.features.filter((f) => f.drifted).map((f) => f.name)
  const output: StageOutput = {
    type: 'drift',
    id: sha256(refOut.id, curOut.id, String(report.dataset_drift)),
    reference: ref,
    current: cur,
    datasetDrift: report.dataset_drift,
    driftShare: report.drift_share,
    driftedFeatures: drifted,
  }
  if (report.dataset_drift && fail !== false) {
    throw new StageFailure(
      `${cur} drifted from ${ref}: ${drifted.length}/${report.features.length} features (${drifted.join(', ')}), share ${report.drift_share.toFixed(2)} >= ${report.drift_share_threshold}`,
      {
        drift: output,
        features: report.features.map((f) => ({ name: f.name, method: f.method, statistic: f.statistic, threshold: f.threshold, drifted: f.drifted })),
      },
    )
  }
  return output
}

export type { StageKind }
