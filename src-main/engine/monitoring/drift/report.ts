import { randomUUID } from 'node:crypto'
import type { DuckDBConnection } from '@duckdb/node-api'
import { z } from 'zod'
import { LatheError } from '../../api/common/errors.js'
import { ident, queryRows } from '../monitorDb.js'
import type { TableSource } from './sources.js'
import { categoricalStatistics, numericStatistics, type FeatureStatistics } from './statistics.js'
import { isNumericType } from '../../api/common/column-types.js'

/**
 * A drift report: per feature, the statistics that apply to its kind, the method that
 * decides it (chosen the way practitioners do, or set per feature), a drifted flag and
 * the data for its chart; then the share of drifted features against the dataset
 * threshold, and the same for the model's output.
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

const HistogramBin = z.object({ start: z.number(), end: z.number(), reference: z.number(), current: z.number() })
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
  psi: z.number(),
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

export async function computeDriftReport(
  conn: DuckDBConnection,
  reference: TableSource,
  current: TableSource,
  options: DriftOptions = {},
): Promise<DriftReport> {
  const threshold = options.driftShareThreshold ?? 0.5
  const [refColumns, curColumns] = await Promise.all([describeColumns(conn, reference), describeColumns(conn, current)])
  const curNames = new Set(curColumns.map((c) => c.name))
  const refTypes = new Map(refColumns.map((c) => [c.name, c.type]))
  const requested: FeatureOverride[] = options.features ?? refColumns.filter((c) => curNames.has(c.name) && !c.name.startsWith('__')).map((c) => ({ name: c.name }))
  for (const feature of requested) {
    if (!refTypes.has(feature.name)) {
      throw new LatheError('bad_request', `the reference (${reference.label}) has no column "${feature.name}"`, { field: 'features' })
    }
    if (!curNames.has(feature.name)) {
      throw new LatheError('bad_request', `the current data (${current.label}) has no column "${feature.name}"`, { field: 'features' })
    }
    if (feature.method && feature.kind) checkMethodFits(feature.name, feature.kind, feature.method)
  }
  const features = requested.map((f) => ({ ...f, kind: f.kind ?? kindOfType(refTypes.get(f.name)!) }))
  for (const f of features) if (f.method) checkMethodFits(f.name, f.kind, f.method)

  const prediction = options.prediction ?? null
  const id = randomUUID().replaceAll('-', '').slice(0, 12)
  const refTable = `__drift_ref_${id}`
  const curTable = `__drift_cur_${id}`
  const cast = (name: string, kind: 'numeric' | 'categorical', as = name) =>
    `${kind === 'numeric' ? `TRY_CAST(${ident(name)} AS DOUBLE)` : `CAST(${ident(name)} AS VARCHAR)`} AS ${ident(as)}`
  const refSelect = features.map((f) => cast(f.name, f.kind))
  const curSelect = features.map((f) => cast(f.name, f.kind))
  if (prediction) {
    refSelect.push(cast(prediction.reference, prediction.kind, '__output'))
    curSelect.push(cast(prediction.current, prediction.kind, '__output'))
  }
  // Materialized once, with only the compared columns, so every statistic reads memory.
  await conn.run(`CREATE TEMP TABLE ${refTable} AS SELECT ${refSelect.join(', ') || '1 AS __none'} FROM (${reference.sql})`)
  try {
    await conn.run(`CREATE TEMP TABLE ${curTable} AS SELECT ${curSelect.join(', ') || '1 AS __none'} FROM (${current.sql})`)
    try {
      const [counts] = await queryRows<{ r: bigint; c: bigint }>(
        conn,
        `SELECT (SELECT count(*) FROM ${refTable}) AS r, (SELECT count(*) FROM ${curTable}) AS c`,
      )
      const referenceRows = Number(counts!.r)
      const currentRows = Number(counts!.c)
      if (referenceRows === 0) throw new LatheError('bad_request', `the reference (${reference.label}) has no rows`, { field: 'reference' })
      if (currentRows === 0) throw new LatheError('bad_request', `the current data (${current.label}) has no rows`, { field: 'current' })

      const results: FeatureDrift[] = []
      const skipped: Array<{ name: string; reason: string }> = []
      const total = features.length + (prediction ? 1 : 0)
      for (const [i, feature] of features.entries()) {
        const stats = await statisticsOf(conn, refTable, curTable, feature.name, feature.kind)
        options.onProgress?.({ done: i + 1, total, feature: feature.name })
        if (!stats) {
          skipped.push({ name: feature.name, reason: 'no non-null values on one side' })
          continue
        }
        results.push(decide(feature.name, stats, feature.method, feature.threshold))
      }
      let predictionDrift: FeatureDrift | null = null
      if (prediction) {
        const stats = await statisticsOf(conn, refTable, curTable, '__output', prediction.kind)
        if (stats) predictionDrift = decide('prediction', stats)
        options.onProgress?.({ done: total, total, feature: 'prediction' })
      }
      const drifted = results.filter((f) => f.drifted).length
      const share = results.length ? drifted / results.length : 0
      return {
        reference: { label: reference.label, rows: referenceRows },
        current: { label: current.label, rows: currentRows },
        dataset_drift: results.length > 0 && share >= threshold,
        drift_share: share,
        drift_share_threshold: threshold,
        drifted_features: drifted,
        features: results,
        skipped,
        prediction: predictionDrift,
      }
    } finally {
      await conn.run(`DROP TABLE IF EXISTS ${curTable}`)
    }
  } finally {
    await conn.run(`DROP TABLE IF EXISTS ${refTable}`)
  }
}

function checkMethodFits(name: string, kind: 'numeric' | 'categorical', method: DriftMethod): void {
  const fits = kind === 'numeric' ? ['ks', 'wasserstein', 'psi'] : ['chi2', 'jensenshannon', 'psi']
  if (!fits.includes(method)) {
    throw new LatheError('bad_request', `feature "${name}" is ${kind}: its method must be one of ${fits.join(', ')}, not ${method}`, {
      field: `features.${name}.method`,
    })
  }
}

function statisticsOf(conn: DuckDBConnection, ref: string, cur: string, column: string, kind: 'numeric' | 'categorical'): Promise<FeatureStatistics | null> {
  return kind === 'numeric' ? numericStatistics(conn, ref, cur, column) : categoricalStatistics(conn, ref, cur, column)
}

export function decide(name: string, stats: FeatureStatistics, method?: DriftMethod, threshold?: number): FeatureDrift {
  const chosen = method ?? chooseMethod(stats.kind, stats.referenceRows)
  const limit = threshold ?? defaultThresholds[chosen]
  let statistic: number
  let pValue: number | null = null
  if (stats.kind === 'numeric') {
    statistic = chosen === 'ks' ? stats.ks_statistic : chosen === 'psi' ? stats.psi : stats.wasserstein_normed
    if (chosen === 'ks') pValue = stats.ks_pvalue
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
