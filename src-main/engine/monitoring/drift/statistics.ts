import type { DuckDBConnection } from '@duckdb/node-api'
import { ident, queryRows } from '../monitorDb.js'
import { ksTwoSamplePValue } from '../stats/kolmogorov.js'
import { chiSquareSf } from '../stats/special.js'

/**
 * Per-feature drift statistics between two tables, computed in DuckDB: value counts,
 * cumulative sums over the sorted union of values, quantiles and bin counts. Only
 * aggregates (one row per distinct value at most for categories, a few numbers for
 * numeric columns) come back to JavaScript. The definitions are those of
 * `shared/peers/drift_scipy.py`, which the tests hold these numbers against.
 */

/** Proportions are clipped below at this before PSI and chi-square expectations. */
export const PROPORTION_FLOOR = 1e-4
const PSI_QUANTILES = Array.from({ length: 11 }, (_, i) => i * 0.1) // numpy.linspace(0, 1, 11)
const CHART_BINS = 20
const CHART_CATEGORIES = 20

export interface NumericStatistics {
  kind: 'numeric'
  referenceRows: number
  currentRows: number
  ks_statistic: number
  ks_pvalue: number
  wasserstein_normed: number
  psi: number
  chart: { kind: 'histogram'; bins: Array<{ start: number; end: number; reference: number; current: number }> }
}

export interface CategoricalStatistics {
  kind: 'categorical'
  referenceRows: number
  currentRows: number
  chi2_statistic: number
  chi2_pvalue: number
  jensenshannon: number
  psi: number
  new_categories: string[]
  missing_categories: string[]
  chart: { kind: 'categories'; categories: Array<{ name: string; reference: number; current: number }> }
}

export type FeatureStatistics = NumericStatistics | CategoricalStatistics

/** A DuckDB double literal that round-trips the JS number exactly. */
function doubleLiteral(x: number): string {
  if (x === Number.POSITIVE_INFINITY) return "'inf'::DOUBLE"
  if (x === Number.NEGATIVE_INFINITY) return "'-inf'::DOUBLE"
  return `'${String(x)}'::DOUBLE`
}

/**
 * `reference` and `current` are table names holding the column (already typed:
 * DOUBLE for numeric, VARCHAR for categorical). Nulls and NaNs are dropped first.
 */
export async function numericStatistics(
  conn: DuckDBConnection,
  reference: string,
  current: string,
  column: string,
): Promise<NumericStatistics | null> {
  const col = ident(column)
  const keep = `${col} IS NOT NULL AND NOT isnan(${col})`
  const [moments] = await queryRows<{ n_ref: bigint; n_cur: bigint; std: number | null; q: number[] | null; lo: number | null; hi: number | null }>(
    conn,
    `SELECT (SELECT count(*) FROM ${reference} WHERE ${keep}) AS n_ref,
            (SELECT count(*) FROM ${current} WHERE ${keep}) AS n_cur,
            (SELECT stddev_pop(${col}) FROM ${reference} WHERE ${keep}) AS std,
            (SELECT quantile_cont(${col}, [${PSI_QUANTILES.map(doubleLiteral).join(', ')}]) FROM ${reference} WHERE ${keep}) AS q,
            (SELECT min(v) FROM (SELECT min(${col}) AS v FROM ${reference} WHERE ${keep} UNION ALL SELECT min(${col}) FROM ${current} WHERE ${keep})) AS lo,
            (SELECT max(v) FROM (SELECT max(${col}) AS v FROM ${reference} WHERE ${keep} UNION ALL SELECT max(${col}) FROM ${current} WHERE ${keep})) AS hi`,
  )
  const nRef = Number(moments!.n_ref)
  const nCur = Number(moments!.n_cur)
  if (nRef === 0 || nCur === 0) return null

  // KS and Wasserstein from the two empirical CDFs over the sorted union of distinct values.
  const [cdf] = await queryRows<{ d: number; w: number | null }>(
    conn,
    `WITH r AS (SELECT ${col} AS v, count(*) AS n FROM ${reference} WHERE ${keep} GROUP BY 1),
          c AS (SELECT ${col} AS v, count(*) AS n FROM ${current} WHERE ${keep} GROUP BY 1),
          j AS (SELECT coalesce(r.v, c.v) AS v, coalesce(r.n, 0) AS a, coalesce(c.n, 0) AS b FROM r FULL JOIN c ON r.v = c.v),
          f AS (SELECT v,
                       (sum(a) OVER w)::DOUBLE / ${nRef} - (sum(b) OVER w)::DOUBLE / ${nCur} AS diff,
                       lead(v) OVER (ORDER BY v) - v AS dv
                FROM j WINDOW w AS (ORDER BY v ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW))
     SELECT max(abs(diff)) AS d, sum(abs(diff) * dv) AS w FROM f`,
  )
  const ks = ksTwoSamplePValue(cdf!.d, nRef, nCur)
  const std = moments!.std || 1

  // PSI over the reference's deciles: distinct edges, outer ones opened to ±inf, [a, b) bins.
  const edges = [...new Set(moments!.q!)].sort((a, b) => a - b)
  const interior = edges.slice(1, -1)
  const binCount = Math.max(edges.length - 1, 1)
  const binOf =
    interior.length === 0
      ? '0'
      : `CASE ${interior
          .map((e, i) => `WHEN ${col} >= ${doubleLiteral(e)} THEN ${i + 1}`)
          .reverse()
          .join(' ')} ELSE 0 END`
  const binRows = await queryRows<{ side: string; bin: number; n: bigint }>(
    conn,
    `SELECT 'r' AS side, ${binOf} AS bin, count(*) AS n FROM ${reference} WHERE ${keep} GROUP BY ALL
     UNION ALL SELECT 'c', ${binOf}, count(*) FROM ${current} WHERE ${keep} GROUP BY ALL`,
  )
  const refBins = new Array<number>(binCount).fill(0)
  const curBins = new Array<number>(binCount).fill(0)
  for (const row of binRows) (row.side === 'r' ? refBins : curBins)[row.bin] = Number(row.n)
  const psi = psiOf(
    refBins.map((n) => n / nRef),
    curBins.map((n) => n / nCur),
  )

  return {
    kind: 'numeric',
    referenceRows: nRef,
    currentRows: nCur,
    ks_statistic: ks.statistic,
    ks_pvalue: ks.pValue,
    wasserstein_normed: (cdf!.w ?? 0) / std,
    psi,
    chart: { kind: 'histogram', bins: await histogram(conn, reference, current, col, keep, moments!.lo!, moments!.hi!, nRef, nCur) },
  }
}

/** Equal-width bins over both sides' range, as shares of each side: what the overlay chart draws. */
async function histogram(
  conn: DuckDBConnection,
  reference: string,
  current: string,
  col: string,
  keep: string,
  lo: number,
  hi: number,
  nRef: number,
  nCur: number,
): Promise<Array<{ start: number; end: number; reference: number; current: number }>> {
  const bins = lo === hi ? 1 : CHART_BINS
  const width = lo === hi ? 1 : (hi - lo) / bins
  const binOf = `least(${bins - 1}, greatest(0, floor((${col} - ${doubleLiteral(lo)}) / ${doubleLiteral(width)})::INTEGER))`
  const rows = await queryRows<{ side: string; bin: number; n: bigint }>(
    conn,
    `SELECT 'r' AS side, ${binOf} AS bin, count(*) AS n FROM ${reference} WHERE ${keep} GROUP BY ALL
     UNION ALL SELECT 'c', ${binOf}, count(*) FROM ${current} WHERE ${keep} GROUP BY ALL`,
  )
  const out = Array.from({ length: bins }, (_, i) => ({ start: lo + i * width, end: lo + (i + 1) * width, reference: 0, current: 0 }))
  for (const row of rows) {
    const bin = out[row.bin]!
    if (row.side === 'r') bin.reference = Number(row.n) / nRef
    else bin.current = Number(row.n) / nCur
  }
  return out
}

export async function categoricalStatistics(
  conn: DuckDBConnection,
  reference: string,
  current: string,
  column: string,
): Promise<CategoricalStatistics | null> {
  const col = ident(column)
  const rows = await queryRows<{ k: string; a: bigint; b: bigint }>(
    conn,
    `WITH r AS (SELECT ${col} AS k, count(*) AS n FROM ${reference} WHERE ${col} IS NOT NULL GROUP BY 1),
          c AS (SELECT ${col} AS k, count(*) AS n FROM ${current} WHERE ${col} IS NOT NULL GROUP BY 1)
     SELECT coalesce(r.k, c.k) AS k, coalesce(r.n, 0) AS a, coalesce(c.n, 0) AS b
     FROM r FULL JOIN c ON r.k = c.k ORDER BY 1`,
  )
  const keys = rows.map((r) => r.k)
  const ref = rows.map((r) => Number(r.a))
  const cur = rows.map((r) => Number(r.b))
  const nRef = ref.reduce((s, x) => s + x, 0)
  const nCur = cur.reduce((s, x) => s + x, 0)
  if (nRef === 0 || nCur === 0) return null
  const p = ref.map((x) => x / nRef)
  const q = cur.map((x) => x / nCur)
  const { statistic, pValue } = chiSquare(cur, p, nCur)
  const byShare = rows
    .map((_, i) => ({ name: keys[i]!, reference: p[i]!, current: q[i]! }))
    .sort((x, y) => y.reference + y.current - (x.reference + x.current) || (x.name < y.name ? -1 : 1))
  const top = byShare.slice(0, CHART_CATEGORIES)
  const rest = byShare.slice(CHART_CATEGORIES)
  if (rest.length) {
    top.push({
      name: `(${rest.length} others)`,
      reference: rest.reduce((s, c) => s + c.reference, 0),
      current: rest.reduce((s, c) => s + c.current, 0),
    })
  }
  return {
    kind: 'categorical',
    referenceRows: nRef,
    currentRows: nCur,
    chi2_statistic: statistic,
    chi2_pvalue: pValue,
    jensenshannon: jensenShannonDistance(p, q),
    psi: psiOf(p, q),
    new_categories: keys.filter((_, i) => ref[i] === 0 && cur[i]! > 0),
    missing_categories: keys.filter((_, i) => ref[i]! > 0 && cur[i] === 0),
    chart: { kind: 'categories', categories: top },
  }
}

/** Population stability index over matching bins, each proportion clipped below at 1e-4. */
export function psiOf(reference: number[], current: number[]): number {
  let psi = 0
  for (let i = 0; i < reference.length; i++) {
    const r = Math.max(reference[i]!, PROPORTION_FLOOR)
    const c = Math.max(current[i]!, PROPORTION_FLOOR)
    psi += (c - r) * Math.log(c / r)
  }
  return psi
}

/**
 * Pearson's chi-square of observed current counts against the reference's proportions
 * (clipped at 1e-4 and renormalized so a category new in the current data does not
 * divide by zero), with k - 1 degrees of freedom.
 */
export function chiSquare(observed: number[], referenceShares: number[], total: number): { statistic: number; pValue: number } {
  const clipped = referenceShares.map((p) => Math.max(p, PROPORTION_FLOOR))
  const norm = clipped.reduce((s, x) => s + x, 0)
  let statistic = 0
  for (let i = 0; i < observed.length; i++) {
    const expected = (clipped[i]! / norm) * total
    statistic += (observed[i]! - expected) ** 2 / expected
  }
  const df = observed.length - 1
  return { statistic, pValue: df > 0 ? chiSquareSf(statistic, df) : 1 }
}

/** Jensen-Shannon distance (base 2): the square root of the divergence, in [0, 1]. */
export function jensenShannonDistance(p: number[], q: number[]): number {
  let divergence = 0
  for (let i = 0; i < p.length; i++) {
    const m = (p[i]! + q[i]!) / 2
    if (p[i]! > 0) divergence += p[i]! * Math.log(p[i]! / m)
    if (q[i]! > 0) divergence += q[i]! * Math.log(q[i]! / m)
  }
  return Math.sqrt(Math.max(0, divergence / 2 / Math.LN2))
}
