import type { DuckDBConnection } from '@duckdb/node-api'
import { ident, queryRows } from '../monitorDb.js'
import type { TableSource } from './sources.js'

/**
 * One streaming pass over a side of a drift report for all its numeric columns at once,
 * and one unpivoted GROUP BY for all its categorical ones, instead of a sorted table per
 * column.
 *
 * Numeric columns: DuckDB reads and decodes the rows (in parallel) and hands back
 * 2048-row vectors of doubles; each value lands in one cell of a fine equal-width grid
 * over the reference's [min, max] (two more cells catch current values below and above
 * it), where the side keeps a count and the sum of the values' offsets from the cell's
 * start. That is enough for the exact area between the two empirical CDFs (Wasserstein-1)
 * over every cell in which the CDFs do not cross: there F - G has one sign, and the
 * integral of F over [a, b) is (values below b x (b - a) - sum of offsets) / n. Only in
 * the cells where they may cross are the values themselves needed; a second pass collects
 * just those, and the area there is summed exactly over the merged sorted values. The
 * result is the same number SciPy's `wasserstein_distance` gives, in memory bounded by the
 * grid (not by the rows).
 */

/** Cells in the grid: a multiple of the chart's 20 bins, about 20 reference values a cell, at most 40,960. */
export const CHART_BINS = 20
export function gridCells(rows: number): number {
  let per = 1
  while (per < 2048 && CHART_BINS * per * 2 * 20 <= rows) per *= 2
  return CHART_BINS * per
}

/** Values held at once by the second pass (the crossing cells' values), 8 bytes each. */
export const COLLECT_BUDGET = 16_000_000

export interface Grid {
  lo: number
  hi: number
  cells: number
}

/** One side of one numeric column on a grid: index 0 is below lo, 1..cells the cells, cells + 1 above hi. */
export interface NumericSide {
  n: number
  min: number
  max: number
  counts: Float64Array
  /** Per cell, the sum of (value - the cell's start); below: value - lo; above: value - hi. */
  offsets: Float64Array
  /** Sum of (value - shift) and of its square, for the reference's mean and population std. */
  shift: number
  sum: number
  sumSquares: number
}

export function cellStart(grid: Grid, k: number): number {
  return k >= grid.cells ? grid.hi : grid.lo + k * ((grid.hi - grid.lo) / grid.cells)
}

function emptySide(grid: Grid): NumericSide {
  return {
    n: 0,
    min: Number.POSITIVE_INFINITY,
    max: Number.NEGATIVE_INFINITY,
    counts: new Float64Array(grid.cells + 2),
    offsets: new Float64Array(grid.cells + 2),
    shift: Number.NaN,
    sum: 0,
    sumSquares: 0,
  }
}

/**
 * The cell of a value (0 below lo, 1..cells, cells + 1 above hi) by the edges cellStart
 * gives, and its offset from the cell's start; the one function both passes use.
 */
function locate(grid: Grid, v: number, out: { cell: number; offset: number }): void {
  const { lo, hi, cells } = grid
  if (v < lo) {
    out.cell = 0
    out.offset = v - lo
    return
  }
  if (v > hi) {
    out.cell = cells + 1
    out.offset = v - hi
    return
  }
  const width = (hi - lo) / cells
  let k = width > 0 ? Math.floor((v - lo) / width) : 0
  if (k >= cells) k = cells - 1
  // The division can round across an edge: settle on the cell whose [start, next) holds v.
  let start = lo + k * width
  if (k > 0 && v < start) {
    k--
    start = lo + k * width
  } else if (k < cells - 1) {
    const next = lo + (k + 1) * width
    if (v >= next) {
      k++
      start = next
    }
  }
  out.cell = k + 1
  out.offset = v - start
}

function accumulate(items: Float64Array, side: NumericSide, grid: Grid): void {
  const { counts, offsets } = side
  const { lo, hi, cells } = grid
  const width = (hi - lo) / cells
  const above = cells + 1
  let { n, min, max, shift, sum, sumSquares } = side
  if (n === 0) {
    // The first non-NaN value is the shift for the sums of squares.
    for (let i = 0; i < items.length; i++) {
      if (items[i]! === items[i]!) {
        shift = items[i]!
        break
      }
    }
  }
  for (let i = 0; i < items.length; i++) {
    const v = items[i]!
    if (v !== v) continue // null and NaN come through as NaN and are dropped
    n++
    if (v < min) min = v
    if (v > max) max = v
    const d = v - shift
    sum += d
    sumSquares += d * d
    // locate(), written out: this loop sees every value of every numeric column.
    if (v < lo) {
      counts[0]!++
      offsets[0]! += v - lo
    } else if (v > hi) {
      counts[above]!++
      offsets[above]! += v - hi
    } else {
      let k = width > 0 ? Math.floor((v - lo) / width) : 0
      if (k >= cells) k = cells - 1
      let start = lo + k * width
      if (k > 0 && v < start) {
        k--
        start = lo + k * width
      } else if (k < cells - 1) {
        const next = lo + (k + 1) * width
        if (v >= next) {
          k++
          start = next
        }
      }
      counts[k + 1]!++
      offsets[k + 1]! += v - start
    }
  }
  side.n = n
  side.min = min
  side.max = max
  side.shift = shift
  side.sum = sum
  side.sumSquares = sumSquares
}

const asDouble = (name: string, as: string) => `coalesce(TRY_CAST(${ident(name)} AS DOUBLE), 'nan'::DOUBLE) AS ${ident(as)}`

/** Values buffered per column before they are handed on: 4M in all (32 MB), at least one vector, at most 64K rows. */
const BUFFERED_VALUES = 1 << 22

/**
 * Reads every row of `source` once, feeding each listed column's values to `visit` in
 * the rows' order. DuckDB hands back 2048-row vectors; they are gathered per column into
 * runs of tens of thousands of values first, so that one column's grid (about 650 KB at
 * 40,960 cells) stays in the CPU's cache while its run is counted, rather than every
 * column's grid being touched every 2048 rows (four times slower at 100 columns).
 */
async function streamColumns(
  conn: DuckDBConnection,
  source: TableSource,
  columns: string[],
  visit: (column: number, items: Float64Array) => void,
): Promise<void> {
  const select = columns.map((c, i) => asDouble(c, `__c${i}`)).join(', ')
  const result = await conn.stream(`SELECT ${select} FROM (${source.sql})`)
  const rows = Math.max(2048, Math.min(65536, Math.floor(BUFFERED_VALUES / columns.length / 2048) * 2048))
  const buffers = columns.map(() => new Float64Array(rows))
  let filled = 0
  const flush = () => {
    for (let i = 0; i < columns.length; i++) visit(i, filled === rows ? buffers[i]! : buffers[i]!.subarray(0, filled))
    filled = 0
  }
  for (;;) {
    const chunk = await result.fetchChunk()
    if (!chunk || chunk.rowCount === 0) break
    let at = 0
    while (at < chunk.rowCount) {
      const take = Math.min(chunk.rowCount - at, rows - filled)
      for (let i = 0; i < columns.length; i++) {
        const items = (chunk.getColumnVector(i) as unknown as { items: Float64Array }).items
        buffers[i]!.set(at === 0 && take === items.length ? items : items.subarray(at, at + take), filled)
      }
      filled += take
      at += take
      if (filled === rows) flush()
    }
  }
  if (filled > 0) flush()
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

/** Each column's counts and offsets on its grid, from one pass over the source. */
export async function scanNumeric(conn: DuckDBConnection, source: TableSource, columns: Array<{ name: string; grid: Grid }>): Promise<NumericSide[]> {
  const sides = columns.map((c) => emptySide(c.grid))
  if (columns.length === 0) return sides
  await streamColumns(
    conn,
    source,
    columns.map((c) => c.name),
    (i, items) => accumulate(items, sides[i]!, columns[i]!.grid),
  )
  return sides
}

/** The cells (1..cells) in which the two CDFs may cross: where their ranges over the cell overlap. */
export function crossingCells(grid: Grid, ref: NumericSide, cur: NumericSide): Uint8Array {
  const marks = new Uint8Array(grid.cells + 2)
  let f = ref.counts[0]!
  let g = cur.counts[0]!
  for (let c = 1; c <= grid.cells; c++) {
    const f2 = f + ref.counts[c]!
    const g2 = cur.counts[c]! + g
    if (!(f2 / ref.n < g / cur.n || g2 / cur.n < f / ref.n)) marks[c] = 1
    f = f2
    g = g2
  }
  return marks
}

/** How many of a side's values lie in the marked cells. */
export function markedCount(marks: Uint8Array, side: NumericSide): number {
  let total = 0
  for (let c = 0; c < marks.length; c++) if (marks[c]) total += side.counts[c]!
  return total
}

/** The values of each column that fall in its marked cells, sorted, from one pass over the source. */
export async function collectCrossing(
  conn: DuckDBConnection,
  source: TableSource,
  columns: Array<{ name: string; grid: Grid; marks: Uint8Array; expected: number }>,
): Promise<Float64Array[]> {
  const out = columns.map((c) => new Float64Array(c.expected))
  const filled = columns.map(() => 0)
  const at = { cell: 0, offset: 0 }
  await streamColumns(
    conn,
    source,
    columns.map((c) => c.name),
    (i, items) => {
      const { grid, marks } = columns[i]!
      const target = out[i]!
      let next = filled[i]!
      for (let j = 0; j < items.length; j++) {
        const v = items[j]!
        if (v !== v) continue
        locate(grid, v, at)
        if (marks[at.cell]) target[next++] = v
      }
      filled[i] = next
    },
  )
  return out.map((values, i) => {
    if (filled[i] !== values.length) {
      throw new Error(`drift: the data changed between two passes (${columns[i]!.name}: ${filled[i]} values in the crossing cells, ${values.length} before)`)
    }
    return values.sort()
  })
}

/**
 * Wasserstein-1 between the two sides: cells where the CDFs do not cross from their
 * counts and offsets, marked cells from the sorted values they hold (`refValues`,
 * `curValues`: every value of the marked cells, ascending).
 */
export function wasserstein(grid: Grid, ref: NumericSide, cur: NumericSide, marks: Uint8Array, refValues: Float64Array, curValues: Float64Array): number {
  const nF = ref.n
  const nG = cur.n
  // Below the reference's minimum F = 0; above its maximum F = 1.
  let total = -cur.offsets[0]! / nG + cur.offsets[grid.cells + 1]! / nG
  let f = ref.counts[0]!
  let g = cur.counts[0]!
  let i = 0
  let j = 0
  for (let c = 1; c <= grid.cells; c++) {
    const a = cellStart(grid, c - 1)
    const b = cellStart(grid, c)
    const f2 = f + ref.counts[c]!
    const g2 = g + cur.counts[c]!
    if (!marks[c]) {
      const intF = (f2 * (b - a) - ref.offsets[c]!) / nF
      const intG = (g2 * (b - a) - cur.offsets[c]!) / nG
      total += Math.abs(intF - intG)
    } else {
      // Step through the cell's values in order: F - G is constant between two of them.
      let x = a
      let fc = f
      let gc = g
      const refEnd = i + ref.counts[c]!
      const curEnd = j + cur.counts[c]!
      while (i < refEnd || j < curEnd) {
        const next = j >= curEnd || (i < refEnd && refValues[i]! <= curValues[j]!) ? refValues[i]! : curValues[j]!
        total += Math.abs(fc / nF - gc / nG) * (next - x)
        x = next
        while (i < refEnd && refValues[i] === next) {
          fc++
          i++
        }
        while (j < curEnd && curValues[j] === next) {
          gc++
          j++
        }
      }
      total += Math.abs(fc / nF - gc / nG) * (b - x)
    }
    f = f2
    g = g2
  }
  return total
}

/** Population standard deviation from the shifted sums (0 when every value is the same). */
export function populationStd(side: NumericSide): number {
  const mean = side.sum / side.n
  return Math.sqrt(Math.max(0, side.sumSquares / side.n - mean * mean))
}

/** The overlay chart: 20 equal-width bins over the reference's range, plus one bin each side for current values outside it. */
export function gridHistogram(grid: Grid, ref: NumericSide, cur: NumericSide): Array<{ start: number; end: number; reference: number; current: number }> {
  const bins: Array<{ start: number; end: number; reference: number; current: number }> = []
  if (cur.counts[0]! > 0) bins.push({ start: cur.min, end: grid.lo, reference: 0, current: cur.counts[0]! / cur.n })
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
  if (cur.counts[grid.cells + 1]! > 0) bins.push({ start: grid.hi, end: cur.max, reference: 0, current: cur.counts[grid.cells + 1]! / cur.n })
  return bins
}

/** Value counts of every listed column (as text, nulls left out), from one unpivoted GROUP BY. */
export async function categoryCounts(conn: DuckDBConnection, source: TableSource, columns: string[]): Promise<Array<Map<string, number>>> {
  const out = columns.map(() => new Map<string, number>())
  if (columns.length === 0) return out
  const select = columns.map((c, i) => `CAST(${ident(c)} AS VARCHAR) AS __c${i}`).join(', ')
  const rows = await queryRows<{ name: string; value: string; n: bigint }>(
    conn,
    `SELECT name, value, count(*)::BIGINT AS n
     FROM (UNPIVOT (SELECT ${select} FROM (${source.sql})) ON COLUMNS(*) INTO NAME name VALUE value)
     GROUP BY ALL`,
  )
  for (const row of rows) out[Number(row.name.slice(3))]!.set(row.value, Number(row.n))
  return out
}
