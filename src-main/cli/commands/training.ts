import { type Command, InvalidArgumentError, Option } from 'commander'
import { LatheError } from '../../engine/api/common/errors.js'
import type { RunRecord } from '../../engine/training/index.js'
import { emit, ProgressLine, table } from '../output.js'
import { common, parseNumber, parsePositiveInt } from '../program.js'
import { withClient, type Client, type CommonOptions } from '../session.js'
import { describeScriptRun, describeScriptRuns, showScriptRun } from './mlflow.js'

const backends = ['auto', 'wasm', 'cpu', 'tfjs-node', 'webgpu', 'tfjs-node-gpu'] as const

interface TrainOptions extends CommonOptions {
  dataset: string
  target: string
  model: 'mlp' | 'linear'
  task?: 'classification' | 'regression'
  epochs?: number
  batch?: number
  lr?: number
  hidden?: number[]
  seed?: number
  backend: (typeof backends)[number]
  exclude?: string[]
  registerAs?: string
  allowInvalidData?: boolean
  allowManyClasses?: boolean
  dropout?: number
  patience?: number
}

function parseList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
}

function parseHidden(value: string): number[] {
  if (value.trim() === '') return []
  return value.split(',').map((s) => {
    const n = Number(s)
    if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`"${value}" is not a list of layer widths like 64,64`)
    return n
  })
}

function fmt(value: number | undefined): string {
  if (value === undefined) return ''
  return Number.isInteger(value) ? String(value) : value.toPrecision(4)
}

function trainingOptions(command: Command): Command {
  return common(command)
    .requiredOption('-d, --dataset <ref>', 'dataset name or name@version')
    .requiredOption('-t, --target <column>', 'column to predict')
    .addOption(new Option('--model <family>', 'model family').choices(['mlp', 'linear']).default('mlp'))
    .addOption(new Option('--task <task>', 'default: from the target column type').choices(['classification', 'regression']))
    .option('--epochs <n>', 'epochs (default 20)', parsePositiveInt)
    .option('--batch <n>', 'batch size (default 256)', parsePositiveInt)
    .option('--lr <x>', 'learning rate (default 0.001)', parseNumber)
    .option('--hidden <widths>', 'hidden layer widths, e.g. 64,64', parseHidden)
    .option('--dropout <x>', 'dropout rate between hidden layers', parseNumber)
    .option('--patience <n>', 'stop early after N epochs without a better validation loss', parsePositiveInt)
    .option('--seed <n>', 'seed for initialization, shuffling and dropout (default 42)', (v) => parsePositiveInt(String(Number(v) + 1)) - 1)
    .addOption(new Option('--backend <backend>', 'compute backend').choices([...backends]).default('auto'))
    .option('--exclude <columns>', 'columns to leave out of the features, comma-separated', parseList)
    .option('--register-as <model>', 'register the finished run as a version of this model')
    .option('--allow-invalid-data', 'train even on a dataset version that failed its validation rules')
    .option('--allow-many-classes', 'classify even a target with more than 100 distinct values (refused otherwise)')
}

function specOf(o: TrainOptions) {
  const params: Record<string, unknown> = {}
  if (o.epochs !== undefined) params.epochs = o.epochs
  if (o.batch !== undefined) params.batchSize = o.batch
  if (o.lr !== undefined) params.learningRate = o.lr
  if (o.hidden !== undefined) params.hidden = o.hidden
  if (o.dropout !== undefined) params.dropout = o.dropout
  if (o.patience !== undefined) params.earlyStopping = { metric: 'loss', patience: o.patience }
  return {
    dataset: o.dataset,
    target: o.target,
    task: o.task,
    modelFamily: o.model,
    params,
    seed: o.seed,
    backend: o.backend,
    exclude: o.exclude,
    registerAs: o.registerAs ?? null,
    allowInvalidData: o.allowInvalidData ?? false,
    allowManyClasses: o.allowManyClasses ?? false,
  }
}

/** Waits for a run with a live progress line; Ctrl-C cancels it. */
async function followRun(client: Client, runId: string, progress: ProgressLine): Promise<RunRecord> {
  const stop = client.subscribe(['training.progress'], (event) => {
    const p = event.payload
    if (p.runId !== runId) return
    if (p.batch !== undefined) {
      progress.update(`${runId}: epoch ${p.epoch}/${p.epochs} batch ${p.batch}/${p.batches ?? '?'} loss ${fmt(p.loss)}`)
      return
    }
    const metric = Object.entries(p.metrics).find(([k]) => k !== 'val_loss' && k !== 'epoch_seconds' && k.startsWith('val_'))
    progress.update(
      `${runId}: epoch ${p.epoch}/${p.epochs} loss ${fmt(p.loss)} val_loss ${fmt(p.metrics.val_loss)}` +
        (metric ? ` ${metric[0]} ${fmt(metric[1] as number)}` : ''),
    )
  })
  const onInterrupt = () => {
    progress.update(`${runId}: cancelling`)
    void client.call('training.runs.cancel', { run: runId }).catch(() => undefined)
  }
  process.once('SIGINT', onInterrupt)
  try {
    // Waits in slices: a single request held open for a long run would meet the HTTP
    // server's request timeout when the engine is another process.
    for (;;) {
      try {
        return await client.call('training.runs.wait', { run: runId, timeoutMs: 60_000 })
      } catch (error) {
        if (!(error instanceof LatheError && error.code === 'unavailable' && /did not end within/.test(error.message))) throw error
      }
    }
  } finally {
    process.off('SIGINT', onInterrupt)
    stop()
    progress.done()
  }
}

function describeRun(run: RunRecord, epochSeconds: number[]): string {
  const lines = [
    `run ${run.id}: ${run.status}${run.error ? ` (${run.error})` : ''}`,
    `  ${run.task} of ${run.target} on ${run.dataset.name}@${run.dataset.version}, ${run.modelFamily} ${JSON.stringify(run.params.hidden)}, seed ${run.seed}`,
    `  backend ${run.backend?.name ?? run.requestedBackend}${run.backend?.device ? ` (${run.backend.device})` : ''}, ${run.epochsRun} epochs` +
      (epochSeconds.length ? `, ${fmt(epochSeconds.reduce((a, b) => a + b, 0) / epochSeconds.length)} s/epoch` : ''),
  ]
  if (run.metrics) {
    const names = [...new Set([...Object.keys(run.metrics.validation), ...Object.keys(run.metrics.test)])]
    lines.push(
      table(
        ['metric', 'validation', 'test'],
        names.map((n) => [n, fmt(run.metrics!.validation[n]), fmt(run.metrics!.test[n])]),
      ),
    )
  }
  if (run.metrics?.confusion) {
    const c = run.metrics.confusion
    lines.push('confusion matrix (test; rows true, columns predicted):')
    lines.push(
      table(
        ['', ...c.labels],
        c.test.map((row, i) => [c.labels[i], ...row]),
      ),
    )
  }
  for (const warning of run.warnings ?? []) lines.push(`warning: ${warning}`)
  if (run.model) lines.push(`model: ONNX object ${run.model.onnxSha256}`)
  return lines.join('\n')
}

function trainJson(run: RunRecord, epochSeconds: number[]) {
  return {
    run: run.id,
    status: run.status,
    error: run.error,
    backend: run.backend?.name ?? null,
    dataset: run.dataset.name,
    version: run.dataset.version,
    task: run.task,
    metrics: { test: run.metrics?.test ?? {}, validation: run.metrics?.validation ?? {} },
    epoch_seconds: epochSeconds,
    model: run.model?.onnxSha256 ?? null,
  }
}

/** `lr=0.001|0.01`, `hidden=32|64,64`: a parameter and the values a sweep tries. */
function collectGrid(value: string, previous: Record<string, unknown[]> = {}): Record<string, unknown[]> {
  const eq = value.indexOf('=')
  if (eq <= 0) throw new InvalidArgumentError(`"${value}" is not PARAM=V1|V2 (e.g. learningRate=0.001|0.01)`)
  const aliases: Record<string, string> = { lr: 'learningRate', batch: 'batchSize', model: 'modelFamily' }
  const key = aliases[value.slice(0, eq)] ?? value.slice(0, eq)
  const values = value
    .slice(eq + 1)
    .split('|')
    .map((v) => (key === 'hidden' ? parseHidden(v) : v !== '' && Number.isFinite(Number(v)) ? Number(v) : v))
  return { ...previous, [key]: values }
}

export function registerTrainingCommands(program: Command): void {
  trainingOptions(program.command('train').description('Train a model on a dataset version in a background worker, with live progress'))
    .option('--no-wait', 'queue the run and return at once')
    .action(async (options: TrainOptions & { wait: boolean }) => {
      const progress = new ProgressLine()
      const { run, series } = await withClient(options, 'lathe train', async (client) => {
        const queued = await client.call('training.start', specOf(options))
        if (!options.wait) return { run: queued, series: {} as Record<string, Array<{ value: number }>> }
        progress.update(`${queued.id}: queued`)
        const done = await followRun(client, queued.id, progress)
        return client.call('training.runs.show', { run: done.id })
      })
      const epochSeconds = (series.epoch_seconds ?? []).map((p) => p.value)
      emit(options.json, trainJson(run, epochSeconds), () => describeRun(run, epochSeconds))
      if (run.status === 'failed' || run.status === 'cancelled') {
        throw new LatheError('conflict', `run ${run.id} ${run.status}${run.error ? `: ${run.error}` : ''}`)
      }
    })

  const runs = program.command('runs').description('Training runs: list, show, cancel')
  common(runs.command('list').description('Runs, newest first'))
    .addOption(new Option('--status <status>').choices(['queued', 'running', 'finished', 'failed', 'cancelled']))
    .option('--dataset <name>', 'only runs on this dataset')
    .option('--sweep <id>', 'only the runs of this sweep')
    .action(async (options: CommonOptions & { status?: 'queued'; dataset?: string; sweep?: string }) => {
      const [result, scripts] = await withClient(options, 'lathe runs list', (client) =>
        Promise.all([
          client.call('training.runs.list', { status: options.status, dataset: options.dataset, sweepId: options.sweep }),
          options.json || options.status || options.dataset || options.sweep ? null : client.call('mlflow.runs.list', {}),
        ]),
      )
      emit(
        options.json,
        result,
        (r) =>
          (scripts?.runs.length ? `${describeScriptRuns(scripts.runs)}\n\n` : '') +
          (r.runs.length === 0
            ? scripts?.runs.length
              ? 'no training runs yet'
              : 'no runs yet: lathe train --dataset NAME --target COLUMN'
            : table(
                ['run', 'status', 'dataset', 'target', 'model', 'epochs', 'validation', 'test', 'created'],
                r.runs.map((run) => {
                  const key = run.task === 'classification' ? 'accuracy' : 'rmse'
                  return [
                    run.id,
                    run.status,
                    `${run.dataset.name}@${run.dataset.version}`,
                    run.target,
                    run.modelFamily,
                    run.epochsRun,
                    run.metrics ? `${key} ${fmt(run.metrics.validation[key])}` : '',
                    run.metrics ? `${key} ${fmt(run.metrics.test[key])}` : '',
                    run.createdAt,
                  ]
                }),
              )),
      )
    })

  common(runs.command('show <run>').description("A run's record: parameters, backend, metrics, confusion matrix, model")).action(
    async (runId: string, options: CommonOptions) => {
      const script = await withClient(options, 'lathe runs show', (client) => showScriptRun(client, runId))
      if (script) return emit(options.json, script, describeScriptRun)
      const result = await withClient(options, 'lathe runs show', (client) => client.call('training.runs.show', { run: runId }))
      emit(options.json, result, (r) =>
        describeRun(
          r.run,
          (r.series.epoch_seconds ?? []).map((p) => p.value),
        ),
      )
    },
  )

  common(runs.command('cancel <run>').description('Cancel a queued or running run')).action(async (runId: string, options: CommonOptions) => {
    const run = await withClient(options, 'lathe runs cancel', (client) => client.call('training.runs.cancel', { run: runId }))
    emit(options.json, run, (r) => `run ${r.id}: ${r.status}`)
  })

  common(runs.command('delete <run>').description('Delete a run nothing refers to; archive one a model version was registered from'))
    .option('--dry-run', 'say what would happen, change nothing')
    .action(async (runId: string, options: CommonOptions & { dryRun?: boolean }) => {
      const r = await withClient(options, 'lathe runs delete', (client) => client.call('training.runs.delete', { run: runId, dryRun: options.dryRun ?? false }))
      emit(options.json, r, (x) =>
        [`run ${x.run}: ${x.dryRun ? 'dry run, nothing changed' : x.action}`, ...x.reasons.map((reason) => `  ${reason}`)].join('\n'),
      )
    })

  common(runs.command('archive <run>').description('Archive a run (hidden from lists, kept for lineage); --restore brings it back'))
    .option('--restore', 'un-archive it')
    .action(async (runId: string, options: CommonOptions & { restore?: boolean }) => {
      const r = await withClient(options, 'lathe runs archive', (client) => client.call('training.runs.archive', { run: runId, archived: !options.restore }))
      emit(options.json, r, (x) => `run ${x.id}: ${x.archivedAt ? 'archived' : 'restored'}`)
    })

  trainingOptions(program.command('sweep').description('Grid or random search: one run per parameter combination, and the best'))
    .requiredOption('--grid <param=v1|v2>', 'values to try, e.g. lr=0.001|0.01 or hidden=32|64,64 (repeatable)', collectGrid)
    .addOption(new Option('--method <method>').choices(['grid', 'random']).default('grid'))
    .option('--trials <n>', 'random search: number of runs (default 8)', parsePositiveInt)
    .option('--metric <name>', 'validation metric to rank by (default loss)', 'loss')
    .action(async (options: TrainOptions & { grid: Record<string, unknown[]>; method: 'grid' | 'random'; trials?: number; metric: string }) => {
      const progress = new ProgressLine()
      const summary = await withClient(options, 'lathe sweep', async (client) => {
        const started = await client.call('training.sweep.start', {
          base: specOf(options),
          space: options.grid,
          method: options.method,
          trials: options.trials,
          metric: options.metric,
        })
        for (const [i, run] of started.runs.entries()) {
          progress.update(`${started.sweepId}: run ${i + 1}/${started.runs.length} ${run.id}`)
          await followRun(client, run.id, progress)
        }
        return client.call('training.sweep.show', { sweep: started.sweepId })
      })
      emit(options.json, summary, (s) => {
        const metric = s.metric.replace(/^val_/, '')
        return [
          `sweep ${s.id} (${s.method}, ${s.runs.length} runs), ranked by validation ${metric}; best: ${s.bestRunId ?? 'none finished'}`,
          table(
            ['run', 'status', 'params', metric],
            s.runs.map((r) => [
              r.id + (r.id === s.bestRunId ? ' *' : ''),
              r.status,
              Object.keys(options.grid)
                .map((k) => `${k}=${JSON.stringify((r.params as Record<string, unknown>)[k] ?? (r as unknown as Record<string, unknown>)[k])}`)
                .join(' '),
              fmt(r.metrics?.validation[metric]),
            ]),
          ),
        ].join('\n')
      })
    })
}
