import { z } from 'zod'
import { defineEvents, defineOperation, defineOperations, defineServices, type EventPayloadsOf } from '../api/index.js'
import { archiveRun, deleteRun, editRun, RunEdit, RunRemoval } from './annotations.js'
import { BackendReport, backendNames, probeBackends } from './backends.js'
import { registerRunDependents } from './dataset-dependents.js'
import { cancelRun, startRun, startTrainingService, trainingQueue, waitForRun } from './service.js'
import { failOrphanedRuns, getMetricSeries, getRun, listRuns } from './store.js'
import { startSweep, SweepSpec, sweepSummary } from './sweeps.js'
import { MetricSeries, RunRecord, RunSpec, RunStatus, RunSummary, summarizeRun, TrainingProgress, TrainingStatusEvent } from './types.js'

export const computeOperations = defineOperations('compute', {
  'compute.backends': defineOperation({
    summary: 'Every training backend: available or why not, and which is chosen',
    input: z.object({ pinned: z.enum([...backendNames, 'auto']).default('auto') }).strict(),
    output: z.array(BackendReport),
    handler: ({ pinned }) => probeBackends(pinned),
  }),
})

const RunRef = z.object({ run: z.string().min(1) }).strict()

export const trainingOperations = defineOperations('training', {
  'training.start': defineOperation({
    summary: 'Queue a training run on a dataset version; it starts in a worker process when the queue has room',
    input: RunSpec,
    output: RunRecord,
    handler: (spec, ctx) => startRun(ctx, spec),
  }),
  'training.runs.list': defineOperation({
    summary: 'Runs, newest first, optionally filtered by status, dataset or sweep (without confusion matrices or model details: see training.runs.show)',
    input: z
      .object({
        status: RunStatus.optional(),
        dataset: z.string().optional(),
        sweepId: z.string().optional(),
        limit: z.number().int().min(1).max(10_000).optional(),
        /** Archived runs are left out unless asked for. */
        includeArchived: z.boolean().default(false),
      })
      .strict(),
    output: z.object({ runs: z.array(RunSummary) }),
    handler: ({ includeArchived, ...filter }, ctx) => {
      const runs = listRuns(ctx.workspace.db, filter)
      return { runs: (includeArchived ? runs : runs.filter((r) => !r.archivedAt)).map(summarizeRun) }
    },
  }),
  'training.runs.edit': defineOperation({
    summary: "Set a run's name, tags or notes (an empty name or notes removes them)",
    input: RunEdit,
    output: RunRecord,
    handler: (edit, ctx) => editRun(ctx, edit),
  }),
  'training.runs.archive': defineOperation({
    summary: 'Archive a finished run (hidden from lists, kept for lineage) or restore it',
    input: z.object({ run: z.string().min(1), archived: z.boolean().default(true) }).strict(),
    output: RunRecord,
    handler: ({ run, archived }, ctx) => archiveRun(ctx, run, archived),
  }),
  'training.runs.delete': defineOperation({
    summary: 'Delete a finished run that nothing refers to, or archive one a model version was registered from (lineage kept); dryRun says which',
    input: z.object({ run: z.string().min(1), dryRun: z.boolean().default(false) }).strict(),
    output: RunRemoval,
    handler: ({ run, dryRun }, ctx) => deleteRun(ctx, run, dryRun),
  }),
  'training.runs.show': defineOperation({
    summary: "One run's record and its metric series (loss, val_*, epoch_seconds per epoch)",
    input: RunRef,
    output: z.object({ run: RunRecord, series: MetricSeries }),
    handler: ({ run }, ctx) => ({ run: getRun(ctx.workspace.db, run), series: getMetricSeries(ctx.workspace.db, run) }),
  }),
  'training.runs.cancel': defineOperation({
    summary: 'Cancel a queued or running run (a running worker is stopped within a second)',
    input: RunRef,
    output: RunRecord,
    handler: ({ run }, ctx) => cancelRun(ctx, run),
  }),
  'training.runs.wait': defineOperation({
    summary: 'Wait until a run has finished, failed or been cancelled (timeoutMs 0 = no limit)',
    input: z.object({ run: z.string().min(1), timeoutMs: z.number().int().min(0).default(0) }).strict(),
    output: RunRecord,
    handler: ({ run, timeoutMs }, ctx) => {
      // Waiting for a run is asking for it to run: the queue is this operation's own work.
      trainingQueue(ctx)
      return waitForRun(ctx, run, timeoutMs)
    },
  }),
  'training.runs.compare': defineOperation({
    summary: 'Two or more runs side by side: which parameters differ, their metrics and their curves',
    input: z.object({ runs: z.array(z.string().min(1)).min(2).max(20) }).strict(),
    output: z.object({
      runs: z.array(RunRecord),
      differingParams: z.array(z.string()),
      series: z.record(z.string(), MetricSeries),
    }),
    handler: ({ runs }, ctx) => {
      const records = runs.map((id) => getRun(ctx.workspace.db, id))
      const flat = records.map((r) => ({
        ...Object.fromEntries(Object.entries(r.params).map(([k, v]) => [k, JSON.stringify(v)])),
        modelFamily: r.modelFamily,
        seed: String(r.seed),
        dataset: `${r.dataset.name}@${r.dataset.version}`,
        backend: r.backend?.name ?? r.requestedBackend,
      }))
      const keys = [...new Set(flat.flatMap((f) => Object.keys(f)))]
      const differingParams = keys.filter((k) => new Set(flat.map((f) => (f as Record<string, string>)[k])).size > 1)
      const series = Object.fromEntries(records.map((r) => [r.id, getMetricSeries(ctx.workspace.db, r.id)]))
      return { runs: records, differingParams, series }
    },
  }),
  'training.sweep.start': defineOperation({
    summary: 'Grid or random search: one child run per parameter combination',
    input: SweepSpec,
    output: z.object({ sweepId: z.string(), runs: z.array(RunRecord) }),
    handler: (spec, ctx) => startSweep(ctx, spec),
  }),
  'training.sweep.show': defineOperation({
    summary: "A sweep's runs and its best run by the sweep's metric",
    input: z.object({ sweep: z.string().min(1) }).strict(),
    output: z.object({
      id: z.string(),
      method: z.string(),
      metric: z.string(),
      createdAt: z.string(),
      runs: z.array(RunRecord),
      bestRunId: z.string().nullable(),
    }),
    handler: ({ sweep }, ctx) => sweepSummary(ctx, sweep),
  }),
})

export const trainingEvents = defineEvents({
  'training.progress': TrainingProgress,
  'training.status': TrainingStatusEvent,
  /** A run's name, tags, notes or archive flag changed. */
  'training.run.edited': z.object({ runId: z.string() }),
})

// Typed emit and subscribe: the bus knows these topics' payloads.
declare module '../api/events.js' {
  interface EventPayloadMap extends EventPayloadsOf<typeof trainingEvents> {}
}

/**
 * An engine that stays up runs the job queue from the start: it fails runs a dead engine
 * left `running` and resumes `queued` ones. A one-shot engine only fails the orphans, so
 * no read shows a stale `running` run; it never starts a job it would kill on exit (its
 * queue exists only once the command itself starts a run).
 */
export const trainingServices = defineServices(
  { name: 'training.queue', runsIn: 'long-lived', start: startTrainingService },
  { name: 'training.orphans', runsIn: 'one-shot', start: (ctx) => void failOrphanedRuns(ctx.workspace.db) },
  { name: 'training.dataset-dependents', runsIn: 'always', start: registerRunDependents },
)
