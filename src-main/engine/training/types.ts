import { z } from 'zod'
import { ModelSignature } from '../api/common/signature.js'
import { SplitSpec } from '../data/index.js'
import { backendNames } from './backends.js'

/**
 * What a run is and what it recorded. Shared with the registry (auto-registration,
 * lineage, gates), monitoring (continuous training, quality) and the UI.
 */
export const RunStatus = z.enum(['queued', 'running', 'finished', 'failed', 'cancelled'])
export type RunStatus = z.infer<typeof RunStatus>

export const ModelFamily = z.enum(['mlp', 'linear'])
export type ModelFamily = z.infer<typeof ModelFamily>

export const Task = z.enum(['classification', 'regression'])
export type Task = z.infer<typeof Task>

/** Metric a run can stop early on or a sweep can rank by; `loss` is the validation loss. */
export const EarlyStopping = z.object({
  metric: z.string().default('loss'),
  patience: z.number().int().min(1).default(5),
})

export const TrainParams = z
  .object({
    /** Hidden layer widths; ignored (no hidden layers) for `linear`. */
    hidden: z.array(z.number().int().min(1).max(4096)).max(8).default([64, 64]),
    activation: z.enum(['relu', 'tanh', 'sigmoid']).default('relu'),
    dropout: z.number().min(0).max(0.9).default(0),
    l2: z.number().min(0).max(10).default(0),
    optimizer: z.enum(['adam', 'sgd', 'rmsprop']).default('adam'),
    learningRate: z.number().positive().max(10).default(0.001),
    batchSize: z.number().int().min(1).max(1_000_000).default(256),
    epochs: z.number().int().min(1).max(10_000).default(20),
    earlyStopping: EarlyStopping.nullable().default(null),
  })
  .strict()
export type TrainParams = z.infer<typeof TrainParams>

/** Everything needed to start (or restart on other data) a run. */
export const RunSpec = z
  .object({
    /** `name`, `name@3` or `name@latest`. */
    dataset: z.string().min(1),
    target: z.string().min(1),
    /** Inferred from the target column's type when absent: text/bool -> classification. */
    task: Task.optional(),
    /** Feature columns; all but the target and `exclude` when absent. */
    features: z.array(z.string()).optional(),
    exclude: z.array(z.string()).default([]),
    modelFamily: ModelFamily.default('mlp'),
    params: TrainParams.default(TrainParams.parse({})),
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .default(42),
    backend: z.enum([...backendNames, 'auto']).default('auto'),
    split: SplitSpec.default(SplitSpec.parse({})),
    registerAs: z.string().min(1).nullable().default(null),
    sweepId: z.string().nullable().default(null),
    /** Train on a dataset version that failed its validation rules (refused otherwise). */
    allowInvalidData: z.boolean().default(false),
    /** Train a classifier on a target with more distinct values than the limit (100; refused otherwise). */
    allowManyClasses: z.boolean().default(false),
  })
  .strict()
export type RunSpec = z.infer<typeof RunSpec>
export type RunSpecInput = z.input<typeof RunSpec>

export const FeatureColumn = z.object({
  name: z.string(),
  kind: z.enum(['numeric', 'categorical']),
  sourceType: z.string(),
})
export type FeatureColumn = z.infer<typeof FeatureColumn>

/** Preprocessing learned on the training split, stored with the model. */
export const Preprocessing = z.object({
  /** `min`/`max`: the training split's range (absent in runs from before it was recorded). */
  numeric: z.array(z.object({ name: z.string(), mean: z.number(), std: z.number(), min: z.number().optional(), max: z.number().optional() })),
  /** Slot 0 of each one-hot block is "unknown or missing"; vocabulary follows. */
  categorical: z.array(z.object({ name: z.string(), vocabulary: z.array(z.string()) })),
  /** Classification: class labels, sorted; index = output column. */
  classes: z.array(z.string()).nullable(),
  /** Regression: the target is trained standardized; prediction = z * std + mean. */
  targetScale: z.object({ mean: z.number(), std: z.number() }).nullable(),
  /** Order of the numeric and categorical blocks in the design matrix. */
  order: z.array(z.string()),
})
export type Preprocessing = z.infer<typeof Preprocessing>

export const SplitMetrics = z.record(z.string(), z.number())
export type SplitMetrics = z.infer<typeof SplitMetrics>

export const RunMetrics = z.object({
  validation: SplitMetrics,
  test: SplitMetrics,
  /** Classification only: rows are true classes, columns predicted, in `labels` order. */
  confusion: z.object({ labels: z.array(z.string()), validation: z.array(z.array(z.number())), test: z.array(z.array(z.number())) }).nullable(),
})
export type RunMetrics = z.infer<typeof RunMetrics>

export const RunBackend = z.object({
  name: z.string(),
  device: z.string().nullable(),
  versions: z.record(z.string(), z.string().nullable()),
})

export const RunModel = z.object({
  onnxSha256: z.string(),
  /** The trained weights as JSON (layer matrices), for parity checks and reuse. */
  weightsSha256: z.string(),
  signature: ModelSignature,
  preprocessing: Preprocessing,
})
export type RunModel = z.infer<typeof RunModel>

export const RunRecord = z.object({
  id: z.string(),
  status: RunStatus,
  error: z.string().nullable(),
  dataset: z.object({ name: z.string(), version: z.number(), versionId: z.string() }),
  split: SplitSpec,
  task: Task,
  target: z.string(),
  features: z.array(FeatureColumn),
  modelFamily: ModelFamily,
  params: TrainParams,
  seed: z.number(),
  /** What was asked for (`auto` or a pinned backend); `backend` is what ran. */
  requestedBackend: z.string(),
  backend: RunBackend.nullable(),
  appVersion: z.string(),
  host: z.object({ hostname: z.string(), platform: z.string(), arch: z.string(), cpus: z.number(), node: z.string() }),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  /** Epochs actually run (early stopping may end sooner than params.epochs). */
  epochsRun: z.number(),
  metrics: RunMetrics.nullable(),
  registerAs: z.string().nullable(),
  sweepId: z.string().nullable(),
  model: RunModel.nullable(),
  /** What a person calls the run, its tags and notes (`training.runs.edit`); absent until set. */
  name: z.string().optional(),
  tags: z.array(z.string()).optional(),
  notes: z.string().optional(),
  /** Set when archived: hidden from lists by default, kept for the lineage of what it made. */
  archivedAt: z.string().optional(),
  /** The spec's `allowManyClasses`, kept so the same spec on newer data is allowed too; absent when false. */
  allowManyClasses: z.boolean().optional(),
  /** What a person should know about a finished run's results (classes its training split lacked); absent when none. */
  warnings: z.array(z.string()).optional(),
})
export type RunRecord = z.infer<typeof RunRecord>

/**
 * A run as `training.runs.list` answers it: the record without its large results
 * (confusion matrices, the model's preprocessing and signature), which only
 * `training.runs.show` carries, so a list of many runs stays small.
 */
export const RunSummary = RunRecord.extend({
  metrics: RunMetrics.omit({ confusion: true }).nullable(),
  model: RunModel.pick({ onnxSha256: true, weightsSha256: true }).nullable(),
})
export type RunSummary = z.infer<typeof RunSummary>

export function summarizeRun(run: RunRecord): RunSummary {
  return {
    ...run,
    metrics: run.metrics ? { validation: run.metrics.validation, test: run.metrics.test } : null,
    model: run.model ? { onnxSha256: run.model.onnxSha256, weightsSha256: run.model.weightsSha256 } : null,
  }
}

export const MetricPoint = z.object({ step: z.number(), value: z.number() })
/** Metric series by name: `loss` (train), `val_<metric>`, `epoch_seconds`. */
export const MetricSeries = z.record(z.string(), z.array(MetricPoint))
export type MetricSeries = z.infer<typeof MetricSeries>

export const TrainingProgress = z.object({
  runId: z.string(),
  epoch: z.number(),
  epochs: z.number(),
  /** Set on progress inside an epoch (about once a second); absent on the end-of-epoch event. */
  batch: z.number().optional(),
  batches: z.number().optional(),
  /** Mean training loss so far in this epoch (the whole epoch's when `batch` is absent). */
  loss: z.number(),
  metrics: z.record(z.string(), z.number()),
})
export type TrainingProgress = z.infer<typeof TrainingProgress>

export const TrainingStatusEvent = z.object({ runId: z.string(), status: RunStatus, error: z.string().optional() })
export type TrainingStatusEvent = z.infer<typeof TrainingStatusEvent>
