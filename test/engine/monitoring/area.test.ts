import { describe, expect, it } from 'vitest'
import type { KernelResult } from '../../../src-main/engine/monitoring/drift/kernels.js'
import { crossingCells, gridCells, wasserstein, type Grid, type NumericSide } from '../../../src-main/engine/monitoring/drift/scan.js'
import { inline } from '../../../src-main/engine/monitoring/drift/workers.js'

/**
 * The one-pass Wasserstein-1 (area.ts) against the definition: both samples sorted and
 * merged, |F - G| summed between consecutive values. The grids and the crossing cells'
 * values come from the kernels the report runs; the crossing cells here hold from a few
 * values to hundreds of thousands (ties, a spike), so the cells are split, and split
 * again, in every way the kernel does.
 */

/** A seeded xorshift32 in [0, 1). */
function random(seed: number): () => number {
  let s = seed >>> 0 || 1
  return () => {
    s ^= s << 13
    s >>>= 0
    s ^= s >>> 17
    s ^= s << 5
    s >>>= 0
    return s / 4294967296
  }
}

function definition(a: Float64Array, b: Float64Array): number {
  const x = a.slice().sort()
  const y = b.slice().sort()
  let i = 0
  let j = 0
  let at = Math.min(x[0]!, y[0]!)
  let total = 0
  while (i < x.length || j < y.length) {
    const next = j >= y.length || (i < x.length && x[i]! <= y[j]!) ? x[i]! : y[j]!
    total += Math.abs(i / x.length - j / y.length) * (next - at)
    at = next
    while (i < x.length && x[i] === next) i++
    while (j < y.length && y[j] === next) j++
  }
  return total
}

function run<T extends KernelResult>(job: Parameters<typeof inline.start>[0], values: Float64Array): T {
  const state = inline.start(job)
  for (let at = 0; at < values.length; at += 50_000) inline.run(state, values.subarray(at, at + 50_000))
  return inline.finish(state) as T
}

function onePass(reference: Float64Array, current: Float64Array): number {
  let lo = Infinity
  let hi = -Infinity
  for (const v of reference) {
    lo = Math.min(lo, v)
    hi = Math.max(hi, v)
  }
  const grid: Grid = { lo, hi, cells: gridCells(reference.length) }
  const side = (values: Float64Array): NumericSide => {
    const r = run<Extract<KernelResult, { kind: 'grid' }>>({ kind: 'grid', ...grid, moments: false }, values)
    return { n: r.n, belowMin: r.belowMin, aboveMax: r.aboveMax, counts: r.counts, offsets: r.offsets, std: r.std }
  }
  const ref = side(reference)
  const cur = side(current)
  const marks = crossingCells(grid, ref, cur)
  const collect = (values: Float64Array, s: NumericSide) =>
    run<Extract<KernelResult, { kind: 'collect' }>>({ kind: 'collect', ...grid, marks, counts: s.counts, column: 'x' }, values).values
  return wasserstein(grid, ref, cur, marks, collect(reference, ref), collect(current, cur))
}

const sample = (n: number, seed: number, value: (u: () => number) => number) => {
  const u = random(seed)
  return Float64Array.from({ length: n }, () => value(u))
}

describe('the one-pass Wasserstein-1', () => {
  const cases: Array<[string, Float64Array, Float64Array]> = [
    ['the same distribution (the CDFs cross all along)', sample(200_000, 1, (u) => u()), sample(200_000, 2, (u) => u())],
    ['a small shift, unequal sizes', sample(150_000, 3, (u) => u()), sample(90_000, 4, (u) => u() + 1e-3)],
    ['50 distinct values (every value tied)', sample(100_000, 5, (u) => Math.floor(u() * 50) / 50), sample(100_000, 6, (u) => Math.floor(u() * 50) / 50)],
    ['a spike: a third of the values at 0.5', sample(120_000, 7, (u) => (u() < 0.33 ? 0.5 : u())), sample(120_000, 8, (u) => (u() < 0.34 ? 0.5 : u()))],
    [
      'a bell, and current values beyond the reference at both ends',
      sample(80_000, 9, (u) => u() + u() + u()),
      sample(80_000, 10, (u) => (u() + u() + u()) * 1.2 - 0.3),
    ],
    [
      'values a hair apart within one cell',
      sample(60_000, 11, (u) => (u() < 0.5 ? 1 + u() * 1e-9 : u() * 2)),
      sample(60_000, 12, (u) => (u() < 0.5 ? 1 + u() * 1e-9 : u() * 2)),
    ],
  ]
  for (const [name, reference, current] of cases) {
    it(`equals the sorted merge: ${name}`, () => {
      const expected = definition(reference, current)
      const got = onePass(reference, current)
      expect(Math.abs(got - expected) / expected).toBeLessThan(1e-12)
    })
  }
})
