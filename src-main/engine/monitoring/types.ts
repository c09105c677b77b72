import { z } from 'zod'
import { FeatureOverride } from './drift/report.js'

/** What a monitor compares and how often it runs. Shared by the store, the operations and the UI. */
export const MonitorSchedule = z
  .object({
    everyMinutes: z
      .number()
      .positive()
      .max(7 * 24 * 60)
      .optional(),
    everyRequests: z.number().int().positive().optional(),
  })
  .refine((s) => s.everyMinutes !== undefined || s.everyRequests !== undefined, {
    message: 'a schedule needs everyMinutes or everyRequests (or both)',
  })
export type MonitorSchedule = z.infer<typeof MonitorSchedule>

export const MonitorSpec = z.object({
  /** The model version whose traffic is watched: an alias or a version number; production by default. */
  selector: z.string().default('production'),
  /** `name@version` of the reference data; the version's training split when absent. */
  reference: z.string().nullable().default(null),
  /** The current window: the last N logged rows (default 1000) or the last N minutes. */
  window: z.object({ last: z.number().int().positive().optional(), minutes: z.number().positive().optional() }).default({ last: 1000 }),
  features: z.array(FeatureOverride).optional(),
  driftShareThreshold: z.number().min(0).max(1).default(0.5),
  /** Fewer current rows than this and the run is skipped (too little traffic to judge). */
  minRows: z.number().int().min(1).default(30),
  schedule: MonitorSchedule.nullable().default(null),
})
export type MonitorSpec = z.infer<typeof MonitorSpec>

export const Monitor = z.object({
  id: z.string(),
  name: z.string(),
  model: z.string(),
  spec: MonitorSpec,
  enabled: z.boolean(),
  createdAt: z.string(),
  lastRunAt: z.string().nullable(),
  lastRunRequests: z.number(),
})
export type Monitor = z.infer<typeof Monitor>

export const AlertAction = z.discriminatedUnion('type', [
  /** A `monitoring.alert` event: the UI shows it, the desktop app turns it into a notification. */
  z.object({ type: z.literal('notify') }),
  z.object({
    type: z.literal('webhook'),
    url: z.url().refine((u) => /^https?:/.test(u), { message: 'a webhook URL must be http or https' }),
    maxAttempts: z.number().int().min(1).max(10).default(4),
  }),
  /**
   * Continuous training: retrain with the same specification on `dataset` (a newer
   * version, `name@latest` by default the dataset the model was trained on), then
   * promote to `alias` only if the gate passes.
   */
  z.object({
    type: z.literal('retrain'),
    dataset: z.string().optional(),
    /** Train on the model's training data plus its labelled traffic, imported as a new dataset version. */
    withLabelledTraffic: z.boolean().default(false),
    alias: z.string().default('production'),
  }),
  /**
   * Continuous training as code: re-run a `lathe.yaml` pipeline (typically one with a
   * `labelled_traffic` import and a gated promote). Its runs and moves carry the alert's id.
   */
  z.object({
    type: z.literal('run-pipeline'),
    file: z.string().min(1),
    /** Stages to run even when their cache says they are up to date. */
    force: z.array(z.string().min(1)).default([]),
  }),
])
export type AlertAction = z.infer<typeof AlertAction>
export type AlertActionInput = z.input<typeof AlertAction>

export const ComparisonOp = z.enum(['>', '>=', '<', '<=', '==', '!='])
export type ComparisonOp = z.infer<typeof ComparisonOp>

export const AlertRule = z.object({
  id: z.string(),
  monitorId: z.string(),
  name: z.string(),
  /** A report value: `dataset_drift`, `drift_share`, `feature.<name>.<statistic>`, `quality.<metric>`, `traffic.error_rate`, ... */
  metric: z.string(),
  op: ComparisonOp,
  threshold: z.number(),
  actions: z.array(AlertAction),
  enabled: z.boolean(),
  createdAt: z.string(),
})
export type AlertRule = z.infer<typeof AlertRule>

export const ActionOutcome = z.object({
  type: z.enum(['notify', 'webhook', 'retrain', 'run-pipeline']),
  status: z.enum(['done', 'pending', 'failed', 'skipped']),
  detail: z.string(),
  attempts: z.number().optional(),
  runId: z.string().optional(),
  version: z.number().optional(),
  promoted: z.boolean().optional(),
  pipelineRunId: z.string().optional(),
})
export type ActionOutcome = z.infer<typeof ActionOutcome>

export const Alert = z.object({
  id: z.string(),
  ruleId: z.string().nullable(),
  monitorId: z.string().nullable(),
  reportId: z.string().nullable(),
  model: z.string(),
  time: z.string(),
  metric: z.string(),
  value: z.number().nullable(),
  op: ComparisonOp,
  threshold: z.number(),
  message: z.string(),
  status: z.enum(['open', 'acknowledged']),
  acknowledgedAt: z.string().nullable(),
  acknowledgedBy: z.string().nullable(),
  actions: z.array(ActionOutcome),
})
export type Alert = z.infer<typeof Alert>

/** The flat name -> number map a report yields; alert rules compare one entry. */
export type ReportValues = Record<string, number>
