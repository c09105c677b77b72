import { randomUUID } from 'node:crypto'
import type { DuckDBConnection } from '@duckdb/node-api'
import { z } from 'zod'
import { LatheError } from '../../api/common/errors.js'
import { ident, queryRows } from '../monitorDb.js'
import type { ReferenceCache } from './referenceCache.js'
import {
  categoryCounts,
  collectCrossing,
  COLLECT_BUDGET,
  crossingCells,
  gridCells,
  gridHistogram,
  markedCount,
  populationStd,
  ranges,
  scanNumeric,
  wasserstein,
  type Grid,
  type NumericSide,
} from './scan.js'
import type { TableSource } from './sources.js'
import { categoricalFromCounts, categoricalStatistics, numericStatistics, type FeatureStatistics, type NumericStatistics } from './statistics.js'
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
  const requested: FeatureOverride[] =
    options.features ?? refColumns.filter((c) => curNames.has(c.name) && !c.name.startsWith('__')).map((c) => ({ name: c.name }))
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
  if (options.statistics === 'needed') return onePassReport(conn, reference, current, features, options)

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
      return assemble(
        { label: reference.label, rows: referenceRows },
        { label: current.label, rows: currentRows },
        threshold,
        results,
        skipped,
        predictionDrift,
      )
    } finally {
      await conn.run(`DROP TABLE IF EXISTS ${curTable}`)
    }
  } finally {
    await conn.run(`DROP TABLE IF EXISTS ${refTable}`)
  }
}

/** The report from its features: the share of drifted ones against the dataset threshold. */
function assemble(
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

interface Item {
  /** The name in the report (`prediction` for the model's output). */
  name: string
  refColumn: string
  curColumn: string
  kind: 'numeric' | 'categorical'
  method?: DriftMethod
  threshold?: number
}

async function rowCount(conn: DuckDBConnection, source: TableSource): Promise<number> {
  const [row] = await queryRows<{ n: bigint }>(conn, `SELECT count(*)::BIGINT AS n FROM (${source.sql})`)
  return Number(row!.n)
}

/** Numeric statistics the exact way (KS, PSI, small samples): a table of distinct values per column. */
async function exactNumeric(conn: DuckDBConnection, reference: TableSource, current: TableSource, items: Item[]): Promise<Map<Item, FeatureStatistics | null>> {
  const out = new Map<Item, FeatureStatistics | null>()
  if (items.length === 0) return out
  const id = randomUUID().replaceAll('-', '').slice(0, 12)
  const refTable = `__drift_ref_${id}`
  const curTable = `__drift_cur_${id}`
  const select = (side: 'refColumn' | 'curColumn') => items.map((it, i) => `TRY_CAST(${ident(it[side])} AS DOUBLE) AS __c${i}`).join(', ')
  await conn.run(`CREATE TEMP TABLE ${refTable} AS SELECT ${select('refColumn')} FROM (${reference.sql})`)
  try {
    await conn.run(`CREATE TEMP TABLE ${curTable} AS SELECT ${select('curColumn')} FROM (${current.sql})`)
    try {
      for (const [i, item] of items.entries()) out.set(item, await numericStatistics(conn, refTable, curTable, `__c${i}`))
    } finally {
      await conn.run(`DROP TABLE IF EXISTS ${curTable}`)
    }
  } finally {
    await conn.run(`DROP TABLE IF EXISTS ${refTable}`)
  }
  return out
}

/**
 * The `needed` report: numeric columns in one streaming pass per side (see scan.ts), a
 * second pass only over the columns whose CDFs cross inside a cell, categorical columns
 * in one unpivoted GROUP BY per side; the reference's part taken from the cache when it
 * is there.
 */
async function onePassReport(
  conn: DuckDBConnection,
  reference: TableSource,
  current: TableSource,
  features: Array<FeatureOverride & { kind: 'numeric' | 'categorical' }>,
  options: DriftOptions,
): Promise<DriftReport> {
  const columnsOf = (side: 'refColumn' | 'curColumn') => {
    const names = features.map((f) => f.name)
    const prediction = options.prediction
    if (prediction) names.push(side === 'refColumn' ? prediction.reference : prediction.current)
    return [...new Set(names)]
  }
  const cache = reference.cacheKey ? (options.referenceCache ?? null) : null
  const cached =
    cache !== null &&
    cache.rows(reference.cacheKey!) !== null &&
    features.every((f) => (f.kind === 'numeric' ? cache.numeric(reference.cacheKey!, f.name) : cache.categorical(reference.cacheKey!, f.name)) !== null)
  const temporary: string[] = []
  const copy = async (source: TableSource, columns: string[]): Promise<TableSource> => {
    const table = `__drift_copy_${randomUUID().replaceAll('-', '').slice(0, 12)}`
    await conn.run(`CREATE TEMP TABLE ${table} AS SELECT ${columns.map(ident).join(', ')} FROM (${source.sql})`)
    temporary.push(table)
    return { ...source, sql: `SELECT * FROM ${table}`, materialize: false }
  }
  try {
    const refColumns = columnsOf('refColumn')
    const curColumns = columnsOf('curColumn')
    const ref = reference.materialize && !cached && refColumns.length ? await copy(reference, refColumns) : reference
    const cur = current.materialize && curColumns.length ? await copy(current, curColumns) : current
    return await onePassOver(conn, ref, cur, features, options)
  } finally {
    for (const table of temporary) await conn.run(`DROP TABLE IF EXISTS ${table}`)
  }
}

async function onePassOver(
  conn: DuckDBConnection,
  reference: TableSource,
  current: TableSource,
  features: Array<FeatureOverride & { kind: 'numeric' | 'categorical' }>,
  options: DriftOptions,
): Promise<DriftReport> {
  const threshold = options.driftShareThreshold ?? 0.5
  const cache = reference.cacheKey ? (options.referenceCache ?? null) : null
  const key = reference.cacheKey ?? ''
  const items: Item[] = features.map((f) => ({ name: f.name, refColumn: f.name, curColumn: f.name, kind: f.kind, method: f.method, threshold: f.threshold }))
  const prediction = options.prediction ?? null
  if (prediction) items.push({ name: 'prediction', refColumn: prediction.reference, curColumn: prediction.current, kind: prediction.kind })

  let referenceRows = cache?.rows(key) ?? null
  if (referenceRows === null) {
    referenceRows = await rowCount(conn, reference)
    cache?.putRows(key, referenceRows)
  }
  if (referenceRows === 0) throw new LatheError('bad_request', `the reference (${reference.label}) has no rows`, { field: 'reference' })
  const currentRows = await rowCount(conn, current)
  if (currentRows === 0) throw new LatheError('bad_request', `the current data (${current.label}) has no rows`, { field: 'current' })

  const stats = new Map<Item, FeatureStatistics | null>()

  // Categorical: every statistic comes from the two sides' counts.
  const categorical = items.filter((it) => it.kind === 'categorical')
  const refCounts = new Map<Item, Map<string, number>>()
  const uncached = categorical.filter((it) => {
    const hit = cache?.categorical(key, it.refColumn)
    if (hit) refCounts.set(it, hit)
    return !hit
  })
  const fresh = await categoryCounts(
    conn,
    reference,
    uncached.map((it) => it.refColumn),
  )
  uncached.forEach((it, i) => {
    refCounts.set(it, fresh[i]!)
    cache?.putCategorical(key, it.refColumn, fresh[i]!)
  })
  const curCounts = await categoryCounts(
    conn,
    current,
    categorical.map((it) => it.curColumn),
  )
  categorical.forEach((it, i) => {
    const r = refCounts.get(it)!
    const c = curCounts[i]!
    const keys = [...new Set([...r.keys(), ...c.keys()])].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    stats.set(
      it,
      categoricalFromCounts(
        keys,
        keys.map((k) => r.get(k) ?? 0),
        keys.map((k) => c.get(k) ?? 0),
      ),
    )
  })

  // Numeric: the reference's grids and summaries (cached, or one range query and one pass).
  const numeric = items.filter((it) => it.kind === 'numeric')
  const refSides = new Map<Item, { grid: Grid; side: NumericSide } | null>()
  const missing = numeric.filter((it) => {
    const hit = cache?.numeric(key, it.refColumn)
    if (hit) refSides.set(it, hit)
    return !hit
  })
  const bounds = await ranges(
    conn,
    reference,
    missing.map((it) => it.refColumn),
  )
  const toScan: Array<{ item: Item; grid: Grid }> = []
  missing.forEach((it, i) => {
    const { n, lo, hi } = bounds[i]!
    if (n === 0 || lo === null || hi === null || !Number.isFinite(lo) || !Number.isFinite(hi)) refSides.set(it, null)
    else toScan.push({ item: it, grid: { lo, hi, cells: lo === hi ? 1 : gridCells(n) } })
  })
  const scanned = await scanNumeric(
    conn,
    reference,
    toScan.map((s) => ({ name: s.item.refColumn, grid: s.grid })),
  )
  toScan.forEach((s, i) => {
    const value = { grid: s.grid, side: scanned[i]! }
    refSides.set(s.item, value)
    cache?.putNumeric(key, s.item.refColumn, value)
  })

  // Which numeric columns need the exact path: KS or PSI asked for, a small sample, or no usable grid.
  const exact: Item[] = []
  const onePass: Item[] = []
  for (const it of numeric) {
    const ref = refSides.get(it)
    const method = it.method ?? (ref ? chooseMethod('numeric', ref.side.n) : 'ks')
    if (method === 'ks' || method === 'psi' || !ref) exact.push(it)
    else onePass.push(it)
  }
  const curSides = await scanNumeric(
    conn,
    current,
    onePass.map((it) => ({ name: it.curColumn, grid: refSides.get(it)!.grid })),
  )

  // Second pass, in batches that fit the budget, for the cells where the CDFs may cross.
  const pending = onePass.map((it, i) => {
    const { grid, side } = refSides.get(it)!
    const cur = curSides[i]!
    const marks = cur.n > 0 ? crossingCells(grid, side, cur) : new Uint8Array(grid.cells + 2)
    return { it, grid, ref: side, cur, marks, mass: markedCount(marks, side) + markedCount(marks, cur) }
  })
  for (const p of pending.filter((p) => p.mass > COLLECT_BUDGET)) exact.push(p.it)
  const batches: Array<typeof pending> = []
  for (const p of pending.filter((p) => p.mass <= COLLECT_BUDGET)) {
    const last = batches.at(-1)
    if (last && last.reduce((s, q) => s + q.mass, 0) + p.mass <= COLLECT_BUDGET) last.push(p)
    else batches.push([p])
  }
  for (const batch of batches) {
    const withCrossings = batch.filter((p) => p.mass > 0 && p.cur.n > 0)
    const spec = (side: 'ref' | 'cur') =>
      withCrossings.map((p) => ({
        name: side === 'ref' ? p.it.refColumn : p.it.curColumn,
        grid: p.grid,
        marks: p.marks,
        expected: markedCount(p.marks, side === 'ref' ? p.ref : p.cur),
      }))
    const refValues = await collectCrossing(conn, reference, spec('ref'))
    const curValues = await collectCrossing(conn, current, spec('cur'))
    for (const p of batch) {
      if (p.cur.n === 0) {
        stats.set(p.it, null)
        continue
      }
      const at = withCrossings.indexOf(p)
      const w = wasserstein(p.grid, p.ref, p.cur, p.marks, at >= 0 ? refValues[at]! : new Float64Array(0), at >= 0 ? curValues[at]! : new Float64Array(0))
      const result: NumericStatistics = {
        kind: 'numeric',
        referenceRows: p.ref.n,
        currentRows: p.cur.n,
        wasserstein_normed: w / (populationStd(p.ref) || 1),
        chart: { kind: 'histogram', bins: gridHistogram(p.grid, p.ref, p.cur) },
      }
      stats.set(p.it, result)
    }
  }
  for (const [item, value] of await exactNumeric(conn, reference, current, exact)) stats.set(item, value)

  const results: FeatureDrift[] = []
  const skipped: Array<{ name: string; reason: string }> = []
  let predictionDrift: FeatureDrift | null = null
  for (const [i, it] of items.entries()) {
    const value = stats.get(it) ?? null
    options.onProgress?.({ done: i + 1, total: items.length, feature: it.name })
    if (prediction && i === items.length - 1) {
      if (value) predictionDrift = decide('prediction', value)
      continue
    }
    if (!value) skipped.push({ name: it.name, reason: 'no non-null values on one side' })
    else results.push(decide(it.name, value, it.method, it.threshold))
  }
  return assemble({ label: reference.label, rows: referenceRows }, { label: current.label, rows: currentRows }, threshold, results, skipped, predictionDrift)
}
