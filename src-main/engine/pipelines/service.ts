import { defineServices } from '../api/index.js'
import type { EngineContext } from '../context.js'
import { providePipelineRunner, type PipelineRunner } from '../monitoring/index.js'
import { startPipelineRun } from './runner.js'

/**
 * A monitor's `run-pipeline` action: the same run a person starts, caused by the
 * alert. Provided to monitoring when an engine starts.
 */
const runForMonitor: PipelineRunner = async (ctx, request) => {
  const { done } = startPipelineRun(ctx, { file: request.file, force: request.force, trigger: 'monitor', cause: request.cause })
  const run = await done
  const promoted = run.stages.flatMap((s) =>
    s.status === 'ran' && s.output?.type === 'promotion'
      ? [{ model: s.output.model, alias: s.output.alias, version: s.output.version, previous: s.output.previous }]
      : [],
  )
  const ran = run.stages.filter((s) => s.status === 'ran').map((s) => s.stage)
  const message =
    run.status === 'passed'
      ? `pipeline ${run.pipeline} run ${run.id} passed (ran: ${ran.join(', ') || 'nothing, all up to date'})${promoted.map((p) => `; ${p.model}:${p.alias} v${p.previous ?? '-'} -> v${p.version}`).join('')}`
      : `pipeline ${run.pipeline} run ${run.id} failed at stage ${run.failedStage}: ${run.error}`
  return { runId: run.id, status: run.status === 'passed' ? 'passed' : 'failed', failedStage: run.failedStage, message, promoted }
}

export function startPipelinesService(ctx: EngineContext): void {
  providePipelineRunner(ctx, runForMonitor)
}

/** Every engine answers a monitor's run-pipeline action (one-shot engines run monitors only by hand). */
export const pipelinesServices = defineServices({ name: 'pipelines.monitor-runner', runsIn: 'always', start: startPipelinesService })
