import fs from 'node:fs'
import path from 'node:path'
import type { Command } from 'commander'
import { isLatheError } from '../../engine/api/common/errors.js'
import type { PipelineRun } from '../../engine/pipelines/index.js'
import { CommandExit, emit, ProgressLine, table } from '../output.js'
import { common } from '../program.js'
import { withClient, type CommonOptions } from '../session.js'

/**
 * `lathe pipeline run|status|show [FILE]`. Exit codes: 0 every stage passed or was up
 * to date; 1 a stage failed (named; nothing after it ran); 2 the file is malformed
 * (FILE:LINE:COLUMN) or the command is misused.
 */

/** The pipelines capability (yaml, the stage schemas), loaded when a pipeline command runs, not for --help. */
const pipelines = () => import('../../engine/pipelines/index.js')

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value]
}

/** A malformed file or a bad --force is exit 2, printed as the engine said it (FILE:LINE:COLUMN: ...). */
async function withPipelineErrors<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work()
  } catch (error) {
    if (isLatheError(error) && ((await pipelines()).isPipelineFileError(error) || error.field === 'force')) {
      process.stderr.write(`lathe: ${error.message}\n`)
      throw new CommandExit(2)
    }
    throw error
  }
}

function stageLine(run: PipelineRun, stage: string): string {
  const s = run.stages.find((x) => x.stage === stage)
  if (!s) return `  -       ${stage}`
  const mark = { ran: 'ran    ', skipped: 'skipped', failed: 'FAILED ', running: 'running' }[s.status]
  const what = s.status === 'failed' ? (s.error ?? '') : s.output ? describeOutput(s.output) : ''
  return `  ${mark} ${stage}${what ? `  ${what}` : ''}`
}

function describeOutput(output: NonNullable<PipelineRun['stages'][number]['output']>): string {
  switch (output.type) {
    case 'dataset':
      return `${output.dataset}@${output.version} (${output.rows} rows)`
    case 'split':
      return `${output.dataset}@${output.version} (${Object.entries(output.counts)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')})`
    case 'model':
      return `${output.model ? `${output.model} v${output.version}, ` : ''}run ${output.runId}${output.metrics['test.accuracy'] !== undefined ? `, test accuracy ${output.metrics['test.accuracy'].toFixed(4)}` : ''}`
    case 'promotion':
      return output.previous === output.version
        ? `${output.model}:${output.alias} already v${output.version}`
        : `${output.model}:${output.alias} v${output.previous ?? '-'} -> v${output.version}`
    case 'drift':
      return `${output.datasetDrift ? 'drift' : 'no drift'} (${output.driftedFeatures.length} drifted, share ${output.driftShare.toFixed(2)})`
  }
}

/** Writes next to the target and renames, so a reader never sees half a report. */
function writeReport(file: string, markdown: string): void {
  const target = path.resolve(file)
  const staged = `${target}.${process.pid}.tmp`
  fs.writeFileSync(staged, markdown)
  fs.renameSync(staged, target)
}

export function registerPipelineCommands(program: Command): void {
  const pipeline = program
    .command('pipeline')
    .description('lathe.yaml pipelines: cached stages from data to a gated promotion, run by hand, by CI and by monitors')

  common(pipeline.command('run').argument('[file]', 'the pipeline file (default: ./lathe.yaml)').description('Run the stages that are not up to date'))
    .option('--report <file.md>', 'write a markdown summary (for a pull-request comment)')
    .option('--force <stage>', 'run this stage even if it is up to date (repeatable); what reads it follows', collect)
    .action(async (file: string | undefined, options: CommonOptions & { report?: string; force?: string[] }) => {
      const pipelineFile = (await pipelines()).pipelineFilePath(file)
      const progress = new ProgressLine()
      const { run, markdown } = await withPipelineErrors(() =>
        withClient(options, 'lathe pipeline run', async (client) => {
          let runId: string | null = null
          const training = new Map<string, string>()
          const stop = client.subscribe(['pipelines.stage', 'training.progress'], (event) => {
            if (event.topic === 'pipelines.stage' && event.payload.runId === runId) {
              const p = event.payload
              if (p.trainingRunId) training.set(p.trainingRunId, p.stage)
              if (p.status === 'running') progress.update(`${p.stage}: ${p.message}`)
              else if (!options.json) progress.done(`${p.status === 'failed' ? 'FAILED ' : p.status.padEnd(7)} ${p.stage}  ${p.message}`)
            } else if (event.topic === 'training.progress' && training.has(event.payload.runId)) {
              const p = event.payload
              progress.update(
                `${training.get(p.runId)}: epoch ${p.epoch}/${p.epochs}${p.metrics?.val_loss !== undefined ? ` val_loss ${Number(p.metrics.val_loss).toFixed(4)}` : ''}`,
              )
            }
          })
          try {
            const started = await client.call('pipelines.run', { file: pipelineFile, force: options.force ?? [], trigger: process.env.CI ? 'ci' : 'cli' })
            runId = started.id
            let run = started
            while (run.status === 'running') run = await client.call('pipelines.runs.wait', { run: started.id, timeoutMs: 60_000 })
            const markdown = options.report ? (await client.call('pipelines.report', { run: run.id })).markdown : null
            return { run, markdown }
          } finally {
            stop()
            progress.done()
          }
        }),
      )
      if (options.report && markdown !== null) writeReport(options.report, markdown)
      const ran = run.stages.filter((s) => s.status === 'ran').length
      const skipped = run.stages.filter((s) => s.status === 'skipped').length
      emit(options.json, run, (r) =>
        [
          `pipeline ${r.pipeline} (run ${r.id}): ${r.status}, ${ran} ran, ${skipped} up to date${r.failedStage ? `, stopped at "${r.failedStage}"` : ''}`,
          ...r.graph.map((g) => stageLine(r, g.stage)),
          ...(options.report ? [`report written to ${options.report}`] : []),
        ].join('\n'),
      )
      if (run.status !== 'passed') {
        process.stderr.write(`lathe: stage "${run.failedStage}" failed: ${run.error}\n`)
        throw new CommandExit(1)
      }
    })

  common(
    pipeline.command('status').argument('[file]', 'the pipeline file (default: ./lathe.yaml)').description('Each stage up to date or stale, and why'),
  ).action(async (file: string | undefined, options: CommonOptions) => {
    const status = await withPipelineErrors(() =>
      withClient(options, 'lathe pipeline status', async (client) => client.call('pipelines.status', { file: (await pipelines()).pipelineFilePath(file) })),
    )
    emit(options.json, status, (s) =>
      [
        `pipeline ${s.pipeline}: ${s.upToDate ? 'up to date' : `${s.stages.filter((x) => x.state === 'stale').length} stage(s) stale`}`,
        table(
          ['stage', 'kind', 'state', 'why'],
          s.stages.map((x) => [x.stage, x.kind, x.state, x.reason]),
        ),
      ].join('\n'),
    )
  })

  common(
    pipeline.command('show').argument('[file]', 'the pipeline file (default: ./lathe.yaml)').description('The graph: stages in run order and what each reads'),
  ).action(async (file: string | undefined, options: CommonOptions) => {
    const graph = await withPipelineErrors(() =>
      withClient(options, 'lathe pipeline show', async (client) => client.call('pipelines.show', { file: (await pipelines()).pipelineFilePath(file) })),
    )
    emit(options.json, graph, (g) =>
      [
        `pipeline ${g.pipeline} (${g.file})`,
        ...g.stages.map((s) => `  ${s.stage} [${s.kind}]${s.needs.length ? ` <- ${s.needs.join(', ')}` : ''}   ${s.summary}   (line ${s.line})`),
      ].join('\n'),
    )
  })
}
