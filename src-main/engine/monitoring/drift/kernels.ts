/**
 * The loops of the one-pass report that see every value: counting a column into its grid
 * (scan.ts explains the grid) and collecting the values of the cells where the two CDFs
 * may cross. `gridKernels` is self-contained (no imports, no names from outside its body)
 * because its source text is also what the report's worker threads run (workers.ts): the
 * same code gives the same bits on either side.
 */

import type { AreaKernel, AreaSide } from './area.js'

/**
 * What to do with one column's values: count them into a grid, or keep those of the
 * marked cells; with `area` (the current side's pass, the reference's values collected
 * before), give the column's Wasserstein-1 instead of the values.
 */
export type KernelJob =
  | { kind: 'grid'; lo: number; hi: number; cells: number; moments: boolean }
  | {
      kind: 'collect'
      lo: number
      hi: number
      cells: number
      marks: Uint8Array
      counts: Float64Array
      column: string
      area?: { ref: AreaSide; refValues: Float64Array; n: number; offsets: Float64Array }
    }

export interface GridResult {
  kind: 'grid'
  /** Index 0 below lo, 1..cells the cells, cells + 1 above hi. */
  counts: Float64Array
  /** Per cell the sum of (value - the cell's start), in the value's units; below: value - lo; above: value - hi. */
  offsets: Float64Array
  n: number
  belowMin: number
  aboveMax: number
  /** The population standard deviation, summed in the rows' order; NaN unless `moments` was asked for. */
  std: number
}

export interface CollectResult {
  kind: 'collect'
  /** The marked cells' values, cell by cell in cell order (within a cell, in the rows' order). */
  values: Float64Array
}

export interface AreaResult {
  kind: 'area'
  area: number
}

export type KernelResult = GridResult | CollectResult | AreaResult

export interface KernelState {
  job: KernelJob
}

/** The few calls of `@duckdb/node-bindings` a stream needs (passed in: the kernels import nothing). */
export interface StreamBindings {
  fetch_chunk(result: never): Promise<unknown>
  data_chunk_get_size(chunk: never): number
  data_chunk_get_vector(chunk: never, column: number): unknown
  vector_get_data(vector: never, bytes: number): Uint8Array
}

export type TakeRuns = (runs: Float64Array[], length: number) => Float64Array[] | Promise<Float64Array[]>

export interface Kernels {
  start(job: KernelJob): KernelState
  run(state: KernelState, items: Float64Array): void
  finish(state: KernelState): KernelResult
  /**
   * Reads a DuckDB result of `columns` DOUBLE columns (NaN for null) to its end, handing
   * each column's values on in runs of `rows` (the last one shorter), in the rows' order.
   * DuckDB hands back 2048-row vectors; the next one is asked for before this one is
   * copied out (DuckDB decodes it meanwhile). Runs of tens of thousands of values keep one
   * column's grid (about 650 KB at 40,960 cells) in the CPU's cache while its run is
   * counted, rather than every column's grid being touched every 2048 rows.
   * `collectGarbage` is called every `chunksPerCollection` chunks (see workers.ts).
   */
  stream(
    bindings: StreamBindings,
    result: unknown,
    options: { columns: number; rows: number; chunksPerCollection: number; collectGarbage: (() => void) | null },
    take: TakeRuns,
  ): Promise<void>
}

/**
 * A minor (young-generation) garbage collection for the stream, or null where V8's
 * `--expose-gc` cannot be set (the stream still works, in more memory): why, in
 * workers.ts. Self-contained like the kernels: the worker program runs its source too.
 */
export function minorCollector(v8: { setFlagsFromString(flags: string): void }, vm: { runInNewContext(code: string): unknown }): (() => void) | null {
  try {
    v8.setFlagsFromString('--expose-gc')
    const gc = vm.runInNewContext('gc') as (options: { type: 'minor' }) => void
    return typeof gc === 'function' ? () => gc({ type: 'minor' }) : null
  } catch {
    return null
  }
}

/** `area`: area.ts's areaKernel(), passed in (the kernels import nothing). */
export function gridKernels(area: AreaKernel): Kernels {
  interface GridState {
    job: Extract<KernelJob, { kind: 'grid' }>
    counts: Float64Array
    offsets: Float64Array
    belowMin: number
    aboveMax: number
    shift: number
    /** Four running sums of (value - shift) and of its square, by the row's index mod 4 (see countMoments). */
    sums: Float64Array
    squares: Float64Array
    /** Rows seen (NaN included: they fix which sum a row goes to) and values summed. */
    rows: number
    seen: number
  }
  interface CollectState {
    job: Extract<KernelJob, { kind: 'collect' }>
    /** The marked cells' values in cell order, each cell's in its own stretch. */
    values: Float64Array
    /** Per marked cell, where its stretch ends. */
    end: Int32Array
    /** Per bucket of 512 cells, where its next value goes, and where its stretches end. */
    bucketNext: Int32Array
    bucketEnd: Int32Array
  }
  /** Cells per bucket of the collecting pass (see collect). */
  const BUCKET_SHIFT = 9
  /** Grid units per unit of value: a value's position in the grid is (v - lo) * scale. */
  const scaleOf = (job: KernelJob) => (job.hi > job.lo ? job.cells / (job.hi - job.lo) : 0)

  /**
   * Counts each value into its cell: 0 below lo, cells + 1 above hi, else
   * 1 + floor((v - lo) * scale) with hi itself in the last cell; NaN (and null, which
   * comes through as NaN) left out. The offset is summed in grid units (position - cell
   * index) and turned into the value's units in finish(). The rule is monotone in v, so
   * sorted values come in cell order; rounding can put a value a hair outside its
   * cell's edges as scan.ts's cellStart gives them, which moves an area by about 1e-16
   * of the cell's width.
   */
  function countGrid(s: GridState, items: Float64Array): void {
    const { counts, offsets } = s
    const { lo, hi, cells } = s.job
    const scale = scaleOf(s.job)
    const last = cells - 1
    let belowMin = s.belowMin
    let aboveMax = s.aboveMax
    for (let i = 0; i < items.length; i++) {
      const v = items[i]!
      if (v >= lo && v <= hi) {
        const x = (v - lo) * scale
        let k = x | 0
        if (k > last) k = last
        counts[k + 1]!++
        offsets[k + 1]! += x - k
      } else if (v < lo) {
        counts[0]!++
        offsets[0]! += v - lo
        if (v < belowMin) belowMin = v
      } else if (v > hi) {
        counts[cells + 1]!++
        offsets[cells + 1]! += v - hi
        if (v > aboveMax) aboveMax = v
      }
    }
    s.belowMin = belowMin
    s.aboveMax = aboveMax
  }

  /**
   * Shifted sums of the values and their squares. Row r goes to sum r mod 4, in the rows'
   * order: four independent chains of additions run faster than one (1.6 ns a value
   * against 2.6, measured), and the result depends only on the rows' order, not on
   * how they were split into runs or threads (a parallel aggregate would not give the same
   * bits twice). NaN (null) rows are left out but keep their place.
   */
  function countMoments(s: GridState, items: Float64Array): void {
    const n = items.length
    let i = 0
    if (s.seen === 0) {
      while (i < n && items[i]! !== items[i]!) i++
      if (i === n) {
        s.rows += n
        return
      }
      s.shift = items[i]!
    }
    const shift = s.shift
    // Locals a0..a3 take rows whose index mod 4 is phase, phase + 1, ...: item i of this run is row s.rows + i.
    const phase = (s.rows + i) & 3
    const { sums, squares } = s
    let a0 = sums[phase]!
    let a1 = sums[(phase + 1) & 3]!
    let a2 = sums[(phase + 2) & 3]!
    let a3 = sums[(phase + 3) & 3]!
    let b0 = squares[phase]!
    let b1 = squares[(phase + 1) & 3]!
    let b2 = squares[(phase + 2) & 3]!
    let b3 = squares[(phase + 3) & 3]!
    let seen = s.seen
    for (; i + 3 < n; i += 4) {
      const v0 = items[i]!
      const v1 = items[i + 1]!
      const v2 = items[i + 2]!
      const v3 = items[i + 3]!
      if (v0 === v0) {
        const d = v0 - shift
        a0 += d
        b0 += d * d
        seen++
      }
      if (v1 === v1) {
        const d = v1 - shift
        a1 += d
        b1 += d * d
        seen++
      }
      if (v2 === v2) {
        const d = v2 - shift
        a2 += d
        b2 += d * d
        seen++
      }
      if (v3 === v3) {
        const d = v3 - shift
        a3 += d
        b3 += d * d
        seen++
      }
    }
    sums[phase] = a0
    sums[(phase + 1) & 3] = a1
    sums[(phase + 2) & 3] = a2
    sums[(phase + 3) & 3] = a3
    squares[phase] = b0
    squares[(phase + 1) & 3] = b1
    squares[(phase + 2) & 3] = b2
    squares[(phase + 3) & 3] = b3
    // The last one to three items, into the sums their rows belong to; the next run's phase follows on.
    for (; i < n; i++) {
      const v = items[i]!
      if (v !== v) continue
      const d = v - shift
      sums[(s.rows + i) & 3]! += d
      squares[(s.rows + i) & 3]! += d * d
      seen++
    }
    s.seen = seen
    s.rows += n
  }

  /** The cell of a value by countGrid's rule (the hot loops have it written out the same way); -1 for NaN. */
  function cellOf(lo: number, hi: number, scale: number, cells: number, v: number): number {
    if (v >= lo && v <= hi) {
      let k = ((v - lo) * scale) | 0
      if (k > cells - 1) k = cells - 1
      return k + 1
    }
    if (v < lo) return 0
    if (v > hi) return cells + 1
    return -1
  }

  /**
   * Keeps the values whose cell is marked. A value goes to the end of its bucket's stretch
   * of `values` (a bucket: 512 consecutive cells, whose stretches lie together; the first
   * pass's counts size them), so the writes stream into about 80 places rather than
   * scattering over megabytes; finish() puts each bucket's values in cell order (within
   * a few hundred KB, in the CPU's cache) and sorts cell by cell.
   */
  function collect(s: CollectState, items: Float64Array): void {
    const { lo, hi, cells, marks } = s.job
    const scale = scaleOf(s.job)
    const last = cells - 1
    const { values, bucketNext, bucketEnd } = s
    for (let i = 0; i < items.length; i++) {
      const v = items[i]!
      let cell: number
      if (v >= lo && v <= hi) {
        let k = ((v - lo) * scale) | 0
        if (k > last) k = last
        cell = k + 1
      } else if (v < lo) cell = 0
      else if (v > hi) cell = cells + 1
      else continue
      if (marks[cell]) {
        const b = cell >> BUCKET_SHIFT
        const at = bucketNext[b]!
        if (at === bucketEnd[b]) {
          throw new Error(`drift: the data changed between two passes (${s.job.column}: more values in the crossing cells than the first pass counted)`)
        }
        values[at] = v
        bucketNext[b] = at + 1
      }
    }
  }

  /** Each bucket's values into their cells' stretches, in cell order (area.ts needs no sort within a cell). */
  function orderCollected(s: CollectState): void {
    const { lo, hi, cells, marks, counts } = s.job
    const scale = scaleOf(s.job)
    const { values, end, bucketNext, bucketEnd } = s
    const changed = () =>
      new Error(`drift: the data changed between two passes (${s.job.column}: another count of values in a crossing cell than the first pass's)`)
    let widest = 0
    for (let b = 0; b < bucketEnd.length; b++) widest = Math.max(widest, bucketEnd[b]! - (b === 0 ? 0 : bucketEnd[b - 1]!))
    const held = new Float64Array(widest)
    const next = new Int32Array(marks.length)
    for (let b = 0; b < bucketEnd.length; b++) {
      const start = b === 0 ? 0 : bucketEnd[b - 1]!
      if (bucketNext[b] !== bucketEnd[b]) throw changed()
      if (bucketEnd[b] === start) continue
      held.set(values.subarray(start, bucketEnd[b]!))
      const first = b << BUCKET_SHIFT
      const stop = Math.min(marks.length, first + (1 << BUCKET_SHIFT))
      for (let c = first; c < stop; c++) next[c] = end[c]! - (marks[c] ? counts[c]! : 0)
      for (let i = 0; i < bucketEnd[b]! - start; i++) {
        const v = held[i]!
        const cell = cellOf(lo, hi, scale, cells, v)
        if (cell < first || cell >= stop || next[cell]! === end[cell]) throw changed()
        values[next[cell]!] = v
        next[cell]!++
      }
    }
  }

  return {
    async stream(bindings, result, { columns, rows, chunksPerCollection, collectGarbage }, take) {
      const api = bindings as unknown as {
        fetch_chunk(result: unknown): Promise<unknown>
        data_chunk_get_size(chunk: unknown): number
        data_chunk_get_vector(chunk: unknown, column: number): unknown
        vector_get_data(vector: unknown, bytes: number): Uint8Array
      }
      let runs: Float64Array[] = []
      for (let i = 0; i < columns; i++) runs.push(new Float64Array(rows))
      let filled = 0
      let chunks = 0
      let next = api.fetch_chunk(result)
      try {
        for (;;) {
          const chunk = await next
          const count = chunk ? api.data_chunk_get_size(chunk) : 0
          if (!chunk || count === 0) break
          next = api.fetch_chunk(result)
          let at = 0
          while (at < count) {
            const length = Math.min(count - at, rows - filled)
            for (let i = 0; i < columns; i++) {
              const bytes = api.vector_get_data(api.data_chunk_get_vector(chunk, i), count * 8)
              runs[i]!.set(new Float64Array(bytes.buffer, bytes.byteOffset + at * 8, length), filled)
            }
            filled += length
            at += length
            if (filled === rows) {
              runs = await take(runs, filled)
              filled = 0
            }
          }
          if (++chunks % chunksPerCollection === 0 && collectGarbage) collectGarbage()
        }
      } finally {
        // A failed pass leaves no fetch in flight on the connection.
        await next.catch(() => null)
      }
      if (filled > 0) await take(runs, filled)
    },
    start(job) {
      if (job.kind === 'grid') {
        const state: GridState = {
          job,
          counts: new Float64Array(job.cells + 2),
          offsets: new Float64Array(job.cells + 2),
          belowMin: Number.POSITIVE_INFINITY,
          aboveMax: Number.NEGATIVE_INFINITY,
          shift: 0,
          sums: new Float64Array(4),
          squares: new Float64Array(4),
          rows: 0,
          seen: 0,
        }
        return state
      }
      const end = new Int32Array(job.cells + 2)
      const buckets = ((job.cells + 1) >> BUCKET_SHIFT) + 1
      const bucketEnd = new Int32Array(buckets)
      let total = 0
      for (let c = 0; c < job.cells + 2; c++) {
        if (job.marks[c]) total += job.counts[c]!
        end[c] = total
        bucketEnd[c >> BUCKET_SHIFT] = total
      }
      const bucketNext = new Int32Array(buckets)
      for (let b = 1; b < buckets; b++) bucketNext[b] = bucketEnd[b - 1]!
      const state: CollectState = { job, values: new Float64Array(total), end, bucketNext, bucketEnd }
      return state
    },
    run(state, items) {
      if (state.job.kind === 'grid') {
        countGrid(state as GridState, items)
        if (state.job.moments) countMoments(state as GridState, items)
      } else collect(state as CollectState, items)
    },
    finish(state) {
      if (state.job.kind === 'grid') {
        const s = state as GridState
        const { lo, hi, cells } = s.job
        const width = (hi - lo) / cells
        let n = 0
        for (let c = 0; c < s.counts.length; c++) n += s.counts[c]!
        for (let c = 1; c <= cells; c++) s.offsets[c]! *= width
        let std = Number.NaN
        if (s.job.moments && s.seen > 0) {
          const sum = s.sums[0]! + s.sums[1]! + (s.sums[2]! + s.sums[3]!)
          const squares = s.squares[0]! + s.squares[1]! + (s.squares[2]! + s.squares[3]!)
          const mean = sum / s.seen
          std = Math.sqrt(Math.max(0, squares / s.seen - mean * mean))
        }
        return { kind: 'grid', counts: s.counts, offsets: s.offsets, n, belowMin: s.belowMin, aboveMax: s.aboveMax, std }
      }
      const s = state as CollectState
      orderCollected(s)
      const against = s.job.area
      if (!against) return { kind: 'collect', values: s.values }
      const own = { n: against.n, counts: s.job.counts, offsets: against.offsets }
      return { kind: 'area', area: area.wasserstein(s.job, against.ref, own, s.job.marks, against.refValues, s.values) }
    },
  }
}
