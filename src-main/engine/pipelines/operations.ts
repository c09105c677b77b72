import path from 'node:path'
import { z } from 'zod'
import { defineEvents, defineOperation, defineOperations, type EventPayloadsOf } from '../api/index.js'
import { pipelineReport } from './report.js'
import { pipelineGraph, pipelineStatus, startPipelineRun, waitForPipelineRun } from './runner.js'
import { getRun, listPipelines, listRuns } from './store.js'
import { PipelineRun, PipelineStatus, RunGraphStage } from './types.js'

/** `lathe.yaml` pipelines: run (in the background), follow, status, graph, history, report. */

const File = z.string().min(1).describe("the pipeline file (lathe.yaml), absolute or relative to the engine's folder")
const RunRef = z.object({ run: z.string().min(1) }).strict()

export const pipelinesOperations = defineOperations('pipelines', {
  'pipelines.run': defineOperation({
    summary: 'Start a run of a pipeline file; stages whose key matches an earlier success are skipped. Returns at once (follow with pipelines.runs.wait)',
    input: z
      .object({
        file: File,
        /** Stages to run even when up to date ("run from here"). */
        force: z.array(z.string().min(1)).max(100).default([]),
        trigger: z.enum(['cli', 'ui', 'api', 'ci']).default('api'),
      })
      .strict(),
    output: PipelineRun,
    handler: (input, ctx) => startPipelineRun(ctx, { file: path.resolve(input.file), force: input.force, trigger: input.trigger }).run,
  }),

  'pipelines.runs.wait': defineOperation({
    summary: 'Wait until a pipeline run has ended, at most timeoutMs; returns its record either way',
    input: z.object({ run: z.string().min(1), timeoutMs: z.number().int().min(0).max(600_000).default(30_000) }).strict(),
    output: PipelineRun,
    handler: (input, ctx) => waitForPipelineRun(ctx, input.run, input.timeoutMs),
  }),

  'pipelines.runs.get': defineOperation({
    summary: 'One pipeline run: each stage run, skipped or failed, with its output and times',
    input: RunRef,
    output: PipelineRun,
    handler: (input, ctx) => waitForPipelineRun(ctx, input.run, 0),
  }),

  'pipelines.runs.list': defineOperation({
    summary: 'The history of pipeline runs, newest first',
    input: z.object({ pipeline: z.string().min(1).optional(), limit: z.number().int().min(1).max(500).default(50) }).strict(),
    output: z.object({ runs: z.array(PipelineRun) }),
    handler: (input, ctx) => ({ runs: listRuns(ctx.workspace.db, input) }),
  }),

  'pipelines.list': defineOperation({
    summary: 'Every pipeline this workspace has run, with the file its latest run read',
    input: z.object({}).strict(),
    output: z.object({ pipelines: z.array(z.object({ pipeline: z.string(), file: z.string(), runs: z.number(), lastRunAt: z.string() })) }),
    handler: (_input, ctx) => ({ pipelines: listPipelines(ctx.workspace.db) }),
  }),

  'pipelines.status': defineOperation({
    summary: 'Each stage of a pipeline file up to date or stale, and why, without running anything',
    input: z.object({ file: File }).strict(),
    output: PipelineStatus,
    handler: (input, ctx) => pipelineStatus(ctx, path.resolve(input.file)),
  }),

  'pipelines.show': defineOperation({
    summary: 'The graph of a pipeline file: stages in run order and what each reads',
    input: z.object({ file: File }).strict(),
    output: z.object({ pipeline: z.string(), file: z.string(), stages: z.array(RunGraphStage.extend({ summary: z.string() })) }),
    handler: (input) => pipelineGraph(path.resolve(input.file)),
  }),

  'pipelines.report': defineOperation({
    summary: "A run as markdown for a pull request: stages, the trained version's metrics beside production's, the gate's checks, drift",
    input: RunRef,
    output: z.object({ run: z.string(), markdown: z.string() }),
    handler: async (input, ctx) => {
      if (!getRun(ctx.workspace.db, input.run)) await waitForPipelineRun(ctx, input.run, 0)
      return { run: input.run, markdown: await pipelineReport(ctx, input.run) }
    },
  }),
})

export const pipelinesEvents = defineEvents({
  'pipelines.run': z.object({ runId: z.string(), pipeline: z.string(), status: z.enum(['running', 'passed', 'failed']) }),
  'pipelines.stage': z.object({
    runId: z.string(),
    pipeline: z.string(),
    stage: z.string(),
    status: z.string(),
    message: z.string(),
    /** Set while a train or sweep stage waits on this training run (its progress is on `training.progress`). */
    trainingRunId: z.string().optional(),
  }),
})

// Typed emit and subscribe: the bus knows these topics' payloads.
declare module '../api/events.js' {
  interface EventPayloadMap extends EventPayloadsOf<typeof pipelinesEvents> {}
}
