import type { DuckDBConnection } from '@duckdb/node-api'
import duckdb from '@duckdb/node-bindings'
import { ident, queryRows } from '../monitorDb.js'
import { areaKernel } from './area.js'
import type { KernelJob, KernelResult } from './kernels.js'
import type { TableSource } from './sources.js'
import { planParquet, readParquetLayout, type ParquetLayout } from './parquetPlan.js'
import { inline, inlineSink, streamOptions, type KernelPool } from './workers.js'

/**
 * One streaming pass over a side of a drift report for all its numeric columns at once,
 * and one GROUP BY (a grouping set per column) for all its categorical ones, instead of a
 * sorted table per column.
 *
 * Numeric columns: DuckDB reads and decodes the rows and hands back 2048-row vectors of
 * doubles, counted in worker threads (kernels.ts, workers.ts); each value lands in one
 * cell of a fine equal-width grid over the reference's [min, max] (two more cells catch
 * current values below and above it), where the side keeps a count and the sum of the
 * values' offsets from the cell's start. That is enough for the exact area between the
 * two empirical CDFs (Wasserstein-1) over every cell in which the CDFs do not cross:
 * there F - G has one sign, and the integral of F over [a, b) is (values below b x (b -
 * a) - sum of offsets) / n. Only in the cells where they may cross are the values
 * themselves needed; a second pass collects just those (cell by cell), and the area
 * there comes from the values (area.ts: each such cell split again, in memory, and only
 * the parts where the CDFs still may cross stepped through value by value). The result
 * is the same number SciPy's `wasserstein_distance` gives, in memory bounded by the grid
 * (not by the rows).
 */

/** Cells in the grid: a multiple of the chart's 20 bins, about 20 reference values a cell, at most 40,960. */
export const CHART_BINS = 20
export function gridCells(rows: number): number {
  let per = 1
  while (per < 2048 && CHART_BINS * per * 2 * 20 <= rows) per *= 2
  return CHART_BINS * per
}

/**
 * Values held at once by the second pass (the crossing cells' values of both sides), 8
 * bytes each: 768 MB. Each batch of columns under it is one more scan of each side; at
 * 10M x 110 (236M values in crossing cells) 96M gave 3 batches and 1.43 GB peak RSS,
 * 64M 4 batches (about 5 s slower) and 1.28 GB, 128M 2 batches and 1.73 GB.
 */
export const COLLECT_BUDGET = 96_000_000

export interface Grid {
  lo: number
  hi: number
  cells: number
}

/** One side of one numeric column on a grid: index 0 is below lo, 1..cells the cells, cells + 1 above hi. */
export interface NumericSide {
  /** Values counted (null and NaN left out). */
  n: number
  /** The smallest value below lo and the largest above hi (the chart's outer bins); +-Infinity when there are none. */
  belowMin: number
  aboveMax: number
  counts: Float64Array
  /** Per cell, the sum of (value - the cell's start); below: value - lo; above: value - hi. */
  offsets: Float64Array
  /** The population standard deviation (the reference's, for the normed Wasserstein, summed in row order); NaN where not asked for. */
  std: number
}

const inlineArea = areaKernel()

export function cellStart(grid: Grid, k: number): number {
  return k >= grid.cells ? grid.hi : grid.lo + k * ((grid.hi - grid.lo) / grid.cells)
}

const asDouble = (name: string, as: string) => `coalesce(TRY_CAST(${ident(name)} AS DOUBLE), 'nan'::DOUBLE) AS ${ident(as)}`

/** LATHE_DRIFT_PARQUET=duckdb: the counting threads read Parquet through DuckDB only (parquet.ts's reader off, to compare). */
const directParquet = () => process.env.LATHE_DRIFT_PARQUET !== 'duckdb'

/** Each Parquet source's layout, read once: a report's passes (two, plus two a batch) plan their columns from it. */
const layouts = new WeakMap<TableSource, Promise<ParquetLayout>>()
function layoutOf(conn: DuckDBConnection, source: TableSource, file: string): Promise<ParquetLayout> {
  let layout = layouts.get(source)
  if (!layout) {
    layout = readParquetLayout(conn, file)
    layouts.set(source, layout)
  }
  return layout
}

/**
 * Reads every row of `source` once, handing each listed column's values to the counting
 * in the rows' order: a standalone source (Parquet files) read by the counting threads
 * themselves, each its own columns, a single file's number columns straight from the file
 * (parquet.ts) and the others through its own DuckDB; any other through this connection,
 * its runs handed to the threads (or counted here).
 */
async function streamColumns(conn: DuckDBConnection, source: TableSource, columns: string[], jobs: KernelJob[], counting: Counting): Promise<KernelResult[]> {
  const select = (names: string[]) => `SELECT ${names.map((c, i) => asDouble(c, `__c${i}`)).join(', ')} FROM (${source.sql})`
  if (counting && source.standalone) {
    const plan = source.parquet && directParquet() ? planParquet(await layoutOf(conn, source, source.parquet), columns) : null
    return counting.stream(columns, jobs, select, plan)
  }
  const sink = counting ? counting.sink(jobs) : inlineSink(jobs)
  const result = await conn.stream(select(columns))
  // The raw C API result: its chunks' vectors read as bytes, without building a value reader per vector.
  const raw = (result as unknown as { result: duckdb.Result }).result
  await inline.stream(duckdb, raw, streamOptions(columns.length), (runs, length) => sink.take(runs, length))
  return sink.finish()
}

/**
 * Count, min and max of each column (nulls and NaN left out): the reference's grids. Plain
 * aggregates are one fast scan; DuckDB sorts NaN above every number, so a column whose max
 * comes back NaN is asked again with NaN filtered out (slower, and rare).
 */
export async function ranges(
  conn: DuckDBConnection,
  source: TableSource,
  columns: string[],
): Promise<Array<{ n: number; lo: number | null; hi: number | null }>> {
  const ask = async (names: string[], dropNaN: boolean) => {
    if (names.length === 0) return []
    const parts = names.map((c, i) => {
      const cast = `TRY_CAST(${ident(c)} AS DOUBLE)`
      const v = dropNaN ? `CASE WHEN NOT isnan(${cast}) THEN ${cast} END` : cast
      return `count(${v}) AS n${i}, min(${v}) AS lo${i}, max(${v}) AS hi${i}`
    })
    const [row] = await queryRows<Record<string, number | bigint | null>>(conn, `SELECT ${parts.join(', ')} FROM (${source.sql})`)
    return names.map((_, i) => ({ n: Number(row![`n${i}`] ?? 0), lo: row![`lo${i}`] as number | null, hi: row![`hi${i}`] as number | null }))
  }
  const out = await ask(columns, false)
  const withNaN = columns.flatMap((_, i) => (Number.isNaN(out[i]!.hi) ? [i] : []))
  const again = await ask(
    withNaN.map((i) => columns[i]!),
    true,
  )
  withNaN.forEach((i, j) => (out[i] = again[j]!))
  return out
}

/** Where a pass's counting runs: in worker threads (a pool), or in this thread (null). */
export type Counting = KernelPool | null

/** Each column's counts and offsets on its grid, from one pass over the source; with `moments`, its standard deviation too (the reference's). */
export async function scanNumeric(
  conn: DuckDBConnection,
  source: TableSource,
  columns: Array<{ name: string; grid: Grid }>,
  options: { moments?: boolean; counting?: Counting } = {},
): Promise<NumericSide[]> {
  if (columns.length === 0) return []
  const jobs: KernelJob[] = columns.map((c) => ({ kind: 'grid', ...c.grid, moments: options.moments ?? false }))
  const results = await streamColumns(
    conn,
    source,
    columns.map((c) => c.name),
    jobs,
    options.counting ?? null,
  )
  return results.map((r) => {
    if (r.kind !== 'grid') throw new Error('drift: a grid pass returned collected values')
    return { n: r.n, belowMin: r.belowMin, aboveMax: r.aboveMax, counts: r.counts, offsets: r.offsets, std: r.std }
  })
}

/**
 * The cells (1..cells) in which the two CDFs may cross: where their ranges over the cell
 * overlap. Ranges that only touch (F at the cell's end equal to G at its start, or the
 * other way round) leave F - G of one sign, zero allowed, so the cell's area comes from
 * its counts and offsets: a column shifted clear of the reference, whose CDFs meet only
 * at 0 or 1, then needs no second pass at all. The comparison is exact, on the counts
 * cross-multiplied, while the products stay below 2^53; beyond that only ranges strictly
 * apart are left unmarked.
 */
export function crossingCells(grid: Grid, ref: NumericSide, cur: NumericSide): Uint8Array {
  const marks = new Uint8Array(grid.cells + 2)
  const nF = ref.n
  const nG = cur.n
  const exact = nF * nG <= Number.MAX_SAFE_INTEGER
  let f = ref.counts[0]!
  let g = cur.counts[0]!
  for (let c = 1; c <= grid.cells; c++) {
    const f2 = f + ref.counts[c]!
    const g2 = cur.counts[c]! + g
    const apart = exact ? f2 * nG <= g * nF || g2 * nF <= f * nG : f2 / nF < g / nG || g2 / nG < f / nF
    if (!apart) marks[c] = 1
    f = f2
    g = g2
  }
  return marks
}

/** How many of a side's values lie in the marked cells (`counts`: its grid's). */
export function markedCount(marks: Uint8Array, side: { counts: Float64Array }): number {
  let total = 0
  for (let c = 0; c < marks.length; c++) if (marks[c]) total += side.counts[c]!
  return total
}

/**
 * Each run of consecutive marked cells, in cell order: where its values start among a
 * column's values grouped by cell (every cell's, as `counts` sizes them), and how many.
 */
export function markedRuns(marks: Uint8Array, counts: Float64Array, each: (start: number, length: number) => void): void {
  let start = 0
  for (let c = 0; c < marks.length;) {
    if (!marks[c]) {
      start += counts[c++]!
      continue
    }
    let length = 0
    while (c < marks.length && marks[c]) length += counts[c++]!
    each(start, length)
    start += length
  }
}

/** The kernels' job keeping a column's values in its marked cells. */
function collectJob(c: { name: string; grid: Grid; marks: Uint8Array; side: NumericSide }): Extract<KernelJob, { kind: 'collect' }> {
  return { kind: 'collect', ...c.grid, marks: c.marks, counts: c.side.counts, column: c.name }
}

/** The values of each column that fall in its marked cells, grouped by cell in cell order, from one pass over the source. */
export async function collectCrossing(
  conn: DuckDBConnection,
  source: TableSource,
  columns: Array<{ name: string; grid: Grid; marks: Uint8Array; side: NumericSide }>,
  counting: Counting = null,
): Promise<Float64Array[]> {
  if (columns.length === 0) return []
  const jobs: KernelJob[] = columns.map(collectJob)
  const results = await streamColumns(
    conn,
    source,
    columns.map((c) => c.name),
    jobs,
    counting,
  )
  return results.map((r) => {
    if (r.kind !== 'collect') throw new Error('drift: a collecting pass returned a grid')
    return r.values
  })
}

/** Wasserstein-1 between the two sides, in this thread (area.ts; the values of the marked cells grouped by cell, as collectCrossing gives them). */
export function wasserstein(grid: Grid, ref: NumericSide, cur: NumericSide, marks: Uint8Array, refValues: Float64Array, curValues: Float64Array): number {
  return inlineArea.wasserstein(grid, ref, cur, marks, refValues, curValues)
}

/**
 * Each column's Wasserstein-1 from one collecting pass over the current side: the thread
 * that collects a column's values in its marked cells finishes its distance there, with
 * the reference's side and values (collectCrossing's, handed over: they are not usable
 * here afterwards). Both cores then share the areas, instead of this thread doing them
 * after the pass.
 */
export async function crossingAreas(
  conn: DuckDBConnection,
  source: TableSource,
  columns: Array<{ name: string; grid: Grid; marks: Uint8Array; side: NumericSide; ref: NumericSide; refValues: Float64Array }>,
  counting: Counting = null,
): Promise<number[]> {
  if (columns.length === 0) return []
  const jobs: KernelJob[] = columns.map((c) => ({
    ...collectJob(c),
    area: { ref: { n: c.ref.n, counts: c.ref.counts, offsets: c.ref.offsets }, refValues: c.refValues, n: c.side.n, offsets: c.side.offsets },
  }))
  const results = await streamColumns(
    conn,
    source,
    columns.map((c) => c.name),
    jobs,
    counting,
  )
  return results.map((r) => {
    if (r.kind !== 'area') throw new Error('drift: a collecting pass gave no distance')
    return r.area
  })
}

/** The overlay chart: 20 equal-width bins over the reference's range, plus one bin each side for current values outside it. */
export function gridHistogram(grid: Grid, ref: NumericSide, cur: NumericSide): Array<{ start: number; end: number; reference: number; current: number }> {
  const bins: Array<{ start: number; end: number; reference: number; current: number }> = []
  if (cur.counts[0]! > 0) bins.push({ start: cur.belowMin, end: grid.lo, reference: 0, current: cur.counts[0]! / cur.n })
  const binCount = grid.cells >= CHART_BINS ? CHART_BINS : 1
  const per = grid.cells / binCount
  for (let b = 0; b < binCount; b++) {
    let r = 0
    let c = 0
    for (let k = b * per + 1; k <= (b + 1) * per; k++) {
      r += ref.counts[k]!
      c += cur.counts[k]!
    }
    bins.push({ start: cellStart(grid, b * per), end: cellStart(grid, (b + 1) * per), reference: r / ref.n, current: c / cur.n })
  }
  if (cur.counts[grid.cells + 1]! > 0) bins.push({ start: grid.hi, end: cur.aboveMax, reference: 0, current: cur.counts[grid.cells + 1]! / cur.n })
  return bins
}

/**
 * Value counts of every listed column (as text, nulls left out), from one GROUP BY with a
 * grouping set per column: one scan, each column its own hash table (10M x 10 columns:
 * 0.27 s, against 2.6 s unpivoted to (column, value) rows first).
 */
export async function categoryCounts(conn: DuckDBConnection, source: TableSource, columns: string[]): Promise<Array<Map<string, number>>> {
  const out = columns.map(() => new Map<string, number>())
  if (columns.length === 0) return out
  const names = columns.map((_, i) => `__c${i}`)
  const select = columns.map((c, i) => `CAST(${ident(c)} AS VARCHAR) AS ${names[i]}`).join(', ')
  const rows = await queryRows<Record<string, string | bigint | null>>(
    conn,
    `SELECT ${names.join(', ')}, ${names.map((n, i) => `GROUPING(${n}) AS __g${i}`).join(', ')}, count(*)::BIGINT AS __n
     FROM (SELECT ${select} FROM (${source.sql}))
     GROUP BY GROUPING SETS (${names.map((n) => `(${n})`).join(', ')})`,
  )
  for (const row of rows) {
    // The row's set is the one column grouped (GROUPING 0); a null value of it is left out.
    const i = names.findIndex((_, j) => Number(row[`__g${j}`]) === 0)
    const value = row[names[i]!]
    if (value !== null && value !== undefined) out[i]!.set(String(value), Number(row.__n))
  }
  return out
}
