import { randomUUID } from 'node:crypto'
import { z } from 'zod'
import { LatheError } from '../api/common/errors.js'
import type { EngineContext } from '../context.js'
import { higherIsBetter } from './metrics.js'
import { seededRandom } from './model.js'
import { planRun, startRun } from './service.js'
import { getSweep, insertSweep, listRuns } from './store.js'
import { RunSpec, TrainParams, type RunRecord } from './types.js'

/**
 * Sweeps: grid or random search over parameters, as one sweep of child runs that
 * share everything else; the best run is chosen by a validation metric.
 */

const paramKeys = new Set(Object.keys(TrainParams.shape))
const specKeys = new Set(['modelFamily', 'seed'])

export const SweepSpec = z
  .object({
    base: RunSpec.omit({ sweepId: true }),
    /** Parameter name (a TrainParams field, `modelFamily` or `seed`) -> values to try. */
    space: z.record(z.string(), z.array(z.unknown()).min(1)),
    method: z.enum(['grid', 'random']).default('grid'),
    /** Random search: how many draws from the space. */
    trials: z.number().int().min(1).max(200).default(8),
    /** Validation metric to rank by (`loss`, `accuracy`, `rmse`, ...). */
    metric: z.string().default('loss'),
    seed: z.number().int().default(0),
  })
  .strict()
export type SweepSpec = z.infer<typeof SweepSpec>

function gridOf(space: Record<string, unknown[]>): Array<Record<string, unknown>> {
  let combos: Array<Record<string, unknown>> = [{}]
  for (const [key, values] of Object.entries(space)) {
    combos = combos.flatMap((c) => values.map((v) => ({ ...c, [key]: v })))
  }
  return combos
}

export function sweepCombinations(spec: SweepSpec): Array<Record<string, unknown>> {
  if (spec.method === 'grid') return gridOf(spec.space)
  const random = seededRandom(spec.seed)
  return Array.from({ length: spec.trials }, () =>
    Object.fromEntries(Object.entries(spec.space).map(([k, values]) => [k, values[Math.floor(random() * values.length)]])),
  )
}

function applyCombination(base: SweepSpec['base'], combo: Record<string, unknown>): z.input<typeof RunSpec> {
  const params: Record<string, unknown> = { ...base.params }
  const top: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(combo)) {
    if (paramKeys.has(key)) params[key] = value
    else if (specKeys.has(key)) top[key] = value
    else {
      throw new LatheError('bad_request', `sweep parameter "${key}" is not one of ${[...paramKeys, ...specKeys].join(', ')}`, {
        field: `space.${key}`,
      })
    }
  }
  return { ...base, ...top, params: params as z.input<typeof TrainParams> }
}

export async function startSweep(ctx: EngineContext, input: z.input<typeof SweepSpec>): Promise<{ sweepId: string; runs: RunRecord[] }> {
  const parsed = SweepSpec.safeParse(input)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    throw new LatheError('bad_request', `bad sweep: ${issue.path.join('.')}: ${issue.message}`, { field: issue.path.join('.') })
  }
  const spec = parsed.data
  const combos = sweepCombinations(spec)
  if (combos.length > 200) throw new LatheError('too_large', `the grid has ${combos.length} runs; at most 200 per sweep`, { field: 'space' })
  // Check every child spec before queueing any, so a bad value changes nothing.
  const specs = combos.map((combo) => {
    const child = RunSpec.safeParse(applyCombination(spec.base, combo))
    if (!child.success) {
      const issue = child.error.issues[0]!
      throw new LatheError('bad_request', `sweep value ${JSON.stringify(combo)}: ${issue.path.join('.')}: ${issue.message}`, {
        field: 'space',
      })
    }
    return child.data
  })
  await planRun(ctx, specs[0]!)
  const sweepId = `sweep-${randomUUID().slice(0, 8)}`
  insertSweep(ctx.workspace.db, { id: sweepId, createdAt: new Date().toISOString(), method: spec.method, metric: spec.metric, spec })
  const runs: RunRecord[] = []
  for (const s of specs) runs.push(await startRun(ctx, { ...s, sweepId }))
  return { sweepId, runs }
}

export function sweepSummary(ctx: EngineContext, sweepId: string) {
  const sweep = getSweep(ctx.workspace.db, sweepId)
  const runs = listRuns(ctx.workspace.db, { sweepId }).reverse()
  const metric = sweep.metric.replace(/^val_/, '')
  const higher = higherIsBetter(metric)
  let best: RunRecord | null = null
  for (const run of runs) {
    const value = run.metrics?.validation[metric]
    if (run.status !== 'finished' || value === undefined) continue
    const bestValue = best?.metrics?.validation[metric]
    if (bestValue === undefined || (higher ? value > bestValue : value < bestValue)) best = run
  }
  return { id: sweep.id, method: sweep.method, metric: sweep.metric, createdAt: sweep.createdAt, runs, bestRunId: best?.id ?? null }
}
