import type { DuckDBConnection } from '@duckdb/node-api'

/**
 * Small helpers over `monitor.duckdb`, the DuckDB file where serving logs every
 * predicted row (`prediction_log`, written by serving) and monitoring keeps the
 * labels that arrive later (`feedback`, written here).
 */

// DuckDB quoting has one home (data's sql.ts); monitoring's SQL uses these names for it.
export { quoteIdent as ident, quoteString as literal } from '../data/index.js'

export async function tableExists(conn: DuckDBConnection, table: string): Promise<boolean> {
  const reader = await conn.runAndReadAll(
    `SELECT count(*)::INTEGER AS n FROM duckdb_tables() WHERE table_name = ? AND schema_name = 'main'`,
    [table],
  )
  return Number(reader.getRowObjectsJS()[0]!.n) > 0
}

export async function queryRows<T = Record<string, unknown>>(
  conn: DuckDBConnection,
  sql: string,
  params?: Array<string | number | boolean | null>,
): Promise<T[]> {
  const reader = await conn.runAndReadAll(sql, params as never)
  return reader.getRowObjectsJS() as T[]
}

/** The table serving writes one row per predicted row into; its shape is serving's contract. */
export const predictionLogTable = 'prediction_log'

export async function ensureFeedbackTable(conn: DuckDBConnection): Promise<void> {
  // One label per logged row: a corrected label replaces the earlier one.
  await conn.run(`CREATE TABLE IF NOT EXISTS feedback (
    request_id VARCHAR NOT NULL, row_index INTEGER NOT NULL, label JSON, time TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (request_id, row_index))`)
}
