import { z } from 'zod'
import { LatheError } from '../api/common/errors.js'
import { defineEvents, defineOperation, defineOperations, defineServices, type EventPayloadsOf } from '../api/index.js'
import { actionRunner } from './actions.js'
import { registerMonitorDependents } from './dataset-dependents.js'
import { DriftReport, FeatureOverride } from './drift/report.js'
import { checkWindow, type LogWindow } from './drift/sources.js'
import { FeedbackInput, FeedbackResult, recordFeedback } from './feedback.js'
import { FeedbackFileInput, FeedbackFileResult, importFeedbackFile } from './feedback-file.js'
import { modelDrift } from './modelDrift.js'
import { runMonitor } from './monitorRun.js'
import { qualityForWindow } from './quality.js'
import { reportHtml } from './report-export.js'
import { isRuleMetric, reportValues } from './rules.js'
import { monitorScheduler } from './scheduler.js'
import {
  acknowledgeAlert,
  deleteMonitor,
  deleteRule,
  getMonitor,
  getReport,
  insertMonitor,
  insertReport,
  insertRule,
  listAlerts,
  listMonitors,
  listReports,
  listRules,
  updateMonitor,
} from './store.js'
import { Alert, AlertAction, AlertRule, ComparisonOp, Monitor, MonitorSpec } from './types.js'
import { resolveModelVersion } from '../registry/index.js'

const WindowInput = {
  last: z.number().int().positive().optional().describe('the last N logged rows'),
  since: z.string().optional().describe('ISO time: rows logged from then'),
  until: z.string().optional().describe('ISO time: rows logged before then'),
}

const ModelDriftReport = DriftReport.extend({ model: z.string(), version: z.number(), reportId: z.string().nullable() })

const MonitorRunResult = z.object({
  monitor: z.string(),
  model: z.string(),
  version: z.number().nullable(),
  status: z.enum(['ran', 'skipped']),
  reason: z.string().optional(),
  reportId: z.string().nullable(),
  values: z.record(z.string(), z.number()),
  alerts: z.array(Alert),
})

const ReportSummary = z.object({
  id: z.string(),
  monitorId: z.string().nullable(),
  model: z.string(),
  version: z.number().nullable(),
  time: z.string(),
  values: z.record(z.string(), z.number()),
})

const Quality = z.object({
  rows: z.number(),
  labelled: z.number(),
  unknownLabels: z.number(),
  metrics: z.record(z.string(), z.number()).nullable(),
})

const StoredReportOutput = ReportSummary.extend({
  report: z.object({
    drift: ModelDriftReport.omit({ reportId: true }).nullable(),
    quality: Quality.nullable(),
    traffic: z.record(z.string(), z.number()).nullable(),
  }),
})

function windowOfInput(input: { last?: number; since?: string; until?: string }): LogWindow {
  const window: LogWindow = { last: input.last, since: input.since, until: input.until }
  if (!window.last && !window.since && !window.until) window.last = 5000
  checkWindow(window)
  return window
}

export const monitoringOperations = defineOperations('monitoring', {
  'monitoring.drift': defineOperation({
    summary: "Drift of a model's logged traffic (or any dataset version) against its training data, per feature and overall",
    input: z
      .object({
        model: z.string().min(1),
        version: z.string().default('production').describe('alias or version number'),
        reference: z.string().nullable().default(null).describe('NAME@VERSION; the training split by default'),
        current: z.string().nullable().default(null).describe('NAME@VERSION instead of logged traffic'),
        ...WindowInput,
        features: z.array(FeatureOverride).optional(),
        driftShareThreshold: z.number().min(0).max(1).default(0.5),
        save: z.boolean().default(true).describe('keep the report in the drift history'),
        allStatistics: z.boolean().default(false).describe("every statistic of each feature (KS, PSI...), not only its method's and its chart's"),
      })
      .strict(),
    output: ModelDriftReport,
    handler: async (input, ctx) => {
      const report = await modelDrift(ctx, {
        model: input.model,
        selector: input.version,
        reference: input.reference,
        currentDataset: input.current,
        window: windowOfInput(input),
        features: input.features,
        driftShareThreshold: input.driftShareThreshold,
        allStatistics: input.allStatistics,
      })
      let reportId: string | null = null
      if (input.save) {
        const { model, version, ...drift } = report
        reportId = insertReport(ctx.workspace.db, {
          monitorId: null,
          model,
          version,
          values: reportValues(drift, null, {}),
          report: { drift: report, quality: null, traffic: null },
        }).id
      }
      return { ...report, reportId }
    },
  }),

  'monitoring.feedback': defineOperation({
    summary: 'True labels for logged predictions, by request id (late labels for quality)',
    input: FeedbackInput,
    output: FeedbackResult,
    handler: (input, ctx) => recordFeedback(ctx, input),
  }),

  'monitoring.feedback.import': defineOperation({
    summary:
      'True labels from a CSV file (a path, or an upload id from the browser): a request id column, a label column and ' +
      'optionally a row column; joined by request id in chunks, with progress; reports the ids the log does not hold',
    input: FeedbackFileInput,
    output: FeedbackFileResult,
    handler: (input, ctx) => importFeedbackFile(ctx, input),
  }),

  'monitoring.quality': defineOperation({
    summary: "Quality metrics of a model's logged predictions that have labels, over a window",
    input: z
      .object({ model: z.string().min(1), version: z.string().default('production'), ...WindowInput, minLabels: z.number().int().min(1).default(10) })
      .strict(),
    output: Quality,
    handler: (input, ctx) => {
      const version = resolveModelVersion(ctx, input.model, input.version)
      return qualityForWindow(ctx, input.model, windowOfInput(input), version.signature, input.minLabels)
    },
  }),

  'monitoring.monitors.add': defineOperation({
    summary: 'Add a monitor: a model, its reference and window, and a schedule',
    input: z.object({ name: z.string().min(1).max(100), model: z.string().min(1), spec: MonitorSpec.default(MonitorSpec.parse({})) }).strict(),
    output: Monitor,
    handler: (input, ctx) => {
      resolveModelVersion(ctx, input.model, input.spec.selector)
      return insertMonitor(ctx.workspace.db, input)
    },
  }),
  'monitoring.monitors.list': defineOperation({
    summary: 'Monitors, with their rules',
    input: z.object({ model: z.string().optional() }).strict(),
    output: z.array(Monitor.extend({ rules: z.array(AlertRule) })),
    handler: (input, ctx) => listMonitors(ctx.workspace.db, input.model).map((m) => ({ ...m, rules: listRules(ctx.workspace.db, m.id) })),
  }),
  'monitoring.monitors.update': defineOperation({
    summary: "Change a monitor's spec or switch it on or off",
    input: z.object({ monitor: z.string().min(1), spec: MonitorSpec.optional(), enabled: z.boolean().optional() }).strict(),
    output: Monitor,
    handler: (input, ctx) => updateMonitor(ctx.workspace.db, getMonitor(ctx.workspace.db, input.monitor).id, input),
  }),
  'monitoring.monitors.remove': defineOperation({
    summary: 'Remove a monitor and its rules (alerts and reports stay)',
    input: z.object({ monitor: z.string().min(1) }).strict(),
    output: z.object({ removed: z.string() }),
    handler: (input, ctx) => {
      const monitor = getMonitor(ctx.workspace.db, input.monitor)
      deleteMonitor(ctx.workspace.db, monitor.id)
      return { removed: monitor.name }
    },
  }),
  'monitoring.monitors.run': defineOperation({
    summary: 'Run a monitor now: drift, quality, traffic, then its alert rules',
    input: z.object({ monitor: z.string().min(1), waitForActions: z.boolean().default(false) }).strict(),
    output: MonitorRunResult,
    handler: async (input, ctx) => {
      const result = await runMonitor(ctx, input.monitor)
      if (input.waitForActions && result.alerts.length) {
        await actionRunner(ctx).idle()
        return { ...result, alerts: result.alerts.map((a) => listAlerts(ctx.workspace.db, { model: a.model }).find((x) => x.id === a.id) ?? a) }
      }
      return result
    },
  }),

  'monitoring.rules.add': defineOperation({
    summary: 'Add an alert rule to a monitor: a report value, a comparison, a threshold and actions',
    input: z
      .object({
        monitor: z.string().min(1),
        name: z.string().min(1).max(200),
        metric: z
          .string()
          .min(1)
          .describe('dataset_drift, drift_share, feature.<name>.<statistic>, quality.<metric>, traffic.error_rate, traffic.p99_latency_ms, ...'),
        op: ComparisonOp.default('>'),
        threshold: z.number(),
        actions: z.array(AlertAction).default([{ type: 'notify' }]),
      })
      .strict(),
    output: AlertRule,
    handler: (input, ctx) => {
      const monitor = getMonitor(ctx.workspace.db, input.monitor)
      if (!isRuleMetric(input.metric)) {
        throw new LatheError(
          'bad_request',
          `"${input.metric}" is not a report value: use dataset_drift, drift_share, drifted_features, feature.<name>.<statistic>, prediction.<statistic>, quality.<metric> or traffic.<error_rate|p99_latency_ms|...>`,
          { field: 'metric' },
        )
      }
      return insertRule(ctx.workspace.db, { ...input, monitorId: monitor.id })
    },
  }),
  'monitoring.rules.list': defineOperation({
    summary: 'Alert rules, of one monitor or all',
    input: z.object({ monitor: z.string().optional() }).strict(),
    output: z.array(AlertRule),
    handler: (input, ctx) => listRules(ctx.workspace.db, input.monitor ? getMonitor(ctx.workspace.db, input.monitor).id : undefined),
  }),
  'monitoring.rules.remove': defineOperation({
    summary: 'Remove an alert rule',
    input: z.object({ rule: z.string().min(1) }).strict(),
    output: z.object({ removed: z.string() }),
    handler: (input, ctx) => {
      deleteRule(ctx.workspace.db, input.rule)
      return { removed: input.rule }
    },
  }),

  'monitoring.alerts.list': defineOperation({
    summary: 'Alerts, newest first',
    input: z
      .object({ model: z.string().optional(), status: z.enum(['open', 'acknowledged']).optional(), limit: z.number().int().min(1).max(5000).default(500) })
      .strict(),
    output: z.array(Alert),
    handler: (input, ctx) => listAlerts(ctx.workspace.db, input),
  }),
  'monitoring.alerts.ack': defineOperation({
    summary: 'Acknowledge an alert',
    input: z.object({ alert: z.string().min(1) }).strict(),
    output: Alert,
    handler: (input, ctx) => {
      const alert = acknowledgeAlert(ctx.workspace.db, input.alert, ctx.actor)
      ctx.events.emit('monitoring.alert.updated', { alert })
      return alert
    },
  }),

  'monitoring.reports.list': defineOperation({
    summary: "A model's stored reports (drift, quality and traffic values over time), oldest first",
    input: z.object({ model: z.string().min(1), monitor: z.string().optional(), limit: z.number().int().min(1).max(5000).default(200) }).strict(),
    output: z.array(ReportSummary),
    handler: (input, ctx) =>
      listReports(ctx.workspace.db, {
        model: input.model,
        monitorId: input.monitor ? getMonitor(ctx.workspace.db, input.monitor).id : undefined,
        limit: input.limit,
      }).map(({ report: _report, ...summary }) => summary),
  }),
  'monitoring.reports.get': defineOperation({
    summary: 'One stored report in full: per-feature statistics and chart data, quality, traffic',
    input: z.object({ id: z.string().min(1) }).strict(),
    output: StoredReportOutput,
    // The stored report is JSON the engine wrote; reading it back through its schema types it.
    handler: (input, ctx) => StoredReportOutput.parse(getReport(ctx.workspace.db, input.id)),
  }),
  'monitoring.reports.export': defineOperation({
    summary: 'One stored report as a file: self-contained HTML (opens offline, no script) or JSON',
    input: z.object({ id: z.string().min(1), format: z.enum(['html', 'json']).default('html') }).strict(),
    output: z.object({ fileName: z.string(), mediaType: z.string(), content: z.string() }),
    handler: ({ id, format }, ctx) => {
      const stored = getReport(ctx.workspace.db, id)
      const base = `drift-${stored.model}-${stored.time.slice(0, 19).replace(/[:T]/g, '-')}`
      return format === 'json'
        ? { fileName: `${base}.json`, mediaType: 'application/json', content: JSON.stringify(stored, null, 2) }
        : { fileName: `${base}.html`, mediaType: 'text/html', content: reportHtml(stored) }
    },
  }),
})

export const monitoringEvents = defineEvents({
  /** One feature of a drift report done (reports on large tables take seconds). */
  'monitoring.drift.progress': z.object({ model: z.string(), done: z.number(), total: z.number(), feature: z.string() }),
  /** Late labels from a file: rows joined so far. */
  'monitoring.feedback.progress': z.object({ model: z.string(), done: z.number(), total: z.number(), recorded: z.number() }),
  /** A notify action: the UI shows it; the desktop app turns it into a system notification. */
  'monitoring.alert': z.object({ alert: Alert }),
  'monitoring.alert.raised': z.object({ alert: Alert }),
  /** An action finished (webhook delivered, retrain promoted or refused) or the alert was acknowledged. */
  'monitoring.alert.updated': z.object({ alert: Alert }),
  'monitoring.report': z.object({
    monitor: z.string(),
    model: z.string(),
    status: z.enum(['ran', 'skipped', 'failed']),
    reportId: z.string().optional(),
    reason: z.string().optional(),
  }),
})

// Typed emit and subscribe: the bus knows these topics' payloads.
declare module '../api/events.js' {
  interface EventPayloadMap extends EventPayloadsOf<typeof monitoringEvents> {}
}

/** Monitors run on their schedules only in an engine that stays up: a one-shot CLI command never runs someone's monitor. */
export const monitoringServices = defineServices(
  { name: 'monitoring.scheduler', runsIn: 'long-lived', start: (ctx) => monitorScheduler(ctx).start() },
  { name: 'monitoring.dataset-dependents', runsIn: 'always', start: registerMonitorDependents },
)
