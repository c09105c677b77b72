import type { DuckDBInstance, DuckDBConnection, DuckDBResultReader } from '@duckdb/node-api'
import type { EngineContext } from '../context.js'

/**
 * One in-memory DuckDB per engine for import, profile, transform, split and preview
 * work. Nothing is stored in it: every dataset version is a Parquet object, read with
 * read_parquet. Each task takes its own connection so that a long import does not
 * hold up a preview, and so progress is read per query.
 */
export function duckdbOf(ctx: EngineContext): Promise<DuckDBInstance> {
  return ctx.singleton('data.duckdb', () => {
    // Loaded on first use, so commands that never touch DuckDB start without it.
    const created = import('@duckdb/node-api').then(({ DuckDBInstance }) => DuckDBInstance.create(':memory:'))
    ctx.onClose(async () => (await created).closeSync())
    return created
  })
}

export async function withConnection<T>(ctx: EngineContext, work: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
  const connection = await (await duckdbOf(ctx)).connect()
  try {
    // Progress is only tracked with the progress bar on; it is never printed.
    await connection.run('SET enable_progress_bar = true; SET enable_progress_bar_print = false; SET progress_bar_time = 0')
    return await work(connection)
  } finally {
    connection.closeSync()
  }
}

/** Rows as plain objects with bigints as numbers (or strings when they exceed 2^53). */
export function plainRows(reader: DuckDBResultReader): Array<Record<string, unknown>> {
  // A DATE arrives as a JS Date at midnight UTC; shown as an instant it would read as
  // a timestamp, so DATE columns become 'YYYY-MM-DD'.
  const names = reader.columnNames()
  const dates = new Set(reader.columnTypes().flatMap((type, i) => (String(type) === 'DATE' ? [names[i]!] : [])))
  return reader.getRowObjectsJS().map((row) => {
    const out: Record<string, unknown> = {}
    for (const [key, value] of Object.entries(row)) {
      out[key] = dates.has(key) && value instanceof Date ? value.toISOString().slice(0, 10) : plainValue(value)
    }
    return out
  })
}

export function plainValue(value: unknown): unknown {
  if (typeof value === 'bigint') {
    return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(value) : value.toString()
  }
  if (value instanceof Date) return value.toISOString()
  if (Array.isArray(value)) return value.map(plainValue)
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) out[k] = plainValue(v)
    return out
  }
  if (typeof value === 'number' && !Number.isFinite(value)) return null
  return value
}

/**
 * Runs a statement while reporting DuckDB's own progress (0..1) every `everyMs`.
 * The statement executes off the main thread, so the event loop stays free to relay
 * the progress events: a 3-million-row import shows movement, not a frozen screen.
 */
export async function runWithProgress(
  connection: DuckDBConnection,
  sql: string,
  onProgress: (fraction: number) => void,
  everyMs = 150,
): Promise<DuckDBResultReader> {
  const pending = await connection.start(sql)
  let last = -1
  const timer = setInterval(() => {
    const { percentage } = connection.progress
    if (percentage >= 0 && percentage / 100 > last) {
      last = percentage / 100
      onProgress(Math.min(1, last))
    }
  }, everyMs)
  try {
    return await pending.readAll()
  } finally {
    clearInterval(timer)
  }
}
