/**
 * A metric series travels as immutable binary segments: one per run, metric and block
 * of 1000 steps (steps 0-999 are segment 0). PostgreSQL took 15.9 s for 1M points stored
 * row by row and 1.25 s as 1000-step segments (DESIGN.md).
 *
 * Pure (no Node builtins). Layout (little-endian): "LMS1", uint32 count, then count float64 steps, then count
 * float64 values, steps rising.
 */
export const SEGMENT_STEPS = 1000
const MAGIC = 0x31534d4c // "LMS1"

export interface MetricPoint {
  step: number
  value: number
}

export function segmentOf(step: number): number {
  return Math.floor(step / SEGMENT_STEPS)
}

export function encodeSegment(points: readonly MetricPoint[]): Uint8Array {
  return encodeSegmentRows(points.map((p) => [p.step, p.value] as const))
}

/** encodeSegment from rows as SQLite returns them raw: [step, value] pairs, steps rising. */
export function encodeSegmentRows(rows: ReadonlyArray<readonly [number, number]>): Uint8Array {
  const n = rows.length
  const bytes = new Uint8Array(8 + 16 * n)
  const view = new DataView(bytes.buffer)
  view.setUint32(0, MAGIC, true)
  view.setUint32(4, n, true)
  for (let i = 0; i < n; i++) {
    view.setFloat64(8 + 8 * i, rows[i]![0], true)
    view.setFloat64(8 + 8 * n + 8 * i, rows[i]![1], true)
  }
  return bytes
}

/** Throws an Error naming what is wrong when the bytes are not a segment. */
export function decodeSegment(bytes: Uint8Array): MetricPoint[] {
  const points: MetricPoint[] = []
  forEachPoint(bytes, (step, value) => points.push({ step, value }))
  return points
}

/** What decodeSegment checks, without building the points: the number of points, or an Error naming what is wrong. */
export function checkSegment(bytes: Uint8Array): number {
  return forEachPoint(bytes, () => {})
}

function forEachPoint(bytes: Uint8Array, each: (step: number, value: number) => void): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (bytes.length < 8 || view.getUint32(0, true) !== MAGIC) throw new Error('not a metric segment (no LMS1 header)')
  const n = view.getUint32(4, true)
  if (bytes.length !== 8 + 16 * n) throw new Error(`a metric segment of ${n} points must be ${8 + 16 * n} bytes, not ${bytes.length}`)
  for (let i = 0; i < n; i++) {
    const step = view.getFloat64(8 + 8 * i, true)
    const value = view.getFloat64(8 + 8 * n + 8 * i, true)
    if (!Number.isInteger(step) || !Number.isFinite(value)) throw new Error(`metric segment point ${i} is not a whole step with a finite value`)
    each(step, value)
  }
  return n
}
