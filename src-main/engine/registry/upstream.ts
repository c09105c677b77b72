import { LatheError } from '../api/common/errors.js'
import type { ModelSignature } from '../api/common/signature.js'
import type { EngineContext } from '../context.js'
import { classificationMetrics, higherIsBetter, regressionMetrics } from '../training/index.js'
import { getRun, listRuns } from '../training/index.js'
import type { Metrics } from './types.js'

/**
 * What the registry takes from training, in one place: a finished run's model and
 * numbers, and the metric functions training reports with (so a re-evaluation
 * speaks the same metric names as the run did).
 */
export interface FinishedRun {
  id: string
  model: { onnxSha256: string; signature: ModelSignature; preprocessing: unknown }
  /** Flattened: `validation.accuracy`, `test.accuracy`, ... */
  metrics: Metrics
  params: Record<string, unknown>
  dataset: { name: string; version: number; versionId: string }
  split: unknown
  backend: string | null
  registerAs: string | null
}

export function getFinishedRun(ctx: EngineContext, runId: string): FinishedRun {
  const run = getRun(ctx.workspace.db, runId)
  if (run.status !== 'finished' || !run.model) {
    throw new LatheError('conflict', `run ${runId} is ${run.status}${run.error ? ` (${run.error})` : ''}; only a finished run with a model can be registered`, {
      field: 'run',
    })
  }
  const metrics: Metrics = {}
  for (const part of ['validation', 'test'] as const) {
    for (const [name, value] of Object.entries(run.metrics?.[part] ?? {})) metrics[`${part}.${name}`] = value
  }
  return {
    id: run.id,
    model: run.model,
    metrics,
    params: { modelFamily: run.modelFamily, seed: run.seed, target: run.target, ...run.params },
    dataset: run.dataset,
    split: run.split,
    backend: run.backend ? `${run.backend.name}${run.backend.device ? ` (${run.backend.device})` : ''}` : null,
    registerAs: run.registerAs,
  }
}

/** Finished runs that asked to be registered (`registerAs`), oldest first. */
export function finishedRunsWithRegisterAs(ctx: EngineContext): Array<{ id: string; registerAs: string }> {
  return listRuns(ctx.workspace.db, { status: 'finished', limit: 100_000 })
    .filter((r) => r.registerAs && r.model)
    .reverse()
    .map((r) => ({ id: r.id, registerAs: r.registerAs! }))
}

/** A run's record for lineage, or null when it is not in this workspace (an imported package). */
export function runForLineage(ctx: EngineContext, runId: string): Record<string, unknown> | null {
  try {
    const run = getRun(ctx.workspace.db, runId)
    return {
      id: run.id,
      status: run.status,
      modelFamily: run.modelFamily,
      target: run.target,
      task: run.task,
      seed: run.seed,
      backend: run.backend?.name ?? null,
      createdAt: run.createdAt,
      finishedAt: run.finishedAt,
    }
  } catch (error) {
    if (error instanceof LatheError && error.code === 'not_found') return null
    throw error
  }
}

/**
 * Scores a classifier's probabilities [n, classes] against true labels with
 * training's metric functions. A true label the model never saw counts as a miss,
 * each such label a class of its own after the model's (sorted), as training scores it.
 */
export function scoreClassification(truth: unknown[], probabilities: ArrayLike<number>, classes: string[]): Metrics {
  const text = truth.map((v) => (v === null || v === undefined ? '' : String(v)))
  const known = new Set(classes)
  const unseen = [...new Set(text.filter((t) => !known.has(t)))].sort()
  const index = new Map([...classes, ...unseen].map((c, i) => [c, i]))
  const yTrue = Int32Array.from(text, (t) => index.get(t)!)
  return classificationMetrics(yTrue, probabilities, classes.length, classes.length + unseen.length).values
}

export function scoreRegression(truth: unknown[], predicted: ArrayLike<number>): Metrics {
  return regressionMetrics(
    Float64Array.from(truth, (v) => (v === null || v === undefined ? Number.NaN : Number(v))),
    predicted,
  )
}

/** Same rule as training's early stopping and sweeps; takes `test.accuracy` or `accuracy`. */
export function largerIsBetter(metric: string): boolean {
  return higherIsBetter(metric.slice(metric.lastIndexOf('.') + 1))
}
