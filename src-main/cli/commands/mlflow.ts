import type { Command } from 'commander'
import { isLatheError, LatheError } from '../../engine/api/common/errors.js'
import type { Contract } from '../../engine/contract.js'
import { findRunningEngine } from '../../engine/workspace/index.js'
import { emit, table } from '../output.js'
import { common } from '../program.js'
import { withClient, workspaceDirOf, type Client, type CommonOptions } from '../session.js'

type ScriptRunShow = Contract['mlflow.runs.show']['output']
type ScriptRun = Contract['mlflow.runs.list']['output']['runs'][number]

/** `lathe mlflow-env`, `lathe token [--rotate]`: what a Python script needs to log into this workspace. */
export function registerMlflowCommands(program: Command): void {
  common(
    program
      .command('mlflow-env')
      .description('MLFLOW_TRACKING_URI and MLFLOW_TRACKING_TOKEN for the running engine (the app or `lathe ui`): eval "export $(lathe mlflow-env)"'),
  ).action(async (options: CommonOptions) => {
    const dir = workspaceDirOf(options)
    if (!findRunningEngine(dir)) {
      throw new LatheError(
        'unavailable',
        `no engine is running on ${dir}: start the app or \`lathe ui\` first, then run lathe mlflow-env (scripts log to a running engine)`,
      )
    }
    const env = await withClient(options, 'lathe mlflow-env', (client) => client.call('mlflow.env', {}))
    emit(options.json, env, (e) => `MLFLOW_TRACKING_URI=${e.trackingUri}\nMLFLOW_TRACKING_TOKEN=${e.token}`)
  })

  common(program.command('token').description('The engine API token (kept across restarts; MLflow scripts send it as MLFLOW_TRACKING_TOKEN)'))
    .option('--rotate', 'replace it: the old token stops working at once')
    .action(async (options: CommonOptions & { rotate?: boolean }) => {
      const result = await withClient(options, 'lathe token', (client) =>
        options.rotate ? client.call('mlflow.token.rotate', {}) : client.call('mlflow.env', {}).then((e) => ({ token: e.token })),
      )
      emit(options.json, result, (r) =>
        options.rotate ? `new token: ${r.token}\n(scripts need MLFLOW_TRACKING_TOKEN=${r.token}; reload an open UI)` : r.token,
      )
    })
}

/** `lathe runs show RUN` for a run logged through the MLflow API, or null when RUN is not one. */
export async function showScriptRun(client: Client, runId: string): Promise<ScriptRunShow | null> {
  try {
    return await client.call('mlflow.runs.show', { run: runId })
  } catch (error) {
    if (isLatheError(error) && error.code === 'not_found' && error.field === 'run') return null
    throw error
  }
}

export function describeScriptRun({ run, series, artifacts }: ScriptRunShow): string {
  const when = (ms: number | null) => (ms ? new Date(ms).toISOString() : '')
  const lines = [
    `run ${run.runId} (${run.runName}): ${run.status}, logged through the MLflow API`,
    `  experiment ${run.experimentName} (${run.experimentId}), user ${run.userId}, source ${run.sourceName ?? '?'} (${run.sourceType ?? '?'}), client ${run.client}`,
    `  started ${when(run.startTime)}${run.endTime ? `, ended ${when(run.endTime)}` : ''}`,
    `  artifacts ${run.artifactUri}`,
    '',
    'Params:',
    Object.keys(run.params).length ? table(['key', 'value'], Object.entries(run.params)) : '  (none)',
    '',
    'Metrics (latest; points logged):',
    Object.keys(run.metrics).length
      ? table(
          ['key', 'value', 'points'],
          Object.entries(run.metrics).map(([k, v]) => [k, v, series[k]?.length ?? 0]),
        )
      : '  (none)',
    '',
    'Tags:',
    table(
      ['key', 'value'],
      Object.entries(run.tags).map(([k, v]) => [k, v.length > 80 ? `${v.slice(0, 77)}...` : v]),
    ),
    '',
    'Artifacts:',
    artifacts.length
      ? table(
          ['path', 'size'],
          artifacts.map((a) => [a.isDir ? `${a.path}/` : a.path, a.size ?? '']),
        )
      : '  (none)',
  ]
  return lines.join('\n')
}

/** The script runs `lathe runs list` prints above the training runs. */
export function describeScriptRuns(runs: ScriptRun[]): string {
  return [
    'Runs logged through the MLflow API (lathe runs show RUN):',
    table(
      ['run', 'name', 'experiment', 'status', 'user', 'source', 'metrics', 'started'],
      runs.map((r) => [
        r.runId,
        r.runName,
        r.experimentName,
        r.status,
        r.userId,
        r.sourceName,
        Object.entries(r.metrics)
          .slice(0, 3)
          .map(([k, v]) => `${k} ${typeof v === 'number' ? Number(v.toPrecision(4)) : v}`)
          .join(', '),
        new Date(r.startTime).toISOString(),
      ]),
    ),
  ].join('\n')
}
