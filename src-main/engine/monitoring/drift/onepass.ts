import { randomUUID } from 'node:crypto'
import type { DuckDBConnection } from '@duckdb/node-api'
import { LatheError } from '../../api/common/errors.js'
import { ident, queryRows } from '../monitorDb.js'
import { assemble, chooseMethod, decide, type DriftMethod, type DriftOptions, type DriftReport, type Feature, type FeatureDrift } from './decide.js'
import { exactNumeric } from './exact.js'
import {
  categoryCounts,
  collectCrossing,
  COLLECT_BUDGET,
  crossingAreas,
  crossingCells,
  gridCells,
  gridHistogram,
  markedCount,
  markedRuns,
  ranges,
  scanNumeric,
  wasserstein,
  type Grid,
  type NumericSide,
} from './scan.js'
import type { Counting } from './scan.js'
import { CACHED_VALUES, type ReferenceCache } from './referenceCache.js'
import { defaultKernelThreads, KernelPool } from './workers.js'
import type { TableSource } from './sources.js'
import { categoricalFromCounts, type FeatureStatistics, type NumericStatistics } from './statistics.js'

/** LATHE_DRIFT_THREADS: counting threads for every report, whatever its size (0: none, count in the engine's thread). */
function threadsFromEnvironment(): number | null {
  const text = process.env.LATHE_DRIFT_THREADS
  if (text === undefined || text === '') return null
  const threads = Number(text)
  if (!Number.isInteger(threads) || threads < 0 || threads > 64) {
    throw new LatheError('bad_request', `LATHE_DRIFT_THREADS must be a whole number from 0 to 64, not "${text}"`, { field: 'LATHE_DRIFT_THREADS' })
  }
  return threads
}

/**
 * The passes as progress (`onProgress`, the CLI's line): which pass is running, as step
 * `done` of `total`; the second pass's batches are counted in once they are known.
 */
class Passes {
  private done = 0
  constructor(
    private total: number,
    private readonly report?: DriftOptions['onProgress'],
  ) {}

  start(what: string): void {
    this.report?.({ done: this.done, total: this.total, feature: what })
  }

  finish(): void {
    this.done++
  }

  /** Replaces the one step counted for the second pass by its batches. */
  batches(count: number): void {
    this.total += count - 1
  }
}

/** The marked cells' stretches of a column's values grouped by cell (all its cells'), in cell order: what collecting only the marked cells gives. */
function markedStretches(values: Float64Array, marks: Uint8Array, counts: Float64Array): Float64Array {
  const out = new Float64Array(markedCount(marks, { counts }))
  let to = 0
  markedRuns(marks, counts, (start, length) => {
    out.set(values.subarray(start, start + length), to)
    to += length
  })
  return out
}

/** A pass of this many values (rows x numeric columns) or more counts in worker threads. */
const THREADED_VALUES = 4_000_000

interface Item {
  /** The name in the report (`prediction` for the model's output). */
  name: string
  refColumn: string
  curColumn: string
  kind: 'numeric' | 'categorical'
  method?: DriftMethod
  threshold?: number
}

/** Puts each item's cached reference part into `into`; returns the items the cache does not hold. */
function takeCached<T>(items: Item[], lookup: (item: Item) => T | null | undefined, into: { set(item: Item, value: T): unknown }): Item[] {
  return items.filter((it) => {
    const hit = lookup(it)
    if (hit) into.set(it, hit)
    return !hit
  })
}

/** The connection's spill folder, for the counting threads' own DuckDBs ('' when it has none). */
async function spillFolder(conn: DuckDBConnection): Promise<string> {
  const [row] = await queryRows<{ dir: string | null }>(conn, `SELECT current_setting('temp_directory') AS dir`)
  return row?.dir ?? ''
}

async function rowCount(conn: DuckDBConnection, source: TableSource): Promise<number> {
  const [row] = await queryRows<{ n: bigint }>(conn, `SELECT count(*)::BIGINT AS n FROM (${source.sql})`)
  return Number(row!.n)
}

/**
 * The `needed` report: numeric columns in one streaming pass per side (see scan.ts), a
 * second pass only over the columns whose CDFs cross inside a cell, categorical columns
 * in one GROUP BY with a grouping set each, per side; the reference's part taken from the
 * cache when it is there.
 */
export async function onePassReport(
  conn: DuckDBConnection,
  reference: TableSource,
  current: TableSource,
  features: Feature[],
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
    return { ...source, sql: `SELECT * FROM ${table}`, materialize: false, standalone: false, parquet: undefined }
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
  features: Feature[],
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
  const numericItems = items.length - categorical.length
  const passes = new Passes((categorical.length ? 1 : 0) + (numericItems ? 3 : 0), options.onProgress)
  if (categorical.length) passes.start(`counting the values of ${categorical.length} categorical column${categorical.length === 1 ? '' : 's'}`)
  const refCounts = new Map<Item, Map<string, number>>()
  const uncached = takeCached(categorical, (it) => cache?.categorical(key, it.refColumn), refCounts)
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
  if (categorical.length) passes.finish()
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

  const numeric = items.filter((it) => it.kind === 'numeric')
  const threads =
    options.threads ?? threadsFromEnvironment() ?? (Math.max(referenceRows, currentRows) * numeric.length >= THREADED_VALUES ? defaultKernelThreads() : 0)
  const counting = threads > 0 && numeric.length > 0 ? KernelPool.open(Math.min(threads, numeric.length), await spillFolder(conn)) : null
  let exact: Item[]
  try {
    exact = await numericOnePass(conn, reference, current, numeric, stats, { cache, key, counting, passes, referenceRows })
  } finally {
    await counting?.close()
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

/**
 * The numeric columns' Wasserstein on the one-pass path: the reference's grids (cached, or
 * one range query and one pass), the current's pass, the crossing cells' second pass;
 * fills `stats` and returns the columns left for the exact path.
 */
async function numericOnePass(
  conn: DuckDBConnection,
  reference: TableSource,
  current: TableSource,
  numeric: Item[],
  stats: Map<Item, FeatureStatistics | null>,
  { cache, key, counting, passes, referenceRows }: { cache: ReferenceCache | null; key: string; counting: Counting; passes: Passes; referenceRows: number },
): Promise<Item[]> {
  if (numeric.length === 0) return []
  // Numeric: the reference's grids and summaries (cached, or one range query and one pass).
  const refSides = new Map<Item, { grid: Grid; side: NumericSide } | null>()
  const missing = takeCached(numeric, (it) => cache?.numeric(key, it.refColumn), refSides)
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
  passes.start(toScan.length ? `reading the reference's ${toScan.length} numeric column${toScan.length === 1 ? '' : 's'}` : 'the reference from its cache')
  const scanned = await scanNumeric(
    conn,
    reference,
    toScan.map((s) => ({ name: s.item.refColumn, grid: s.grid })),
    { moments: true, counting },
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
  passes.finish()
  if (onePass.length) passes.start(`reading the current side's ${onePass.length} numeric column${onePass.length === 1 ? '' : 's'}`)
  const curSides = await scanNumeric(
    conn,
    current,
    onePass.map((it) => ({ name: it.curColumn, grid: refSides.get(it)!.grid })),
    { counting },
  )

  // Second pass, in batches that fit the budget, for the cells where the CDFs may cross.
  // The reference's values there come from the cache when it keeps them (the reference is
  // then not read at all); a reference small enough to keep has all its values collected
  // once, kept, and the crossing cells' taken from them.
  const keep = cache !== null && referenceRows * onePass.length <= CACHED_VALUES
  const pending = onePass.map((it, i) => {
    const { grid, side } = refSides.get(it)!
    const cur = curSides[i]!
    const marks = cur.n > 0 ? crossingCells(grid, side, cur) : new Uint8Array(grid.cells + 2)
    const refCrossing = markedCount(marks, side)
    const curCrossing = markedCount(marks, cur)
    const kept = keep && cache.hasValues(key, it.refColumn, side.n)
    // All its values with the current side's crossing ones must fit the budget; else only the crossing cells', as without a cache.
    const collectAll = keep && !kept && side.n + curCrossing <= COLLECT_BUDGET
    const crossing = refCrossing + curCrossing
    return { it, grid, ref: side, cur, marks, crossing, kept, collectAll, mass: (collectAll ? side.n : refCrossing) + curCrossing }
  })
  for (const p of pending.filter((p) => p.mass > COLLECT_BUDGET)) exact.push(p.it)
  const batches: Array<typeof pending> = []
  for (const p of pending.filter((p) => p.mass <= COLLECT_BUDGET)) {
    const last = batches.at(-1)
    if (last && last.reduce((s, q) => s + q.mass, 0) + p.mass <= COLLECT_BUDGET) last.push(p)
    else batches.push([p])
  }
  passes.finish()
  passes.batches(batches.length)
  for (const [b, batch] of batches.entries()) {
    const withCrossings = batch.filter((p) => p.crossing > 0 && p.cur.n > 0)
    passes.start(
      `the values where the CDFs cross, ${withCrossings.length} column${withCrossings.length === 1 ? '' : 's'} (batch ${b + 1} of ${batches.length})`,
    )
    // The reference's side: scanned for the columns the cache does not keep (all values of those it will keep).
    const scanned = batch.filter((p) => !p.kept && (p.collectAll || withCrossings.includes(p)))
    const collected = await collectCrossing(
      conn,
      reference,
      scanned.map((p) => ({ name: p.it.refColumn, grid: p.grid, marks: p.collectAll ? new Uint8Array(p.grid.cells + 2).fill(1) : p.marks, side: p.ref })),
      counting,
    )
    const refValues = new Map<(typeof batch)[number], Float64Array>()
    scanned.forEach((p, i) => {
      if (!p.collectAll) return refValues.set(p, collected[i]!)
      cache!.putValues(key, p.it.refColumn, collected[i]!)
      refValues.set(p, markedStretches(collected[i]!, p.marks, p.ref.counts))
    })
    for (const p of withCrossings) if (p.kept) refValues.set(p, cache!.markedValues(key, p.it.refColumn, p.marks, p.ref.counts))
    // The current side's pass finishes each column's distance where it collects the column's values.
    const areas = await crossingAreas(
      conn,
      current,
      withCrossings.map((p) => ({ name: p.it.curColumn, grid: p.grid, marks: p.marks, side: p.cur, ref: p.ref, refValues: refValues.get(p)! })),
      counting,
    )
    for (const p of batch) {
      if (p.cur.n === 0) {
        stats.set(p.it, null)
        continue
      }
      const at = withCrossings.indexOf(p)
      const w = at >= 0 ? areas[at]! : wasserstein(p.grid, p.ref, p.cur, p.marks, new Float64Array(0), new Float64Array(0))
      const result: NumericStatistics = {
        kind: 'numeric',
        referenceRows: p.ref.n,
        currentRows: p.cur.n,
        wasserstein_normed: w / (p.ref.std || 1),
        chart: { kind: 'histogram', bins: gridHistogram(p.grid, p.ref, p.cur) },
      }
      stats.set(p.it, result)
    }
    passes.finish()
  }
  return exact
}
