import type { DuckDBConnection } from '@duckdb/node-api'

/**
 * Serving's `prediction_log` shape (its contract with monitoring), created by tests
 * that log traffic without starting the serving endpoint.
 */
export async function createPredictionLog(conn: DuckDBConnection): Promise<void> {
  await conn.run(`CREATE TABLE IF NOT EXISTS prediction_log (
    request_id VARCHAR, row_index INTEGER, time TIMESTAMPTZ, model VARCHAR, version INTEGER,
    route VARCHAR, status INTEGER, latency_ms DOUBLE, inputs JSON, prediction JSON, probabilities JSON)`)
}

export interface LoggedRow {
  request_id: string
  row_index?: number
  time?: string
  model: string
  version?: number
  status?: number
  latency_ms?: number
  inputs: Record<string, unknown>
  prediction: unknown
  probabilities?: number[] | null
}

/** Appends rows as serving would (one per predicted row). */
export async function logPredictions(conn: DuckDBConnection, rows: LoggedRow[]): Promise<void> {
  await createPredictionLog(conn)
  const payload = JSON.stringify(
    rows.map((r, i) => ({
      request_id: r.request_id,
      row_index: r.row_index ?? 0,
      time: r.time ?? new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
      model: r.model,
      version: r.version ?? 1,
      route: '/v2/infer',
      status: r.status ?? 200,
      latency_ms: r.latency_ms ?? 1,
      inputs: JSON.stringify(r.inputs),
      prediction: JSON.stringify(r.prediction),
      probabilities: r.probabilities ? JSON.stringify(r.probabilities) : null,
    })),
  )
  await conn.run(
    `INSERT INTO prediction_log
     SELECT request_id, row_index, time::TIMESTAMPTZ, model, version, route, status, latency_ms,
            inputs::JSON, prediction::JSON, probabilities::JSON
     FROM (SELECT unnest(from_json(?::JSON, '[{"request_id":"VARCHAR","row_index":"INTEGER","time":"VARCHAR","model":"VARCHAR","version":"INTEGER","route":"VARCHAR","status":"INTEGER","latency_ms":"DOUBLE","inputs":"VARCHAR","prediction":"VARCHAR","probabilities":"VARCHAR"}]'), recursive := true))`,
    [payload],
  )
}
