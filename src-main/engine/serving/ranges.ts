import { z } from 'zod'
import type { ModelSignature } from '../api/common/signature.js'
import type { InputBatch } from './loaded-model.js'

/**
 * How far outside its training range a value may be before it is flagged: a fraction
 * of the column's training range (max - min) on each side, for every column or per
 * column. Flagged values are still served.
 */
export const RangeMargin = z.object({
  default: z.number().min(0).default(0.1),
  columns: z.record(z.string(), z.number().min(0)).default({}),
})
export type RangeMargin = z.infer<typeof RangeMargin>
export const defaultRangeMargin: RangeMargin = RangeMargin.parse({})

/** A column with values outside its training range in one request. */
export interface OutOfRange {
  column: string
  /** Rows (0-based) with a flagged value, at most the first 10. */
  rows: number[]
  count: number
  /** The training range, and the bounds with the margin. */
  min: number
  max: number
  low: number
  high: number
}

export interface RangeFlags {
  summary: OutOfRange[]
  /** Per row, the flagged columns (null when none), for the log. */
  perRow: Array<string[] | null>
}

interface Limit {
  feed: number
  column: string
  min: number
  max: number
  low: number
  high: number
}

const limitsCache = new WeakMap<ModelSignature, { margin: RangeMargin; limits: Limit[] }>()

function limitsOf(signature: ModelSignature, margin: RangeMargin): Limit[] {
  const cached = limitsCache.get(signature)
  if (cached?.margin === margin) return cached.limits
  const limits: Limit[] = []
  signature.columns?.forEach((column, feed) => {
    if (column.kind !== 'numeric' || !column.range) return
    const { min, max } = column.range
    const pad = (max - min) * (margin.columns[column.name] ?? margin.default)
    limits.push({ feed, column: column.name, min, max, low: min - pad, high: max + pad })
  })
  limitsCache.set(signature, { margin, limits })
  return limits
}

/** Values outside their column's training range plus margin; null when there are none (the common case). */
export function flagOutOfRange(signature: ModelSignature, batch: InputBatch, margin: RangeMargin): RangeFlags | null {
  const limits = limitsOf(signature, margin)
  let flags: RangeFlags | null = null
  for (const limit of limits) {
    const values = batch.feeds[limit.feed]?.values
    if (!values) continue
    let found: OutOfRange | null = null
    for (let r = 0; r < batch.rows; r++) {
      const v = values[r]
      if (typeof v !== 'number' || Number.isNaN(v) || (v >= limit.low && v <= limit.high)) continue
      flags ??= { summary: [], perRow: new Array<string[] | null>(batch.rows).fill(null) }
      found ??= { column: limit.column, rows: [], count: 0, min: limit.min, max: limit.max, low: limit.low, high: limit.high }
      found.count++
      if (found.rows.length < 10) found.rows.push(r)
      ;(flags.perRow[r] ??= []).push(limit.column)
    }
    if (found) flags!.summary.push(found)
  }
  return flags
}

/** One line per flagged column, for the MLflow response header and the v2 `parameters`. */
export function describeOutOfRange(o: OutOfRange): string {
  const rows = o.count > o.rows.length ? `${o.rows.join(', ')}, ... (${o.count} rows)` : o.rows.join(', ')
  return `${o.column} outside the training range [${o.min}, ${o.max}] (with margin [${round(o.low)}, ${round(o.high)}]) in row ${rows}`
}

function round(x: number): number {
  return Number(x.toPrecision(6))
}
