import { z } from 'zod'
import { ModelSignature } from '../api/common/signature.js'

/**
 * The registry's shapes, as zod schemas so the same definition types the store,
 * checks the operations' outputs and types the renderer's client.
 */

/** Aliases are names people type: `production`, `staging`, `champion-2`. */
export const AliasName = z.string().regex(/^[a-z][a-z0-9_-]{0,62}$/, 'an alias is lowercase letters, digits, "-" or "_", starting with a letter')

export const ModelName = z
  .string()
  .min(1, 'a model needs a name')
  .max(100)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'a model name is letters, digits, ".", "-" or "_" (no spaces, no "@")')

/** Metrics flattened to dotted names with numeric values: `test.accuracy`, `validation.rmse`. */
export const Metrics = z.record(z.string(), z.number())
export type Metrics = z.infer<typeof Metrics>

export const DatasetRef = z.object({
  name: z.string(),
  version: z.number().int(),
  versionId: z.string(),
})

export const VersionSource = z.enum(['run', 'import', 'package'])

export const ModelVersion = z.object({
  model: z.string(),
  version: z.number().int(),
  versionId: z.string(),
  onnxSha256: z.string(),
  signature: ModelSignature,
  preprocessing: z.unknown().nullable(),
  metrics: Metrics,
  params: z.record(z.string(), z.unknown()).nullable(),
  runId: z.string().nullable(),
  dataset: DatasetRef.nullable(),
  split: z.unknown().nullable(),
  source: VersionSource,
  metadata: z.record(z.string(), z.string()),
  description: z.string(),
  tags: z.record(z.string(), z.string()),
  intendedUse: z.string(),
  aliases: z.array(z.string()),
  createdAt: z.string(),
  createdBy: z.string(),
  /** Set when archived (`registry.versions.remove` kept it for lineage); absent otherwise. */
  archivedAt: z.string().optional(),
})
export type ModelVersion = z.infer<typeof ModelVersion>

export const AliasState = z.object({
  alias: z.string(),
  version: z.number().int(),
  versionId: z.string(),
  since: z.string(),
})
export type AliasState = z.infer<typeof AliasState>

export const ModelSummary = z.object({
  name: z.string(),
  modelId: z.string(),
  description: z.string(),
  tags: z.record(z.string(), z.string()),
  latestVersion: z.number().int().nullable(),
  versionCount: z.number().int(),
  aliases: z.array(AliasState),
  createdAt: z.string(),
  archivedAt: z.string().optional(),
})
export type ModelSummary = z.infer<typeof ModelSummary>

export const AliasMove = z.object({
  id: z.number().int(),
  alias: z.string(),
  version: z.number().int(),
  previous: z.number().int().nullable(),
  kind: z.enum(['promote', 'rollback']),
  forced: z.boolean(),
  reason: z.string().nullable(),
  cause: z.string().nullable(),
  time: z.string(),
  actor: z.string(),
})
export type AliasMove = z.infer<typeof AliasMove>

/** Stands for the task's primary metric in `noWorseThan`: accuracy (classification) or rmse (regression). */
export const PRIMARY_METRIC = 'primary'

export const MetricThreshold = z.object({
  metric: z.string().min(1),
  op: z.enum(['>=', '>', '<=', '<']),
  value: z.number(),
})

/**
 * What a version must pass before an alias moves to it. Kept per model and alias,
 * so `production` can be strict while `staging` takes anything.
 */
export const GateConfig = z.object({
  thresholds: z.array(MetricThreshold).default([]),
  /**
   * Re-evaluate candidate and current on the candidate's test split; the candidate must not be worse.
   * `metric: 'primary'` is the task's primary metric: accuracy for classification, rmse for regression.
   */
  noWorseThan: z
    .object({
      metric: z.string().min(1).describe(`a metric name (accuracy, rmse, f1, ...) or '${PRIMARY_METRIC}'`),
      /** Allowed drop, in the metric's own units. */
      tolerance: z.number().min(0).default(0),
    })
    .nullable()
    .default(null),
  signatureCompatible: z.boolean().default(true),
  dataValidation: z.boolean().default(true),
})
export type GateConfig = z.infer<typeof GateConfig>

/**
 * Aliases that callers depend on. With no gate stored for them they apply
 * {@link protectedGate}, and moving them past a failed gate needs a reason.
 */
export const PROTECTED_ALIASES: readonly string[] = ['production']

/** The default gate of a protected alias: no worse than current on the primary metric, plus the signature and data checks. */
export function protectedGate(): GateConfig {
  return GateConfig.parse({ noWorseThan: { metric: PRIMARY_METRIC, tolerance: 0 } })
}

export const GateCheck = z.object({ name: z.string(), passed: z.boolean(), detail: z.string() })
export type GateCheck = z.infer<typeof GateCheck>
export const GateResult = z.object({ passed: z.boolean(), checks: z.array(GateCheck) })
export type GateResult = z.infer<typeof GateResult>

export const PromoteResult = z.object({
  model: z.string(),
  alias: z.string(),
  version: z.number().int(),
  previous: z.number().int().nullable(),
  gate: GateResult,
  forced: z.boolean(),
})
export type PromoteResult = z.infer<typeof PromoteResult>
