import { z } from 'zod'
import type { DuckDBConnection } from '@duckdb/node-api'
import type { EngineContext } from '../context.js'
import { plainRows, withConnection } from './duck.js'
import { isNumericType, isTemporalType, quoteIdent, quoteString } from './sql.js'
import { getProfile, putProfile, type VersionRecord } from './store.js'

/** Above this many rows distinct counts are approximate (HyperLogLog) and flagged. */
export const EXACT_DISTINCT_MAX_ROWS = 100_000
const HISTOGRAM_BINS = 20
const TOP_VALUES = 10

const Value = z.union([z.number(), z.string(), z.boolean()]).nullable()

export const ColumnProfile = z.object({
  name: z.string(),
  type: z.string(),
  kind: z.enum(['numeric', 'categorical', 'temporal', 'other']),
  count: z.number(),
  nulls: z.number(),
  distinct: z.number(),
  distinctApproximate: z.boolean(),
  min: Value,
  max: Value,
  mean: z.number().nullable(),
  /** Sample standard deviation (n - 1), as pandas reports it. */
  std: z.number().nullable(),
  quantiles: z.object({ p05: Value, p25: Value, p50: Value, p75: Value, p95: Value }).nullable(),
  /** Numeric columns: equal-width bins over [min, max]; the last bin is closed. */
  histogram: z.array(z.object({ lower: z.number(), upper: z.number(), count: z.number() })).optional(),
  /** Other columns: the most frequent values. */
  top: z.array(z.object({ value: Value, count: z.number() })).optional(),
})
export type ColumnProfile = z.infer<typeof ColumnProfile>

export const Profile = z.object({
  dataset: z.string(),
  version: z.number(),
  rows: z.number(),
  columnCount: z.number(),
  duplicateRows: z.number(),
  cached: z.boolean(),
  columns: z.array(ColumnProfile),
})
export type Profile = z.infer<typeof Profile>

function kindOf(type: string): ColumnProfile['kind'] {
  if (isNumericType(type)) return 'numeric'
  if (isTemporalType(type)) return 'temporal'
  if (/^(VARCHAR|BOOLEAN|UUID|ENUM.*)$/i.test(type)) return 'categorical'
  return 'other'
}

/** The profile of a version: cached in lathe.db after the first computation. */
export async function profileVersion(ctx: EngineContext, record: VersionRecord): Promise<Profile> {
  const cached = getProfile(ctx.workspace.db, record.id) as Profile | null
  if (cached) return { ...cached, cached: true }
  const profile = await computeProfile(ctx, record)
  putProfile(ctx.workspace.db, record.id, profile)
  return profile
}

async function computeProfile(ctx: EngineContext, record: VersionRecord): Promise<Profile> {
  const source = `read_parquet(${quoteString(await ctx.workspace.objects.ensure(record.objectSha256))})`
  const approximate = record.rows > EXACT_DISTINCT_MAX_ROWS
  return withConnection(ctx, async (connection) => {
    // One scan computes the basic stats of every column and the duplicate count; a
    // second computes every numeric histogram (it needs the min and max); top values
    // take a GROUP BY per categorical column.
    const allColumns = record.columns.map((c) => quoteIdent(c.name)).join(', ')
    // Duplicate rows by distinct row hashes: 64-bit hashes make a collision among
    // even tens of millions of rows vanishingly unlikely, and it is far cheaper than
    // SELECT DISTINCT * over every column.
    const selects: string[] = ['count(*) AS "rows"', `count(DISTINCT hash(${allColumns})) AS "distinct_rows"`]
    record.columns.forEach((column, i) => {
      const c = quoteIdent(column.name)
      const kind = kindOf(column.type)
      selects.push(`count(${c}) AS "count_${i}"`)
      selects.push(approximate ? `approx_count_distinct(${c}) AS "distinct_${i}"` : `count(DISTINCT ${c}) AS "distinct_${i}"`)
      if (kind === 'numeric') {
        // Integers and doubles go in as they are: a cast to DOUBLE first makes
        // quantile_cont materialize a converted copy and runs about twice as slow.
        const d = /^(FLOAT|REAL|DECIMAL|HUGEINT|UHUGEINT|UBIGINT)/i.test(column.type) ? `${c}::DOUBLE` : c
        selects.push(`min(${d}) AS "min_${i}"`, `max(${d}) AS "max_${i}"`, `avg(${d}) AS "mean_${i}"`, `stddev_samp(${d}) AS "std_${i}"`)
        selects.push(`quantile_cont(${d}, [0.05, 0.25, 0.5, 0.75, 0.95]) AS "q_${i}"`)
      } else if (kind === 'temporal') {
        selects.push(`min(${c})::VARCHAR AS "min_${i}"`, `max(${c})::VARCHAR AS "max_${i}"`)
        selects.push(`quantile_disc(${c}, [0.05, 0.25, 0.5, 0.75, 0.95])::VARCHAR[] AS "q_${i}"`)
      } else if (kind === 'categorical') {
        selects.push(`min(${c})::VARCHAR AS "min_${i}"`, `max(${c})::VARCHAR AS "max_${i}"`)
      }
    })
    const stats = plainRows(await connection.runAndReadAll(`SELECT ${selects.join(', ')} FROM ${source}`))[0]!
    const rows = Number(stats.rows)
    const columns: ColumnProfile[] = record.columns.map((column, i) => {
      const kind = kindOf(column.type)
      const count = Number(stats[`count_${i}`])
      const q = stats[`q_${i}`] as Array<number | string | null> | null | undefined
      return {
        name: column.name,
        type: column.type,
        kind,
        count,
        nulls: rows - count,
        distinct: Number(stats[`distinct_${i}`]),
        distinctApproximate: approximate,
        min: (stats[`min_${i}`] ?? null) as ColumnProfile['min'],
        max: (stats[`max_${i}`] ?? null) as ColumnProfile['max'],
        mean: kind === 'numeric' ? ((stats[`mean_${i}`] as number | null) ?? null) : null,
        std: kind === 'numeric' ? ((stats[`std_${i}`] as number | null) ?? null) : null,
        quantiles: q ? { p05: q[0] ?? null, p25: q[1] ?? null, p50: q[2] ?? null, p75: q[3] ?? null, p95: q[4] ?? null } : null,
      }
    })
    await addHistograms(connection, source, columns)
    for (const column of columns) {
      // Temporal columns are described by min, max and quantiles: their values are
      // mostly distinct, so top values say nothing and cost a GROUP BY over every row.
      if (column.kind === 'numeric' || column.kind === 'temporal') continue
      const c = quoteIdent(column.name)
      const top = plainRows(
        await connection.runAndReadAll(
          `SELECT ${c}::VARCHAR AS value, count(*) AS count FROM ${source} WHERE ${c} IS NOT NULL
           GROUP BY ALL ORDER BY count DESC, value LIMIT ${TOP_VALUES}`,
        ),
      )
      column.top = top.map((t) => ({ value: t.value as string, count: Number(t.count) }))
    }
    return {
      dataset: record.name,
      version: record.version,
      rows,
      columnCount: record.columns.length,
      duplicateRows: rows - Number(stats.distinct_rows),
      cached: false,
      columns,
    }
  })
}

/** Equal-width histograms of every numeric column, in one scan. */
async function addHistograms(connection: DuckDBConnection, source: string, columns: ColumnProfile[]): Promise<void> {
  const numeric = columns.filter((c) => c.kind === 'numeric' && c.min !== null && c.max !== null)
  for (const column of columns) if (column.kind === 'numeric') column.histogram = []
  if (numeric.length === 0) return
  const selects = numeric.map((column, i) => {
    const min = column.min as number
    const max = column.max as number
    const c = `${quoteIdent(column.name)}::DOUBLE`
    if (min === max) return `histogram(0) FILTER (WHERE ${c} IS NOT NULL) AS "h_${i}"`
    const width = (max - min) / HISTOGRAM_BINS
    // The maximum falls in the last bin, not in a bin of its own.
    return `histogram(least(floor((${c} - ${min}) / ${width})::INTEGER, ${HISTOGRAM_BINS - 1})) FILTER (WHERE ${c} IS NOT NULL) AS "h_${i}"`
  })
  const reader = await connection.runAndReadAll(`SELECT ${selects.join(', ')} FROM ${source}`)
  const row = reader.getRowObjectsJson()[0]!
  numeric.forEach((column, i) => {
    const min = column.min as number
    const max = column.max as number
    const counts = new Map<number, number>()
    const map = row[`h_${i}`] as Array<{ key: number; value: number | string }> | null
    for (const entry of map ?? []) counts.set(Number(entry.key), Number(entry.value))
    if (min === max) {
      column.histogram = [{ lower: min, upper: max, count: counts.get(0) ?? 0 }]
      return
    }
    const width = (max - min) / HISTOGRAM_BINS
    column.histogram = Array.from({ length: HISTOGRAM_BINS }, (_, b) => ({
      lower: min + b * width,
      upper: b === HISTOGRAM_BINS - 1 ? max : min + (b + 1) * width,
      count: counts.get(b) ?? 0,
    }))
  })
}
