import type { ModelSignature, TensorSpec } from '../api/common/signature.js'
import { isLatheError } from '../api/common/errors.js'
import type { EngineContext } from '../context.js'
import { getDatasetVersionById } from '../data/index.js'
import { evaluateOnTestSplit } from './evaluate.js'
import type { VersionRow } from './store.js'
import { largerIsBetter } from './upstream.js'
import type { GateCheck, GateConfig, GateResult } from './types.js'

/**
 * Runs a gate's checks for moving an alias from `current` (null when unset) to
 * `candidate`. Every check runs, so a refusal lists every reason at once.
 */
export async function runGate(ctx: EngineContext, candidate: VersionRow, current: VersionRow | null, config: GateConfig): Promise<GateResult> {
  const checks: GateCheck[] = []
  for (const t of config.thresholds) {
    const value = candidate.metrics[t.metric]
    const name = `metric ${t.metric} ${t.op} ${t.value}`
    if (value === undefined) {
      const known = Object.keys(candidate.metrics)
      checks.push({ name, passed: false, detail: `v${candidate.version} has no metric "${t.metric}" (it has: ${known.join(', ') || 'none'})` })
    } else {
      const passed = compare(value, t.op, t.value)
      checks.push({ name, passed, detail: `v${candidate.version} ${t.metric} = ${fmt(value)}, required ${t.op} ${t.value}` })
    }
  }
  if (config.noWorseThan) checks.push(await noWorseThanCurrent(ctx, candidate, current, config.noWorseThan))
  if (config.signatureCompatible) checks.push(signatureCheck(candidate, current))
  if (config.dataValidation) checks.push(dataValidationCheck(ctx, candidate))
  return { passed: checks.every((c) => c.passed), checks }
}

async function noWorseThanCurrent(
  ctx: EngineContext,
  candidate: VersionRow,
  current: VersionRow | null,
  rule: { metric: string; tolerance: number },
): Promise<GateCheck> {
  const name = `no worse than current on ${rule.metric}`
  if (!current) return { name, passed: true, detail: 'the alias holds no version yet' }
  if (current.versionId === candidate.versionId) return { name, passed: true, detail: `the alias already holds v${candidate.version}` }
  try {
    const evaluation = await evaluateOnTestSplit(ctx, candidate, [candidate, current])
    const metric = rule.metric.startsWith('test.') ? rule.metric : `test.${rule.metric}`
    const [mine, theirs] = evaluation.metrics.map((m) => m[metric])
    if (mine === undefined || theirs === undefined) {
      return { name, passed: false, detail: `metric "${metric}" is not computed (available: ${Object.keys(evaluation.metrics[0]!).join(', ')})` }
    }
    const lower = !largerIsBetter(metric)
    const passed = lower ? mine <= theirs + rule.tolerance : mine >= theirs - rule.tolerance
    const where = `${candidate.dataset!.name}@${candidate.dataset!.version} test split, ${evaluation.rows} rows`
    return {
      name,
      passed,
      detail: `v${candidate.version} ${metric} = ${fmt(mine)} vs current v${current.version} ${metric} = ${fmt(theirs)} on ${where} (${lower ? 'lower' : 'higher'} is better${rule.tolerance ? `, tolerance ${rule.tolerance}` : ''})`,
    }
  } catch (error) {
    if (!isLatheError(error)) throw error
    return { name, passed: false, detail: `cannot re-evaluate: ${error.message}` }
  }
}

/**
 * A client of the alias sends the current version's inputs and reads its outputs:
 * the candidate must accept those inputs (no new required ones, same types) and
 * still produce those outputs.
 */
export function signatureCheck(candidate: VersionRow, current: VersionRow | null): GateCheck {
  const name = 'signature compatible with current'
  if (!current) return { name, passed: true, detail: 'the alias holds no version yet' }
  const problems = signatureProblems(candidate.signature, current.signature)
  return problems.length
    ? { name, passed: false, detail: `v${candidate.version} vs v${current.version}: ${problems.join('; ')}` }
    : { name, passed: true, detail: `v${candidate.version} takes and gives what v${current.version} does` }
}

export function signatureProblems(candidate: ModelSignature, current: ModelSignature): string[] {
  const problems: string[] = []
  const byName = (list: TensorSpec[]) => new Map(list.map((t) => [t.name, t]))
  const currentInputs = byName(current.inputs)
  for (const input of candidate.inputs) {
    const old = currentInputs.get(input.name)
    if (!old) problems.push(`new input "${input.name}" that callers do not send`)
    else if (old.dtype !== input.dtype) problems.push(`input "${input.name}" is ${input.dtype}, was ${old.dtype}`)
    else if (!shapesCompatible(old.shape, input.shape)) problems.push(`input "${input.name}" shape [${input.shape}] differs from [${old.shape}]`)
  }
  const candidateOutputs = byName(candidate.outputs)
  for (const output of current.outputs) {
    const now = candidateOutputs.get(output.name)
    if (!now) problems.push(`output "${output.name}" is gone`)
    else if (now.dtype !== output.dtype) problems.push(`output "${output.name}" is ${now.dtype}, was ${output.dtype}`)
  }
  if (current.task && candidate.task && current.task !== candidate.task) problems.push(`task is ${candidate.task}, was ${current.task}`)
  if (current.classes && candidate.classes && current.classes.join('\u0000') !== candidate.classes.join('\u0000')) {
    problems.push(`classes [${candidate.classes.join(', ')}] differ from [${current.classes.join(', ')}]`)
  }
  return problems
}

function shapesCompatible(a: Array<number | null>, b: Array<number | null>): boolean {
  return a.length === b.length && a.every((d, i) => d === null || b[i] === null || d === b[i])
}

function dataValidationCheck(ctx: EngineContext, candidate: VersionRow): GateCheck {
  const name = 'training data validation passed'
  if (!candidate.dataset) return { name, passed: true, detail: 'no training data recorded (model trained outside Lathe)' }
  const ref = `${candidate.dataset.name}@${candidate.dataset.version}`
  try {
    const status = getDatasetVersionById(ctx, candidate.dataset.versionId).validation.status
    if (status === 'failed') return { name, passed: false, detail: `${ref} failed its validation rules` }
    return { name, passed: true, detail: status === 'passed' ? `${ref} passed its validation rules` : `${ref} has no validation rules` }
  } catch (error) {
    if (!isLatheError(error)) throw error
    return { name, passed: false, detail: `${ref} is not in this workspace: ${error.message}` }
  }
}

function compare(value: number, op: '>=' | '>' | '<=' | '<', bound: number): boolean {
  return op === '>=' ? value >= bound : op === '>' ? value > bound : op === '<=' ? value <= bound : value < bound
}

function fmt(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(4)
}
