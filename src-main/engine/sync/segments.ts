/**
 * A metric series travels as immutable binary segments: one per run, metric and block
 * of 1000 steps (steps 0-999 are segment 0). PostgreSQL took 15.9 s for 1M points stored
 * row by row and 1.25 s as 1000-step segments (DESIGN.md).
 *
 * Layout (little-endian): "LMS1", uint32 count, then count float64 steps, then count
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

export function encodeSegment(points: readonly MetricPoint[]): Buffer {
  const n = points.length
  const buffer = Buffer.alloc(8 + 16 * n)
  buffer.writeUInt32LE(MAGIC, 0)
  buffer.writeUInt32LE(n, 4)
  for (let i = 0; i < n; i++) {
    buffer.writeDoubleLE(points[i]!.step, 8 + 8 * i)
    buffer.writeDoubleLE(points[i]!.value, 8 + 8 * n + 8 * i)
  }
  return buffer
}

/** Throws an Error naming what is wrong when the bytes are not a segment. */
export function decodeSegment(bytes: Buffer): MetricPoint[] {
  if (bytes.length < 8 || bytes.readUInt32LE(0) !== MAGIC) throw new Error('not a metric segment (no LMS1 header)')
  const n = bytes.readUInt32LE(4)
  if (bytes.length !== 8 + 16 * n) throw new Error(`a metric segment of ${n} points must be ${8 + 16 * n} bytes, not ${bytes.length}`)
  const points: MetricPoint[] = []
  for (let i = 0; i < n; i++) {
    const step = bytes.readDoubleLE(8 + 8 * i)
    const value = bytes.readDoubleLE(8 + 8 * n + 8 * i)
    if (!Number.isInteger(step) || !Number.isFinite(value)) throw new Error(`metric segment point ${i} is not a whole step with a finite value`)
    points.push({ step, value })
  }
  return points
}
