import type { EngineContext } from '../context.js'
import { appendAudit } from '../workspace/index.js'
import type { ActionOutcome, Alert, AlertAction } from './types.js'

/**
 * How a monitor's `run-pipeline` action reaches the pipelines capability, which sits
 * above monitoring and so cannot be imported from here: pipelines provides the
 * runner when the engine starts (its `pipelines.monitor-runner` service), and the action looks it up.
 */
export interface PipelineRunRequest {
  /** The pipeline file, absolute or relative to the engine's working folder. */
  file: string
  /** The alert that asked for the run: recorded on the run, its promotions and the audit log. */
  cause: string
  force: string[]
}

export interface PipelineRunOutcome {
  runId: string
  status: 'passed' | 'failed'
  failedStage: string | null
  message: string
  promoted: Array<{ model: string; alias: string; version: number; previous: number | null }>
}

export type PipelineRunner = (ctx: EngineContext, request: PipelineRunRequest) => Promise<PipelineRunOutcome>

interface Slot {
  runner: PipelineRunner | null
}

const slotOf = (ctx: EngineContext) => ctx.singleton<Slot>('monitoring.pipelineRunner', () => ({ runner: null }))

export function providePipelineRunner(ctx: EngineContext, runner: PipelineRunner): void {
  slotOf(ctx).runner = runner
}

export function pipelineRunnerOf(ctx: EngineContext): PipelineRunner | null {
  return slotOf(ctx).runner
}

/**
 * A monitor's `run-pipeline` action: the same `lathe.yaml` a person runs by hand,
 * with the alert's id as the run's cause (on the pipeline run, every promotion it
 * makes, and the audit entries written here).
 */
export async function runPipelineAction(
  ctx: EngineContext,
  alert: Alert,
  action: Extract<AlertAction, { type: 'run-pipeline' }>,
  record: (outcome: ActionOutcome) => void,
): Promise<void> {
  const db = ctx.workspace.db
  const audit = (name: string, after: unknown) =>
    db.transaction(() =>
      appendAudit(db, {
        actor: 'lathe-monitoring',
        action: name,
        entityType: 'pipeline',
        entityId: action.file,
        after,
        reason: `alert ${alert.id}: ${alert.message}`,
      }),
    )()
  const runner = pipelineRunnerOf(ctx)
  if (!runner) {
    record({ type: 'run-pipeline', status: 'failed', detail: 'this engine has no pipelines capability to run the file' })
    return
  }
  try {
    audit('monitoring.pipeline.start', { file: action.file, force: action.force })
    const outcome = await runner(ctx, { file: action.file, cause: alert.id, force: action.force })
    audit(outcome.status === 'passed' ? 'monitoring.pipeline.passed' : 'monitoring.pipeline.failed', outcome)
    const moved = outcome.promoted.find((p) => p.version !== p.previous)
    record({
      type: 'run-pipeline',
      status: outcome.status === 'passed' ? 'done' : 'failed',
      detail: outcome.message,
      pipelineRunId: outcome.runId,
      ...(moved ? { version: moved.version } : {}),
      promoted: moved !== undefined,
    })
  } catch (error) {
    record({ type: 'run-pipeline', status: 'failed', detail: (error as Error).message })
  }
}
