import os from 'node:os'
import { isNumericType } from '../api/common/column-types.js'
import { LatheError } from '../api/common/errors.js'
import type { EngineContext } from '../context.js'
import { literal, quoteIdent, requireValidDatasetVersion, resolveDatasetVersion, withConnection } from '../data/index.js'
import { checkSplitSpec } from '../data/index.js'
import type { ResolvedDatasetVersion } from '../data/index.js'
import { appVersion } from '../system/index.js'
import { uuidv7 } from '../workspace/index.js'
import { TrainingQueue } from './queue.js'
import { getRun } from './store.js'
import { RunSpec, type FeatureColumn, type RunRecord, type RunSpecInput, type Task } from './types.js'

/**
 * Starting, waiting for and cancelling runs: the programmatic face of training, used
 * by the operations, the CLI, sweeps and monitoring's continuous training.
 */

/** The types training one-hot encodes (BOOLEAN among them); numeric ones follow the one rule in api/common. */
const CATEGORICAL = /^(VARCHAR|TEXT|STRING|BOOLEAN|BOOL|ENUM.*)$/i

export function columnKind(type: string): 'numeric' | 'categorical' | null {
  if (isNumericType(type)) return 'numeric'
  if (CATEGORICAL.test(type)) return 'categorical'
  return null
}

export function trainingQueue(ctx: EngineContext): TrainingQueue {
  return ctx.singleton('training.queue', () => {
    const queue = new TrainingQueue(ctx)
    ctx.onClose(() => queue.close())
    return queue
  })
}

/**
 * Starts the training service of an engine: its job queue, which first fails runs
 * left `running` by a dead engine and resumes `queued` ones. Every training operation
 * calls it; the engine may call it at open so that other capabilities never see a
 * stale `running` run. Idempotent.
 */
export function startTrainingService(ctx: EngineContext): void {
  trainingQueue(ctx)
}

/** A classification target with more distinct values than this is refused unless `allowManyClasses`. */
export const MAX_CLASSES = 100

const DATE_LIKE = /^(DATE|TIME|TIMESTAMP|TIMESTAMPTZ|TIMESTAMP[ _].*|TIME[ _].*|INTERVAL)$/i

/**
 * Guardrails on a classification target: a date or time is never a class (each day
 * would be one), and a column with more distinct values than MAX_CLASSES is most
 * likely a quantity or an id, refused unless the spec says `allowManyClasses`.
 */
async function checkClassificationTarget(ctx: EngineContext, spec: RunSpec, version: ResolvedDatasetVersion, targetType: string): Promise<void> {
  const where = `"${spec.target}" of ${version.name}@${version.version}`
  if (DATE_LIKE.test(targetType)) {
    throw new LatheError(
      'bad_request',
      `the target ${where} is ${targetType}: a date or time cannot be a classification target (each value would be a class). ` +
        'Predict a number derived from it with task regression, or derive a column with few values (e.g. year, month or weekday via `lathe data transform`) and train on that',
      { field: 'target' },
    )
  }
  const distinct = await withConnection(ctx, async (conn) => {
    const reader = await conn.runAndReadAll(`SELECT count(DISTINCT ${quoteIdent(spec.target)}) AS n FROM read_parquet(${literal(version.path)})`)
    return Number(reader.getRowObjectsJS()[0]!.n)
  })
  if (distinct > MAX_CLASSES && !spec.allowManyClasses) {
    throw new LatheError(
      'bad_request',
      `the target ${where} has ${distinct} distinct values, more than the ${MAX_CLASSES} classes a classification target may have. ` +
        (columnKind(targetType) === 'numeric' ? 'If it is a quantity, train with task regression; otherwise derive' : 'Derive') +
        ' a column with fewer values (buckets or groups, via `lathe data transform`) and train on that, ' +
        'or pass --allow-many-classes (allowManyClasses: true in the spec) to train on it as it is',
      { field: 'target' },
    )
  }
}

/** Resolves the dataset, checks the target and features, and infers the task. */
export async function planRun(ctx: EngineContext, spec: RunSpec): Promise<{ version: ResolvedDatasetVersion; task: Task; features: FeatureColumn[] }> {
  const version = requireValidDatasetVersion(resolveDatasetVersion(ctx, spec.dataset), spec.allowInvalidData)
  // A version pulled from the team server brings its Parquet now, before the worker reads it.
  await ctx.workspace.objects.ensure(version.objectSha256)
  const columns = new Map(version.columns.map((c) => [c.name, c.type]))
  const targetType = columns.get(spec.target)
  if (targetType === undefined) {
    throw new LatheError(
      'bad_request',
      `target "${spec.target}" is not a column of ${version.name}@${version.version} (columns: ${[...columns.keys()].join(', ')})`,
      { field: 'target' },
    )
  }
  const targetKind = columnKind(targetType)
  const task: Task = spec.task ?? (targetKind === 'numeric' ? 'regression' : 'classification')
  if (task === 'regression' && targetKind !== 'numeric') {
    throw new LatheError('bad_request', `regression needs a numeric target; "${spec.target}" is ${targetType}`, { field: 'task' })
  }
  for (const name of [...spec.exclude, ...(spec.features ?? [])]) {
    if (!columns.has(name)) {
      throw new LatheError('bad_request', `"${name}" is not a column of ${version.name}@${version.version}`, {
        field: spec.features?.includes(name) ? 'features' : 'exclude',
      })
    }
  }
  let features: FeatureColumn[]
  if (spec.features) {
    features = spec.features.map((name) => ({ name, kind: columnKind(columns.get(name)!) ?? 'categorical', sourceType: columns.get(name)! }))
  } else {
    // Dates and other non-tabular types are left out unless named: a date as a
    // category never generalizes, and a model cannot be served on it as a number.
    features = version.columns
      .filter((c) => c.name !== spec.target && !spec.exclude.includes(c.name) && columnKind(c.type) !== null)
      .map((c) => ({ name: c.name, kind: columnKind(c.type)!, sourceType: c.type }))
  }
  if (features.some((f) => f.name === spec.target)) {
    throw new LatheError('bad_request', `the target "${spec.target}" cannot also be a feature`, { field: 'features' })
  }
  if (features.length === 0) {
    throw new LatheError('bad_request', `no feature columns left to train on (target "${spec.target}", exclude: ${spec.exclude.join(', ') || 'none'})`, {
      field: 'features',
    })
  }
  checkSplitSpec(spec.split, version.columns)
  if (task === 'classification') await checkClassificationTarget(ctx, spec, version, targetType)
  return { version, task, features }
}

/** Queues a run; it starts as soon as the queue has room. */
export async function startRun(ctx: EngineContext, input: RunSpecInput | RunSpec): Promise<RunRecord> {
  const parsed = RunSpec.safeParse(input)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    throw new LatheError('bad_request', `bad run spec: ${issue.path.join('.') || 'spec'}: ${issue.message}`, {
      field: issue.path.join('.'),
    })
  }
  const spec = parsed.data
  const { version, task, features } = await planRun(ctx, spec)
  const record: RunRecord = {
    id: uuidv7(),
    status: 'queued',
    error: null,
    dataset: { name: version.name, version: version.version, versionId: version.versionId },
    split: spec.split,
    task,
    target: spec.target,
    features,
    modelFamily: spec.modelFamily,
    params: spec.modelFamily === 'linear' ? { ...spec.params, hidden: [], dropout: 0 } : spec.params,
    seed: spec.seed,
    requestedBackend: spec.backend,
    backend: null,
    appVersion: appVersion(),
    host: { hostname: os.hostname(), platform: os.platform(), arch: os.arch(), cpus: os.cpus().length, node: process.versions.node },
    createdAt: new Date().toISOString(),
    startedAt: null,
    finishedAt: null,
    epochsRun: 0,
    metrics: null,
    registerAs: spec.registerAs,
    sweepId: spec.sweepId,
    model: null,
    ...(spec.allowManyClasses ? { allowManyClasses: true } : {}),
  }
  return trainingQueue(ctx).enqueue(record)
}

/** The spec that reproduces a run, optionally on another dataset version (continuous training). */
export function specOfRun(run: RunRecord, overrides: Partial<RunSpecInput> = {}): RunSpecInput {
  return {
    dataset: `${run.dataset.name}@${run.dataset.version}`,
    target: run.target,
    task: run.task,
    features: run.features.map((f) => f.name),
    modelFamily: run.modelFamily,
    params: run.params,
    seed: run.seed,
    backend: run.requestedBackend as RunSpec['backend'],
    split: run.split,
    registerAs: run.registerAs,
    ...(run.allowManyClasses ? { allowManyClasses: true } : {}),
    ...overrides,
  }
}

const TERMINAL = new Set(['finished', 'failed', 'cancelled'])

/** Resolves with the run's record once it has finished, failed or been cancelled. */
export function waitForRun(ctx: EngineContext, runId: string, timeoutMs = 0): Promise<RunRecord> {
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | null = null
    const check = (): boolean => {
      const run = getRun(ctx.workspace.db, runId)
      if (!TERMINAL.has(run.status)) return false
      unsubscribe()
      if (timer) clearTimeout(timer)
      resolve(run)
      return true
    }
    const unsubscribe = ctx.events.subscribe(['training.status'], (event) => {
      if (event.payload.runId === runId) check()
    })
    try {
      if (check()) return
    } catch (error) {
      unsubscribe()
      reject(error)
      return
    }
    if (timeoutMs > 0) {
      timer = setTimeout(() => {
        unsubscribe()
        reject(new LatheError('unavailable', `run ${runId} did not end within ${timeoutMs} ms`))
      }, timeoutMs)
    }
  })
}

export function cancelRun(ctx: EngineContext, runId: string): Promise<RunRecord> {
  return trainingQueue(ctx).cancel(runId)
}
