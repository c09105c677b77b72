import { z } from 'zod'
import { STAGE_KINDS } from './stage-specs.js'

/** The pipelines capability's shapes: the store's rows, the operations' outputs, the UI's types. */

export const StageKind = z.enum(STAGE_KINDS)

const GateCheck = z.object({ name: z.string(), passed: z.boolean(), detail: z.string() })
export const GateOutcome = z.object({ passed: z.boolean(), checks: z.array(GateCheck) })

/** What a stage made. Downstream keys hash `id`; the rest is for people. */
export const StageOutput = z.discriminatedUnion('type', [
  z.object({ type: z.literal('dataset'), id: z.string(), dataset: z.string(), version: z.number(), rows: z.number() }),
  z.object({
    type: z.literal('split'),
    id: z.string(),
    dataset: z.string(),
    version: z.number(),
    versionId: z.string(),
    split: z.record(z.string(), z.unknown()),
    counts: z.record(z.string(), z.number()),
  }),
  z.object({
    type: z.literal('model'),
    id: z.string(),
    runId: z.string(),
    sweepId: z.string().nullable(),
    model: z.string().nullable(),
    version: z.number().nullable(),
    versionId: z.string().nullable(),
    metrics: z.record(z.string(), z.number()),
  }),
  z.object({
    type: z.literal('promotion'),
    id: z.string(),
    model: z.string(),
    alias: z.string(),
    version: z.number(),
    previous: z.number().nullable(),
    gate: GateOutcome,
  }),
  z.object({
    type: z.literal('drift'),
    id: z.string(),
    reference: z.string(),
    current: z.string(),
    datasetDrift: z.boolean(),
    driftShare: z.number(),
    driftedFeatures: z.array(z.string()),
  }),
])
export type StageOutput = z.infer<typeof StageOutput>

export const StageRun = z.object({
  runId: z.string(),
  stage: z.string(),
  kind: StageKind,
  key: z.string(),
  status: z.enum(['running', 'ran', 'skipped', 'failed']),
  output: StageOutput.nullable(),
  progress: z.record(z.string(), z.string()).nullable(),
  error: z.string().nullable(),
  /** A failed gate's checks, a failed rule's results. */
  detail: z.record(z.string(), z.unknown()).nullable(),
  startedAt: z.string(),
  finishedAt: z.string().nullable(),
})
export type StageRun = z.infer<typeof StageRun>

export const RunGraphStage = z.object({ stage: z.string(), kind: StageKind, needs: z.array(z.string()), line: z.number() })
export type RunGraphStage = z.infer<typeof RunGraphStage>

export const PipelineRun = z.object({
  id: z.string(),
  pipeline: z.string(),
  file: z.string(),
  status: z.enum(['running', 'passed', 'failed', 'interrupted']),
  failedStage: z.string().nullable(),
  error: z.string().nullable(),
  trigger: z.string(),
  cause: z.string().nullable(),
  forced: z.array(z.string()),
  graph: z.array(RunGraphStage),
  actor: z.string(),
  startedAt: z.string(),
  finishedAt: z.string().nullable(),
  stages: z.array(StageRun),
})
export type PipelineRun = z.infer<typeof PipelineRun>

export const StageStatus = z.object({
  stage: z.string(),
  kind: StageKind,
  needs: z.array(z.string()),
  line: z.number(),
  state: z.enum(['up-to-date', 'stale', 'always']),
  reason: z.string(),
  /** The output the cache holds for the current key (up to date), else the latest one. */
  output: StageOutput.nullable(),
  last: z.object({ status: z.string(), runId: z.string().nullable(), at: z.string(), error: z.string().nullable() }).nullable(),
})
export type StageStatus = z.infer<typeof StageStatus>

export const PipelineStatus = z.object({
  pipeline: z.string(),
  file: z.string(),
  upToDate: z.boolean(),
  stages: z.array(StageStatus),
})
export type PipelineStatus = z.infer<typeof PipelineStatus>
