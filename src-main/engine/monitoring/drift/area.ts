/**
 * The Wasserstein-1 distance of the one-pass report from the two sides' grids and the
 * values of the cells where their CDFs may cross (scan.ts explains the grid). Like
 * kernels.ts's `gridKernels`, `areaKernel` is self-contained (no imports, no names from
 * outside its body): its source text is also what the worker threads run, so a worker
 * can finish a column's distance where it collected the column's values.
 */

/** One side of a column on its grid: index 0 below lo, 1..cells the cells, cells + 1 above hi. */
export interface AreaSide {
  n: number
  counts: Float64Array
  /** Per cell, the sum of (value - the cell's start); below: value - lo; above: value - hi. */
  offsets: Float64Array
}

export interface AreaKernel {
  /**
   * The area between the two empirical CDFs: cells where they do not cross from their
   * counts and offsets, marked cells from the values they hold (`refValues`, `curValues`:
   * every value of the marked cells, cell by cell in cell order, in any order within a
   * cell; reordered in place).
   */
  wasserstein(
    grid: { lo: number; hi: number; cells: number },
    ref: AreaSide,
    cur: AreaSide,
    marks: Uint8Array,
    refValues: Float64Array,
    curValues: Float64Array,
  ): number
}

export function areaKernel(): AreaKernel {
  /** Cells of this many values or fewer (both sides) are sorted (by insertion) and stepped through; larger ones are split first. */
  const SMALL_CELL = 32
  /** Splits of a cell within a cell at most (ties can keep every value in one part). */
  const MAX_DEPTH = 6
  /** Values per part a split aims at (measured: 16 a little faster than 8 or 32, four times faster than sorting the cell). */
  const PER_PART = 16

  /** Buffers for markedArea, one set per depth, grown as needed and reused cell after cell. */
  type Level = { refEnds: Int32Array; curEnds: Int32Array; ref: Float64Array; cur: Float64Array }
  const levels: Level[] = []
  function level(depth: number, parts: number, refs: number, curs: number): Level {
    let at = levels[depth]
    if (!at) levels[depth] = at = { refEnds: new Int32Array(0), curEnds: new Int32Array(0), ref: new Float64Array(0), cur: new Float64Array(0) }
    if (at.refEnds.length < parts + 1) {
      at.refEnds = new Int32Array(2 * parts + 1)
      at.curEnds = new Int32Array(2 * parts + 1)
    }
    if (at.ref.length < refs) at.ref = new Float64Array(2 * refs)
    if (at.cur.length < curs) at.cur = new Float64Array(2 * curs)
    at.refEnds.fill(0, 0, parts + 1)
    at.curEnds.fill(0, 0, parts + 1)
    return at
  }

  /** A part's index in [0, parts) by the same rule as the grid's cells (rounding at an edge clamped in). */
  function partOf(v: number, x0: number, scale: number, parts: number): number {
    const k = ((v - x0) * scale) | 0
    return k < 0 ? 0 : k >= parts ? parts - 1 : k
  }

  /**
   * Puts values[start, end) in order of their part (a counting sort: no comparisons), and
   * leaves in ends[p] where part p ends (part p starts at ends[p - 1], part 0 at start).
   */
  function byPart(values: Float64Array, start: number, end: number, x0: number, scale: number, parts: number, ends: Int32Array, held: Float64Array): void {
    for (let i = start; i < end; i++) ends[partOf(values[i]!, x0, scale, parts) + 1]!++
    ends[0] = start
    for (let p = 1; p <= parts; p++) ends[p]! += ends[p - 1]!
    // ends[p] is where part p starts; placing a value moves its part's start on, so afterwards ends[p] is where part p ends.
    held.set(values.subarray(start, end))
    for (let i = 0; i < end - start; i++) {
      const v = held[i]!
      values[ends[partOf(v, x0, scale, parts)]!++] = v
    }
  }

  /** Ascending, in place: insertion for a few values (the usual case here), the built-in sort for more. */
  function sortRange(values: Float64Array, start: number, end: number): void {
    if (end - start > 32) {
      values.subarray(start, end).sort()
      return
    }
    for (let i = start + 1; i < end; i++) {
      const v = values[i]!
      let j = i - 1
      while (j >= start && values[j]! > v) {
        values[j + 1] = values[j]!
        j--
      }
      values[j + 1] = v
    }
  }

  /** markedArea of a small cell: both sides sorted, then F - G stepped through between consecutive values. */
  function steppedArea(
    x0: number,
    x1: number,
    f: number,
    g: number,
    nF: number,
    nG: number,
    R: Float64Array,
    rs: number,
    re: number,
    C: Float64Array,
    cs: number,
    ce: number,
  ): number {
    sortRange(R, rs, re)
    sortRange(C, cs, ce)
    let total = 0
    let x = x0
    let fc = f
    let gc = g
    let i = rs
    let j = cs
    while (i < re || j < ce) {
      const next = j >= ce || (i < re && R[i]! <= C[j]!) ? R[i]! : C[j]!
      total += Math.abs(fc / nF - gc / nG) * (next - x)
      x = next
      while (i < re && R[i] === next) {
        fc++
        i++
      }
      while (j < ce && C[j] === next) {
        gc++
        j++
      }
    }
    return total + Math.abs(fc / nF - gc / nG) * (x1 - x)
  }

  /**
   * The exact area between the two empirical CDFs over [x0, x1), where F starts at `f`
   * values of nF and G at `g` of nG, from the values of each side inside it (R[rs, re),
   * C[cs, ce), in any order; reordered in place). A small cell is sorted and stepped
   * through: F - G is constant between two consecutive values. A larger one is split into
   * parts of about PER_PART values (a counting sort by part): the parts in which the CDFs
   * do not cross take their area from their counts and offsets, as the grid's cells do,
   * and only those in which they may cross are looked into, the same way. The values are
   * in memory already, so this replaces a sort of every crossing cell (about 50 ns a
   * value) by a few linear passes.
   */
  function markedArea(
    x0: number,
    x1: number,
    f: number,
    g: number,
    nF: number,
    nG: number,
    R: Float64Array,
    rs: number,
    re: number,
    C: Float64Array,
    cs: number,
    ce: number,
    depth: number,
  ): number {
    const count = re - rs + (ce - cs)
    if (count <= SMALL_CELL || depth >= MAX_DEPTH || !(x1 > x0)) return steppedArea(x0, x1, f, g, nF, nG, R, rs, re, C, cs, ce)
    let parts = 2
    while (parts * PER_PART < count && parts < 1 << 14) parts *= 2
    const scale = parts / (x1 - x0)
    const { refEnds, curEnds, ref, cur } = level(depth, parts, re - rs, ce - cs)
    byPart(R, rs, re, x0, scale, parts, refEnds, ref)
    byPart(C, cs, ce, x0, scale, parts, curEnds, cur)
    const width = (x1 - x0) / parts
    let total = 0
    let fc = f
    let gc = g
    let ri = rs
    let ci = cs
    for (let p = 0; p < parts; p++) {
      const a = x0 + p * width
      const b = p === parts - 1 ? x1 : x0 + (p + 1) * width
      const rEnd = refEnds[p]!
      const cEnd = curEnds[p]!
      const f2 = fc + (rEnd - ri)
      const g2 = gc + (cEnd - ci)
      if (!(f2 / nF < gc / nG || g2 / nG < fc / nF)) {
        total += markedArea(a, b, fc, gc, nF, nG, R, ri, rEnd, C, ci, cEnd, depth + 1)
      } else {
        let offR = 0
        let offC = 0
        for (let i = ri; i < rEnd; i++) offR += R[i]! - a
        for (let i = ci; i < cEnd; i++) offC += C[i]! - a
        total += Math.abs((f2 * (b - a) - offR) / nF - (g2 * (b - a) - offC) / nG)
      }
      fc = f2
      gc = g2
      ri = rEnd
      ci = cEnd
    }
    return total
  }

  return {
    wasserstein(grid, ref, cur, marks, refValues, curValues) {
      const { lo, hi, cells } = grid
      // scan.ts's cellStart, written out: the kernel imports nothing.
      const cellStart = (k: number) => (k >= cells ? hi : lo + k * ((hi - lo) / cells))
      const nF = ref.n
      const nG = cur.n
      // Below the reference's minimum F = 0; above its maximum F = 1.
      let total = -cur.offsets[0]! / nG + cur.offsets[cells + 1]! / nG
      let f = ref.counts[0]!
      let g = cur.counts[0]!
      let i = 0
      let j = 0
      for (let c = 1; c <= cells; c++) {
        const a = cellStart(c - 1)
        const b = cellStart(c)
        const f2 = f + ref.counts[c]!
        const g2 = g + cur.counts[c]!
        if (!marks[c]) {
          const intF = (f2 * (b - a) - ref.offsets[c]!) / nF
          const intG = (g2 * (b - a) - cur.offsets[c]!) / nG
          total += Math.abs(intF - intG)
        } else {
          const refEnd = i + ref.counts[c]!
          const curEnd = j + cur.counts[c]!
          total += markedArea(a, b, f, g, nF, nG, refValues, i, refEnd, curValues, j, curEnd, 0)
          i = refEnd
          j = curEnd
        }
        f = f2
        g = g2
      }
      return total
    },
  }
}
