import type { DuckDBConnection } from '@duckdb/node-api'
import { predictionLogView } from '../workspace/index.js'

/**
 * Small helpers over `monitor.duckdb`, where serving's prediction log is read
 * (`prediction_log`, a view over serving's segment files) and monitoring keeps the
 * labels that arrive later (`feedback`, written here).
 */

// DuckDB quoting has one home (data's sql.ts); monitoring's SQL uses these names for it.
export { quoteIdent as ident, quoteString as literal } from '../data/index.js'

/** Whether a table or view is there (`prediction_log` is a view over segment files). */
export async function tableExists(conn: DuckDBConnection, table: string): Promise<boolean> {
  const reader = await conn.runAndReadAll(
    `SELECT count(*)::INTEGER AS n FROM (SELECT table_name AS name, schema_name FROM duckdb_tables() UNION ALL SELECT view_name, schema_name FROM duckdb_views())
     WHERE name = ? AND schema_name = 'main'`,
    [table],
  )
  return Number(reader.getRowObjectsJS()[0]!.n) > 0
}

/** Whether the prediction log holds any row of a model. */
export async function hasLoggedTraffic(conn: DuckDBConnection, model: string): Promise<boolean> {
  if (!(await tableExists(conn, predictionLogTable))) return false
  const reader = await conn.runAndReadAll(`SELECT 1 FROM ${predictionLogTable} WHERE model = ? LIMIT 1`, [model])
  return reader.currentRowCount > 0
}

export async function queryRows<T = Record<string, unknown>>(
  conn: DuckDBConnection,
  sql: string,
  params?: Array<string | number | boolean | null>,
): Promise<T[]> {
  const reader = await conn.runAndReadAll(sql, params as never)
  return reader.getRowObjectsJS() as T[]
}

/**
 * What serving logs, one row per predicted row: a view over its segment files, made
 * by monitor.duckdb's migrations (`workspace/monitor-migrations/002-prediction-log.ts`,
 * owner serving), as is `feedback` (001, owner monitoring).
 */
export const predictionLogTable = predictionLogView
