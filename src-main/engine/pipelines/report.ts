import { isLatheError, LatheError } from '../api/common/errors.js'
import type { EngineContext } from '../context.js'
import { computeDriftReport, datasetSource, referenceOfModel } from '../monitoring/index.js'
import { resolveModelVersion } from '../registry/index.js'
import { getRun as getTrainingRun } from '../training/index.js'
import { summaryOf } from './runner.js'
import { getRun } from './store.js'
import type { PipelineRun, StageOutput } from './types.js'

/**
 * The markdown summary of one run, fit for a pull-request comment: the stages, the
 * trained version's metrics beside the production version it would replace, the
 * gate's checks, and the drift of the new training data against production's.
 */
export async function pipelineReport(ctx: EngineContext, runId: string): Promise<string> {
  const run = getRun(ctx.workspace.db, runId)
  if (!run) throw new LatheError('not_found', `no pipeline run ${runId}`, { field: 'run' })
  const lines: string[] = []
  const icon = run.status === 'passed' ? '✅' : run.status === 'running' ? '⏳' : '❌'
  lines.push(`## ${icon} Pipeline \`${run.pipeline}\`: ${run.status}`, '')
  lines.push(
    `Run \`${run.id}\` of \`${run.file}\`, started ${run.startedAt}${run.finishedAt ? `, ${seconds(run.startedAt, run.finishedAt)}` : ''}${run.cause ? `, caused by ${run.cause}` : ''}.`,
  )
  if (run.failedStage) lines.push('', `**Stage \`${run.failedStage}\` failed:** ${run.error ?? ''}`)
  lines.push('', '### Stages', '', '| stage | kind | status | output | time |', '| --- | --- | --- | --- | --- |')
  for (const g of run.graph) {
    const s = run.stages.find((x) => x.stage === g.stage)
    const status = s ? s.status : 'not run'
    const output = s?.output ? summaryOf(s.output) : s?.error ? cell(s.error) : ''
    lines.push(`| ${g.stage} | ${g.kind} | ${status} | ${cell(output)} | ${s?.finishedAt && s.status === 'ran' ? seconds(s.startedAt, s.finishedAt) : ''} |`)
  }
  for (const promoteStage of run.graph.filter((g) => g.kind === 'promote')) {
    lines.push(...(await promotionSection(ctx, run, promoteStage.stage, promoteStage.needs[0]!)))
  }
  return `${lines.join('\n')}\n`
}

async function promotionSection(ctx: EngineContext, run: PipelineRun, stage: string, from: string): Promise<string[]> {
  const candidate = run.stages.find((s) => s.stage === from)?.output
  const promotion = run.stages.find((s) => s.stage === stage)
  if (candidate?.type !== 'model' || !candidate.model || candidate.version === null) return []
  const lines = ['', `### ${candidate.model} v${candidate.version} (stage \`${from}\`) for \`${stage}\``]
  const output = promotion?.output as Extract<StageOutput, { type: 'promotion' }> | null | undefined
  const failure = (
    promotion?.detail as { failure?: { gate?: { passed: boolean; checks: Array<{ name: string; passed: boolean; detail: string }> }; alias?: string } } | null
  )?.failure
  const alias = output?.alias ?? failure?.alias ?? 'production'
  // The version the alias held before this run moved it (or still holds, when it did not).
  const baselineNumber = output ? output.previous : currentVersion(ctx, candidate.model, alias)
  const baseline = baselineNumber !== null && baselineNumber !== candidate.version ? resolveModelVersion(ctx, candidate.model, String(baselineNumber)) : null

  const names = [...new Set([...Object.keys(candidate.metrics), ...Object.keys(baseline?.metrics ?? {})])].filter((n) => n.startsWith('test.')).sort()
  lines.push('', `| metric | v${candidate.version} (this run) | ${baseline ? `v${baseline.version} (${alias})` : `${alias}: none`} |`, '| --- | --- | --- |')
  for (const name of names) lines.push(`| ${name} | ${num(candidate.metrics[name])} | ${num(baseline?.metrics[name])} |`)

  const gate = output?.gate ?? failure?.gate
  lines.push('', `#### Gate for ${alias}: ${gate ? (gate.passed ? 'passed' : '**refused**') : promotion ? promotion.status : 'not reached'}`)
  if (gate) {
    lines.push('', '| check | result | detail |', '| --- | --- | --- |')
    for (const c of gate.checks) lines.push(`| ${cell(c.name)} | ${c.passed ? '✅ pass' : '❌ fail'} | ${cell(c.detail)} |`)
  }
  if (output)
    lines.push(
      '',
      output.previous === output.version ? `${alias} already held v${output.version}.` : `${alias} moved v${output.previous ?? '-'} -> v${output.version}.`,
    )

  lines.push('', `#### Drift of the new training data against ${baseline ? `v${baseline.version}'s` : 'the previous'} training data`)
  lines.push('', ...(await driftLines(ctx, candidate.runId, baseline)))
  return lines
}

async function driftLines(ctx: EngineContext, runId: string, baseline: ReturnType<typeof resolveModelVersion> | null): Promise<string[]> {
  if (!baseline) return ['No earlier version held the alias: nothing to compare with.']
  try {
    const trained = getTrainingRun(ctx.workspace.db, runId)
    const current = await datasetSource(ctx, `${trained.dataset.name}@${trained.dataset.version}`, { spec: trained.split, part: 'train' })
    const reference = await referenceOfModel(ctx, baseline)
    const features = trained.features.map((f) => ({ name: f.name }))
    const report = await computeDriftReport(await ctx.workspace.monitor(), reference, current, { features })
    const out = [
      `${current.label} vs ${reference.label}: dataset drift **${report.dataset_drift ? 'yes' : 'no'}** (${report.drifted_features}/${report.features.length} features, share ${report.drift_share.toFixed(2)}, threshold ${report.drift_share_threshold}).`,
      '',
      '| feature | method | statistic | threshold | drifted |',
      '| --- | --- | --- | --- | --- |',
    ]
    for (const f of report.features) out.push(`| ${f.name} | ${f.method} | ${num(f.statistic)} | ${f.threshold} | ${f.drifted ? 'yes' : 'no'} |`)
    return out
  } catch (error) {
    if (!isLatheError(error)) throw error
    return [`Not computed: ${error.message}`]
  }
}

function currentVersion(ctx: EngineContext, model: string, alias: string): number | null {
  try {
    return resolveModelVersion(ctx, model, alias).version
  } catch (error) {
    if (isLatheError(error)) return null
    throw error
  }
}

const num = (x: number | null | undefined) => (x === null || x === undefined ? '' : Number.isInteger(x) ? String(x) : x.toFixed(4))
const cell = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ')
const seconds = (from: string, to: string) => `${((Date.parse(to) - Date.parse(from)) / 1000).toFixed(1)} s`
