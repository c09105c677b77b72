import type { DuckDBConnection } from '@duckdb/node-api'
import { z } from 'zod'
import { isNumericType } from '../../api/common/column-types.js'
import { LatheError } from '../../api/common/errors.js'
import { queryRows } from '../monitorDb.js'
import type { ReferenceCache } from './referenceCache.js'
import type { TableSource } from './sources.js'
import type { FeatureStatistics } from './statistics.js'

/**
 * What both paths of a drift report share (exact.ts, onepass.ts): the report's shape,
 * the method chosen for each feature (the way practitioners do, or set per feature), the
 * decision against its threshold, and the report assembled from its features: the share
 * of drifted features against the dataset threshold, and the same for the model's output.
 */

export const DriftMethod = z.enum(['ks', 'chi2', 'wasserstein', 'jensenshannon', 'psi'])
export type DriftMethod = z.infer<typeof DriftMethod>

/** p-value methods flag drift below their threshold; distance methods above it. */
const pValueMethods = new Set<DriftMethod>(['ks', 'chi2'])
export const defaultThresholds: Record<DriftMethod, number> = { ks: 0.05, chi2: 0.05, wasserstein: 0.1, jensenshannon: 0.1, psi: 0.1 }
/** Below this many reference rows, tests of significance; above, distances (Evidently's rule). */
export const SMALL_SAMPLE_ROWS = 1000

export const FeatureOverride = z.object({
  name: z.string(),
  kind: z.enum(['numeric', 'categorical']).optional(),
  method: DriftMethod.optional(),
  threshold: z.number().positive().optional(),
})
export type FeatureOverride = z.infer<typeof FeatureOverride>

/** `overflow`: the bin holds every value below (`below`) or above (`above`) the reference's bulk; start/end then only place it. */
const HistogramBin = z.object({
  start: z.number(),
  end: z.number(),
  reference: z.number(),
  current: z.number(),
  overflow: z.enum(['below', 'above']).optional(),
})
const CategoryShare = z.object({ name: z.string(), reference: z.number(), current: z.number() })

export const FeatureDrift = z.object({
  name: z.string(),
  kind: z.enum(['numeric', 'categorical']),
  method: DriftMethod,
  statistic: z.number(),
  p_value: z.number().nullable(),
  threshold: z.number(),
  drifted: z.boolean(),
  reference_rows: z.number(),
  current_rows: z.number(),
  ks_statistic: z.number().optional(),
  ks_pvalue: z.number().optional(),
  wasserstein_normed: z.number().optional(),
  psi: z.number().optional(),
  jensenshannon: z.number().optional(),
  chi2_statistic: z.number().optional(),
  chi2_pvalue: z.number().optional(),
  new_categories: z.array(z.string()).optional(),
  missing_categories: z.array(z.string()).optional(),
  chart: z.union([
    z.object({ kind: z.literal('histogram'), bins: z.array(HistogramBin) }),
    z.object({ kind: z.literal('categories'), categories: z.array(CategoryShare) }),
  ]),
})
export type FeatureDrift = z.infer<typeof FeatureDrift>

export const DriftReport = z.object({
  reference: z.object({ label: z.string(), rows: z.number() }),
  current: z.object({ label: z.string(), rows: z.number() }),
  dataset_drift: z.boolean(),
  drift_share: z.number(),
  drift_share_threshold: z.number(),
  drifted_features: z.number(),
  features: z.array(FeatureDrift),
  /** Features with no non-null values on one side: reported, not judged. */
  skipped: z.array(z.object({ name: z.string(), reason: z.string() })),
  prediction: FeatureDrift.nullable(),
})
export type DriftReport = z.infer<typeof DriftReport>

export interface DriftOptions {
  /** The features to compare; all columns the two sides share when absent. */
  features?: FeatureOverride[]
  driftShareThreshold?: number
  /**
   * The model's output: the column of the reference holding the true target and the
   * column of the current side holding predictions (`__prediction` for the log).
   */
  prediction?: { reference: string; current: string; kind: 'numeric' | 'categorical' } | null
  /** Called as each feature is done: large reports take seconds. */
  onProgress?: (progress: { done: number; total: number; feature: string }) => void
  /**
   * `all` (the default here): every statistic of each feature's kind, each numeric column
   * through its own table of distinct values. `needed`: what each feature's method and its
   * chart need, all columns in one pass (Wasserstein, the std and the histogram for a
   * numeric column; KS or PSI only when that is the method, on the exact path).
   */
  statistics?: 'all' | 'needed'
  /** Where the reference side's summaries are kept (`needed` only; the reference's `cacheKey` names them). */
  referenceCache?: ReferenceCache | null
  /**
   * Worker threads counting the one-pass report's values (`needed` only): 0 counts in this
   * thread. Default: one per core (at most four) once a pass carries 4M values or more.
   */
  threads?: number
}

export async function describeColumns(conn: DuckDBConnection, source: TableSource): Promise<Array<{ name: string; type: string }>> {
  const rows = await queryRows<{ column_name: string; column_type: string }>(conn, `DESCRIBE ${source.sql}`)
  return rows.map((r) => ({ name: r.column_name, type: r.column_type }))
}

export function kindOfType(type: string): 'numeric' | 'categorical' {
  return isNumericType(type) ? 'numeric' : 'categorical'
}

export function chooseMethod(kind: 'numeric' | 'categorical', referenceRows: number): DriftMethod {
  if (kind === 'numeric') return referenceRows <= SMALL_SAMPLE_ROWS ? 'ks' : 'wasserstein'
  return referenceRows <= SMALL_SAMPLE_ROWS ? 'chi2' : 'jensenshannon'
}

/** A feature to compare, its kind settled (from the override or the reference's column type). */
export type Feature = FeatureOverride & { kind: 'numeric' | 'categorical' }

/** The report from its features: the share of drifted ones against the dataset threshold. */
export function assemble(
  reference: DriftReport['reference'],
  current: DriftReport['current'],
  threshold: number,
  features: FeatureDrift[],
  skipped: DriftReport['skipped'],
  prediction: FeatureDrift | null,
): DriftReport {
  const drifted = features.filter((f) => f.drifted).length
  const share = features.length ? drifted / features.length : 0
  return {
    reference,
    current,
    dataset_drift: features.length > 0 && share >= threshold,
    drift_share: share,
    drift_share_threshold: threshold,
    drifted_features: drifted,
    features,
    skipped,
    prediction,
  }
}

export function checkMethodFits(name: string, kind: 'numeric' | 'categorical', method: DriftMethod): void {
  const fits = kind === 'numeric' ? ['ks', 'wasserstein', 'psi'] : ['chi2', 'jensenshannon', 'psi']
  if (!fits.includes(method)) {
    throw new LatheError('bad_request', `feature "${name}" is ${kind}: its method must be one of ${fits.join(', ')}, not ${method}`, {
      field: `features.${name}.method`,
    })
  }
}

export function decide(name: string, stats: FeatureStatistics, method?: DriftMethod, threshold?: number): FeatureDrift {
  const chosen = method ?? chooseMethod(stats.kind, stats.referenceRows)
  const limit = threshold ?? defaultThresholds[chosen]
  let statistic: number
  let pValue: number | null = null
  if (stats.kind === 'numeric') {
    const value = chosen === 'ks' ? stats.ks_statistic : chosen === 'psi' ? stats.psi : stats.wasserstein_normed
    if (value === undefined) throw new Error(`drift: ${name}'s ${chosen} statistic was not computed`)
    statistic = value
    if (chosen === 'ks') pValue = stats.ks_pvalue!
  } else {
    statistic = chosen === 'chi2' ? stats.chi2_statistic : chosen === 'psi' ? stats.psi : stats.jensenshannon
    if (chosen === 'chi2') pValue = stats.chi2_pvalue
  }
  const drifted = pValueMethods.has(chosen) ? pValue! < limit : statistic > limit
  const common = {
    name,
    kind: stats.kind,
    method: chosen,
    statistic,
    p_value: pValue,
    threshold: limit,
    drifted,
    reference_rows: stats.referenceRows,
    current_rows: stats.currentRows,
    psi: stats.psi,
    chart: stats.chart,
  }
  if (stats.kind === 'numeric') {
    return { ...common, ks_statistic: stats.ks_statistic, ks_pvalue: stats.ks_pvalue, wasserstein_normed: stats.wasserstein_normed }
  }
  return {
    ...common,
    jensenshannon: stats.jensenshannon,
    chi2_statistic: stats.chi2_statistic,
    chi2_pvalue: stats.chi2_pvalue,
    new_categories: stats.new_categories,
    missing_categories: stats.missing_categories,
  }
}
