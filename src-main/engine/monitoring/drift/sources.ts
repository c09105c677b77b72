import { LatheError } from '../../api/common/errors.js'
import type { EngineContext } from '../../context.js'
import { resolveDatasetVersion } from '../../data/index.js'
import { splitSelectSql } from '../../data/index.js'
import type { SplitPart, SplitSpec } from '../../data/index.js'
import { ident, literal } from '../monitorDb.js'

/**
 * Where the two sides of a drift report come from. Each is a SQL SELECT that DuckDB
 * runs against `monitor.duckdb`: a Parquet file, a dataset version (optionally one
 * part of a split), or a window of the prediction log with the model's inputs pulled
 * out of their JSON. The rows stay in DuckDB either way.
 */
export interface TableSource {
  /** For people: `weather@2 (train split)`, `last 5000 requests`, a path. */
  label: string
  sql: string
  /** Names the rows for the reference cache: the same key means the same rows (an immutable dataset version). */
  cacheKey?: string
  /**
   * Costly to run (a split's sort, the log's JSON): a report that reads it more than once
   * copies the columns it needs into a temporary table first (which spills under DuckDB's
   * memory limit).
   */
  materialize?: boolean
  /** Its SQL reads only files (no table of the connection): another DuckDB, in a counting thread, can run it. */
  standalone?: boolean
  /** Its SQL is `SELECT *` of this one Parquet file: a counting thread may read its number columns from the file itself (parquet.ts). */
  parquet?: string
}

export function parquetSource(path: string, label = path): TableSource {
  return { label, sql: `SELECT * FROM read_parquet(${literal(path)})`, standalone: true, parquet: path }
}

/** A dataset version (or one part of its split) to compare; its Parquet is fetched first when a pull brought only its record. */
export async function datasetSource(ctx: EngineContext, ref: string, split?: { spec: SplitSpec; part: SplitPart }): Promise<TableSource> {
  const version = resolveDatasetVersion(ctx, ref)
  await ctx.workspace.objects.ensure(version.objectSha256)
  const name = `${version.name}@${version.version}`
  const cacheKey = `dataset ${version.objectSha256}${split ? ` ${JSON.stringify(split.spec)} ${split.part}` : ''}`
  if (!split) return { label: name, sql: `SELECT * FROM read_parquet(${literal(version.path)})`, cacheKey, standalone: true, parquet: version.path }
  return {
    label: `${name} (${split.part} split)`,
    cacheKey,
    materialize: true,
    sql: `SELECT * EXCLUDE (__split, __row) FROM (${splitSelectSql(split.spec, version.path)}) WHERE __split = ${literal(split.part)}`,
  }
}

/** A window of logged traffic: the last N rows, or a time range, or both. */
export interface LogWindow {
  last?: number
  since?: string
  until?: string
  /** Only rows answered by this version. */
  version?: number
}

export function describeWindow(window: LogWindow): string {
  const parts: string[] = []
  if (window.last) parts.push(`last ${window.last} rows`)
  if (window.since) parts.push(`since ${window.since}`)
  if (window.until) parts.push(`until ${window.until}`)
  if (window.version) parts.push(`version ${window.version}`)
  return parts.length ? parts.join(', ') : 'all logged rows'
}

export function checkWindow(window: LogWindow): void {
  for (const key of ['since', 'until'] as const) {
    const value = window[key]
    if (value !== undefined && Number.isNaN(Date.parse(value))) {
      throw new LatheError('bad_request', `--${key} "${value}" is not an ISO date or time (e.g. 2026-01-31T12:00:00Z)`, { field: key })
    }
  }
  if (window.last !== undefined && !(Number.isInteger(window.last) && window.last > 0)) {
    throw new LatheError('bad_request', `--last must be a positive whole number of rows, not ${window.last}`, { field: 'last' })
  }
}

/** The WHERE clause selecting a model's logged rows in a window (answered requests only). */
export function windowWhere(model: string, window: LogWindow): string {
  const conditions = [`model = ${literal(model)}`, 'status = 200']
  if (window.version) conditions.push(`version = ${Number(window.version)}`)
  if (window.since) conditions.push(`time >= ${literal(new Date(window.since).toISOString())}::TIMESTAMPTZ`)
  if (window.until) conditions.push(`time < ${literal(new Date(window.until).toISOString())}::TIMESTAMPTZ`)
  return conditions.join(' AND ')
}

export interface LoggedColumn {
  name: string
  kind: 'numeric' | 'categorical'
}

/**
 * The prediction log as a table with one column per model input, plus the model's
 * answer as `__prediction` (a label or a number, as the signature says).
 */
export function predictionLogSource(model: string, window: LogWindow, columns: LoggedColumn[], prediction: 'numeric' | 'categorical' | null): TableSource {
  checkWindow(window)
  const select = columns.map((c) => {
    const text = `json_extract_string(inputs, ${literal(`$."${c.name.replaceAll('"', '\\"')}"`)})`
    return `${c.kind === 'numeric' ? `TRY_CAST(${text} AS DOUBLE)` : text} AS ${ident(c.name)}`
  })
  if (prediction) {
    const text = `json_extract_string(prediction, '$')`
    select.push(`${prediction === 'numeric' ? `TRY_CAST(${text} AS DOUBLE)` : text} AS __prediction`)
  }
  const limit = window.last ? `ORDER BY time DESC, request_id, row_index LIMIT ${Number(window.last)}` : ''
  return {
    label: `${model}: ${describeWindow(window)}`,
    materialize: true,
    sql: `SELECT ${select.join(', ') || '1 AS __none'} FROM (SELECT * FROM prediction_log WHERE ${windowWhere(model, window)} ${limit})`,
  }
}
