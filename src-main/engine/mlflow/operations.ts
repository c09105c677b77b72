import fsp from 'node:fs/promises'
import { z } from 'zod'
import { LatheError } from '../api/common/errors.js'
import { defineOperation, defineOperations } from '../api/index.js'
import type { EngineContext } from '../context.js'
import { rotateApiToken, persistentApiToken } from '../workspace/index.js'
import { checkArtifactPath, listFolder } from './artifacts.js'
import * as store from './store.js'
import { runArtifactRoot } from './runs.js'
import { MlflowError } from './wire.js'

/**
 * What the UI and the CLI read of runs logged through the MLflow API: runs with
 * their params, latest metrics, tags and source; a run's metric series; its
 * artifacts (listed, and read for previews); and the address and token a script
 * sets as MLFLOW_TRACKING_URI and MLFLOW_TRACKING_TOKEN.
 */

const MetricValue = z.union([z.number(), z.enum(['NaN', 'Infinity', '-Infinity'])])

export const ScriptRun = z.object({
  runId: z.string(),
  runName: z.string(),
  experimentId: z.string(),
  experimentName: z.string(),
  status: z.string(),
  lifecycleStage: z.string(),
  userId: z.string(),
  startTime: z.number(),
  endTime: z.number().nullable(),
  /** The client that created it (its User-Agent), and the script it ran from. */
  client: z.string(),
  sourceName: z.string().nullable(),
  sourceType: z.string().nullable(),
  params: z.record(z.string(), z.string()),
  metrics: z.record(z.string(), MetricValue),
  tags: z.record(z.string(), z.string()),
  artifactUri: z.string(),
})
export type ScriptRun = z.infer<typeof ScriptRun>

const ArtifactEntry = z.object({ path: z.string(), isDir: z.boolean(), size: z.number().nullable() })

function toScriptRun(ctx: EngineContext, run: store.RunRow): ScriptRun {
  const db = ctx.workspace.db
  const metrics: ScriptRun['metrics'] = {}
  for (const m of store.latestMetrics(db, run.runId)) metrics[m.key] = m.special || m.value
  return {
    runId: run.runId,
    runName: run.runName,
    experimentId: String(run.experimentId),
    experimentName: store.getExperiment(db, run.experimentId)?.name ?? String(run.experimentId),
    status: run.status,
    lifecycleStage: run.lifecycleStage,
    userId: run.userId,
    startTime: run.startTime,
    endTime: run.endTime,
    client: run.client,
    sourceName: run.sourceName,
    sourceType: run.sourceType,
    params: store.getParams(db, run.runId),
    metrics,
    tags: store.getTags(db, run.runId),
    artifactUri: `mlflow-artifacts:/${runArtifactRoot(run)}`,
  }
}

function requireScriptRun(ctx: EngineContext, runId: string): store.RunRow {
  const run = store.getRunRow(ctx.workspace.db, runId)
  if (!run) throw new LatheError('not_found', `no MLflow run "${runId}" in this workspace (see the Runs page or \`lathe runs list\`)`, { field: 'run' })
  return run
}

function artifactPath(run: store.RunRow, path: string): string {
  try {
    const sub = checkArtifactPath(path)
    return sub ? `${runArtifactRoot(run)}/${sub}` : runArtifactRoot(run)
  } catch (error) {
    if (error instanceof MlflowError) throw new LatheError('bad_request', error.message, { field: 'path' })
    throw error
  }
}

const PREVIEW_LIMIT = 2 * 1024 * 1024

export const mlflowOperations = defineOperations('mlflow', {
  'mlflow.runs.list': defineOperation({
    summary: 'Runs logged by scripts through the MLflow API, newest first, with params, latest metrics and tags',
    input: z.object({ experiment: z.string().optional(), limit: z.number().int().min(1).max(10_000).default(500) }).strict(),
    output: z.object({ runs: z.array(ScriptRun) }),
    handler: ({ experiment, limit }, ctx) => {
      const db = ctx.workspace.db
      let ids: number[] | null = null
      if (experiment !== undefined) {
        const row = /^\d+$/.test(experiment) ? store.getExperiment(db, Number(experiment)) : store.getExperimentByName(db, experiment)
        if (!row) throw new LatheError('not_found', `no MLflow experiment "${experiment}"`, { field: 'experiment' })
        ids = [row.experimentId]
      }
      return { runs: store.listRunRows(db, ids, limit).map((r) => toScriptRun(ctx, r)) }
    },
  }),
  'mlflow.runs.show': defineOperation({
    summary: "One script run: params, metrics, tags, every metric's series (NaN/Infinity as strings) and its top-level artifacts",
    input: z.object({ run: z.string().min(1) }).strict(),
    output: z.object({
      run: ScriptRun,
      series: z.record(z.string(), z.array(z.object({ step: z.number(), timestamp: z.number(), value: MetricValue }))),
      artifacts: z.array(ArtifactEntry),
    }),
    handler: ({ run: runId }, ctx) => {
      const db = ctx.workspace.db
      const run = requireScriptRun(ctx, runId)
      const series: Record<string, Array<{ step: number; timestamp: number; value: number | 'NaN' | 'Infinity' | '-Infinity' }>> = {}
      for (const key of store.metricKeys(db, run.runId)) {
        series[key] = store.metricHistory(db, run.runId, key, 0, 100_000).map((p) => ({ step: p.step, timestamp: p.timestamp, value: p.special || p.value }))
      }
      return { run: toScriptRun(ctx, run), series, artifacts: listArtifacts(ctx, run, '') }
    },
  }),
  'mlflow.artifacts.list': defineOperation({
    summary: "The files and folders directly in one folder of a script run's artifacts",
    input: z.object({ run: z.string().min(1), path: z.string().default('') }).strict(),
    output: z.object({ path: z.string(), entries: z.array(ArtifactEntry) }),
    handler: ({ run: runId, path }, ctx) => ({ path, entries: listArtifacts(ctx, requireScriptRun(ctx, runId), path) }),
  }),
  'mlflow.artifacts.read': defineOperation({
    summary: 'One artifact of a script run for a preview: text as UTF-8, anything else base64; the first maxBytes only',
    input: z
      .object({
        run: z.string().min(1),
        path: z.string().min(1),
        maxBytes: z
          .number()
          .int()
          .min(1)
          .max(PREVIEW_LIMIT)
          .default(256 * 1024),
      })
      .strict(),
    output: z.object({
      path: z.string(),
      size: z.number(),
      contentType: z.string(),
      encoding: z.enum(['utf8', 'base64']),
      content: z.string(),
      truncated: z.boolean(),
    }),
    handler: async ({ run: runId, path, maxBytes }, ctx) => {
      const run = requireScriptRun(ctx, runId)
      const row = store.getArtifact(ctx.workspace.db, artifactPath(run, path))
      if (!row) throw new LatheError('not_found', `run ${runId} has no artifact "${path}"`, { field: 'path' })
      const handle = await fsp.open(ctx.workspace.objects.pathOf(row.sha256), 'r')
      try {
        const buffer = Buffer.alloc(Math.min(maxBytes, row.size))
        await handle.read(buffer, 0, buffer.length, 0)
        const text = isText(row.contentType, path) && !buffer.includes(0)
        return {
          path,
          size: row.size,
          contentType: row.contentType,
          encoding: text ? ('utf8' as const) : ('base64' as const),
          content: text ? buffer.toString('utf8') : buffer.toString('base64'),
          truncated: row.size > buffer.length,
        }
      } finally {
        await handle.close()
      }
    },
  }),
  'mlflow.env': defineOperation({
    summary: 'What a script sets to log here: MLFLOW_TRACKING_URI (this engine) and MLFLOW_TRACKING_TOKEN',
    input: z.object({}).strict(),
    output: z.object({ trackingUri: z.string().nullable(), token: z.string() }),
    handler: (_input, ctx) => ({ trackingUri: ctx.apiUrl(), token: persistentApiToken(ctx.workspace.db) }),
  }),
  'mlflow.token.rotate': defineOperation({
    summary: "Replace the engine's API token (the one MLflow scripts send); the old one stops working at once",
    input: z.object({}).strict(),
    output: z.object({ token: z.string() }),
    handler: (_input, ctx) => {
      const token = rotateApiToken(ctx.workspace.db)
      const url = ctx.apiUrl()
      if (url) ctx.workspace.lock.advertise(url, token)
      return { token }
    },
  }),
})

function listArtifacts(ctx: EngineContext, run: store.RunRow, path: string) {
  const root = runArtifactRoot(run)
  return listFolder(ctx, artifactPath(run, path), (child) => child.slice(root.length + 1)).map((f) => ({
    path: f.path,
    isDir: f.is_dir,
    size: f.file_size ?? null,
  }))
}

function isText(contentType: string, path: string): boolean {
  return /^text\/|json|yaml|csv|xml/.test(contentType) || /\.(txt|json|ya?ml|csv|tsv|md|log|py)$|(^|\/)MLmodel$/i.test(path)
}
