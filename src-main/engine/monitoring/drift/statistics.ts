import type { DuckDBConnection } from '@duckdb/node-api'
import { ident, queryRows } from '../monitorDb.js'
import { ksTwoSamplePValue } from '../stats/kolmogorov.js'
import { chiSquareSf } from '../stats/special.js'
import { CHART_BINS } from './scan.js'

/**
 * Per-feature drift statistics between two tables, computed in DuckDB: value counts,
 * cumulative sums over the sorted union of values, quantiles and bin counts. Only
 * aggregates (one row per distinct value at most for categories, a few numbers for
 * numeric columns) come back to JavaScript. The definitions are those of
 * `bench/peers/drift_scipy.py`, which the tests hold these numbers against.
 */

/** Proportions are clipped below at this before PSI and chi-square expectations. */
export const PROPORTION_FLOOR = 1e-4
const PSI_QUANTILES = Array.from({ length: 11 }, (_, i) => i * 0.1) // numpy.linspace(0, 1, 11)
/** The chart's bins span the reference between these quantiles; the rest goes to overflow bins. */
const CHART_RANGE = [0.005, 0.995]
const CHART_CATEGORIES = 20

export interface NumericStatistics {
  kind: 'numeric'
  referenceRows: number
  currentRows: number
  /** KS and PSI: always on the exact path; on the one-pass path only when asked for. */
  ks_statistic?: number
  ks_pvalue?: number
  wasserstein_normed: number
  psi?: number
  chart: { kind: 'histogram'; bins: HistogramBins }
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
export async function numericStatistics(conn: DuckDBConnection, reference: string, current: string, column: string): Promise<NumericStatistics | null> {
  const col = ident(column)
  const keep = `${col} IS NOT NULL AND NOT isnan(${col})`
  // One row per distinct value with both sides' counts and running totals: every
  // statistic below reads this (usually far smaller) table instead of the rows.
  const values = `${reference}_values`
  await conn.run(
    `CREATE OR REPLACE TEMP TABLE ${values} AS
     WITH r AS (SELECT ${col} AS v, count(*) AS n FROM ${reference} WHERE ${keep} GROUP BY 1),
          c AS (SELECT ${col} AS v, count(*) AS n FROM ${current} WHERE ${keep} GROUP BY 1),
          j AS (SELECT coalesce(r.v, c.v) AS v, coalesce(r.n, 0)::BIGINT AS a, coalesce(c.n, 0)::BIGINT AS b FROM r FULL JOIN c ON r.v = c.v)
     SELECT v, a, b, (sum(a) OVER w)::BIGINT AS ca, (sum(b) OVER w)::BIGINT AS cb, lead(v) OVER (ORDER BY v) - v AS dv
     FROM j WINDOW w AS (ORDER BY v ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)`,
  )
  try {
    const [totals] = await queryRows<{ n_ref: bigint | null; n_cur: bigint | null; lo: number | null; hi: number | null }>(
      conn,
      `SELECT sum(a)::BIGINT AS n_ref, sum(b)::BIGINT AS n_cur, min(v) AS lo, max(v) AS hi FROM ${values}`,
    )
    const nRef = Number(totals!.n_ref ?? 0)
    const nCur = Number(totals!.n_cur ?? 0)
    if (nRef === 0 || nCur === 0) return null

    // KS and Wasserstein from the two empirical CDFs over the sorted union of values;
    // the reference's population std from the weighted values (two passes, as numpy does).
    const [cdf] = await queryRows<{ d: number; w: number | null; std: number | null }>(
      conn,
      `WITH m AS (SELECT sum(a * v) / ${nRef} AS mean FROM ${values})
       SELECT max(abs(ca::DOUBLE / ${nRef} - cb::DOUBLE / ${nCur})) AS d,
              sum(abs(ca::DOUBLE / ${nRef} - cb::DOUBLE / ${nCur}) * dv) AS w,
              sqrt(sum(a * (v - m.mean) * (v - m.mean)) / ${nRef}) AS std
       FROM ${values}, m`,
    )
    const ks = ksTwoSamplePValue(cdf!.d, nRef, nCur)
    const std = cdf!.std || 1

    // PSI over the reference's deciles: distinct edges, outer ones opened to ±inf, [a, b) bins.
    const edges = [...new Set(await referenceQuantiles(conn, values, nRef, PSI_QUANTILES))].sort((a, b) => a - b)
    const interior = edges.slice(1, -1)
    const binCount = Math.max(edges.length - 1, 1)
    const binOf =
      interior.length === 0
        ? '0'
        : `CASE ${interior
            .map((e, i) => `WHEN v >= ${doubleLiteral(e)} THEN ${i + 1}`)
            .reverse()
            .join(' ')} ELSE 0 END`
    const binRows = await queryRows<{ bin: number; a: bigint; b: bigint }>(
      conn,
      `SELECT ${binOf} AS bin, sum(a)::BIGINT AS a, sum(b)::BIGINT AS b FROM ${values} GROUP BY 1`,
    )
    const refBins = new Array<number>(binCount).fill(0)
    const curBins = new Array<number>(binCount).fill(0)
    for (const row of binRows) {
      refBins[row.bin] = Number(row.a)
      curBins[row.bin] = Number(row.b)
    }
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
      chart: {
        kind: 'histogram',
        bins: await histogram(conn, values, await referenceQuantiles(conn, values, nRef, CHART_RANGE), totals!.lo!, totals!.hi!, nRef, nCur),
      },
    }
  } finally {
    await conn.run(`DROP TABLE IF EXISTS ${values}`)
  }
}

/**
 * numpy.quantile's default (linear) on the reference, from the value counts: the
 * values at ranks floor and ceil of q (n - 1), blended the way numpy's lerp does.
 */
async function referenceQuantiles(conn: DuckDBConnection, values: string, n: number, qs: number[]): Promise<number[]> {
  const positions = qs.map((q) => q * (n - 1))
  const ranks = [...new Set(positions.flatMap((p) => [Math.floor(p), Math.ceil(p)]))]
  const rows = await queryRows<{ k: bigint; v: number }>(
    conn,
    `SELECT r.k::BIGINT AS k, min(t.v) AS v FROM (SELECT unnest([${ranks.join(', ')}]::BIGINT[]) AS k) r
     JOIN ${values} t ON t.a > 0 AND t.ca > r.k GROUP BY r.k`,
  )
  const at = new Map(rows.map((r) => [Number(r.k), r.v]))
  return positions.map((p) => {
    const lo = at.get(Math.floor(p))!
    const hi = at.get(Math.ceil(p))!
    const t = p - Math.floor(p)
    if (lo === hi) return lo
    const diff = hi - lo
    return t >= 0.5 ? hi - diff * (1 - t) : lo + diff * t
  })
}

type HistogramBins = Array<{ start: number; end: number; reference: number; current: number; overflow?: 'below' | 'above' }>

/**
 * Equal-width bins over the reference's bulk (its 0.5% to 99.5% quantiles), as shares
 * of each side: what the overlay chart draws. Values outside the bulk, on either side,
 * go to an overflow bin at that end, so a few extreme rows (1e308 from a form) add one
 * bar instead of stretching every bin until the chart is a single bar.
 */
async function histogram(
  conn: DuckDBConnection,
  values: string,
  [qLo, qHi]: number[],
  min: number,
  max: number,
  nRef: number,
  nCur: number,
): Promise<HistogramBins> {
  let lo = qLo!
  let hi = qHi!
  if (lo === hi) {
    lo = Math.max(min, lo - 0.5)
    hi = Math.min(max, hi + 0.5)
  }
  const bins = lo === hi ? 1 : CHART_BINS
  const width = lo === hi ? 1 : (hi - lo) / bins
  const below = min < lo
  const above = max > hi
  const binOf = `CASE WHEN v < ${doubleLiteral(lo)} THEN -1 WHEN v > ${doubleLiteral(hi)} THEN ${bins}
    ELSE least(${bins - 1}, greatest(0, floor((v - ${doubleLiteral(lo)}) / ${doubleLiteral(width)})::INTEGER)) END`
  const rows = await queryRows<{ bin: number; a: bigint; b: bigint }>(
    conn,
    `SELECT ${binOf} AS bin, sum(a)::BIGINT AS a, sum(b)::BIGINT AS b FROM ${values} GROUP BY 1`,
  )
  const out: HistogramBins = Array.from({ length: bins }, (_, i) => ({ start: lo + i * width, end: lo + (i + 1) * width, reference: 0, current: 0 }))
  if (below) out.unshift({ start: lo - width, end: lo, reference: 0, current: 0, overflow: 'below' })
  if (above) out.push({ start: hi, end: hi + width, reference: 0, current: 0, overflow: 'above' })
  for (const row of rows) {
    const bin = row.bin === -1 ? out[0]! : row.bin === bins ? out.at(-1)! : out[row.bin + (below ? 1 : 0)]!
    bin.reference += Number(row.a) / nRef
    bin.current += Number(row.b) / nCur
  }
  return out
}

export async function categoricalStatistics(conn: DuckDBConnection, reference: string, current: string, column: string): Promise<CategoricalStatistics | null> {
  const col = ident(column)
  const rows = await queryRows<{ k: string; a: bigint; b: bigint }>(
    conn,
    `WITH r AS (SELECT ${col} AS k, count(*) AS n FROM ${reference} WHERE ${col} IS NOT NULL GROUP BY 1),
          c AS (SELECT ${col} AS k, count(*) AS n FROM ${current} WHERE ${col} IS NOT NULL GROUP BY 1)
     SELECT coalesce(r.k, c.k) AS k, coalesce(r.n, 0) AS a, coalesce(c.n, 0) AS b
     FROM r FULL JOIN c ON r.k = c.k ORDER BY 1`,
  )
  return categoricalFromCounts(
    rows.map((r) => r.k),
    rows.map((r) => Number(r.a)),
    rows.map((r) => Number(r.b)),
  )
}

/** Every categorical statistic from the two sides' counts over the union of categories (in `keys` order). */
export function categoricalFromCounts(keys: string[], ref: number[], cur: number[]): CategoricalStatistics | null {
  const nRef = ref.reduce((s, x) => s + x, 0)
  const nCur = cur.reduce((s, x) => s + x, 0)
  if (nRef === 0 || nCur === 0) return null
  const p = ref.map((x) => x / nRef)
  const q = cur.map((x) => x / nCur)
  const { statistic, pValue } = chiSquare(cur, p, nCur)
  const byShare = keys
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
