import type { ModelSignature } from '../api/common/signature.js'
import type { EngineContext } from '../context.js'
import { recentServingRequests } from '../serving/index.js'
import { classificationMetrics, regressionMetrics } from '../training/index.js'
import type { LogWindow } from './drift/sources.js'
import { windowWhere } from './drift/sources.js'
import { ensureFeedbackTable, predictionLogTable, queryRows, tableExists } from './monitorDb.js'

/**
 * Quality of logged predictions once true labels have arrived: the rows of a window
 * joined to `feedback` by (request_id, row_index), scored with the same metric
 * functions training uses, so the numbers compare with the run's own.
 */
export interface QualityResult {
  /** Logged rows in the window. */
  rows: number
  /** Of those, rows with a label. */
  labelled: number
  /** Labels naming a class the model does not know: counted, left out of the metrics. */
  unknownLabels: number
  /** null until at least `minLabels` labelled rows. */
  metrics: Record<string, number> | null
}

export const DEFAULT_MIN_LABELS = 10

export async function qualityForWindow(
  ctx: EngineContext,
  model: string,
  window: LogWindow,
  signature: ModelSignature,
  minLabels = DEFAULT_MIN_LABELS,
): Promise<QualityResult> {
  const conn = await ctx.workspace.monitor()
  if (!(await tableExists(conn, predictionLogTable))) return { rows: 0, labelled: 0, unknownLabels: 0, metrics: null }
  await ensureFeedbackTable(conn)
  const limit = window.last ? `ORDER BY time DESC, request_id, row_index LIMIT ${Number(window.last)}` : ''
  const windowSql = `SELECT * FROM prediction_log WHERE ${windowWhere(model, window)} ${limit}`
  const [count] = await queryRows<{ n: bigint }>(conn, `SELECT count(*) AS n FROM (${windowSql})`)
  const rows = await queryRows<{ prediction: string | null; probabilities: string | null; label: string | null }>(
    conn,
    `SELECT json_extract_string(p.prediction, '$') AS prediction, p.probabilities::VARCHAR AS probabilities,
            json_extract_string(f.label, '$') AS label
     FROM (${windowSql}) p JOIN feedback f ON f.request_id = p.request_id AND f.row_index = p.row_index
     WHERE f.label IS NOT NULL`,
  )
  const base = { rows: Number(count!.n), labelled: rows.length, unknownLabels: 0 }
  if (rows.length < minLabels) return { ...base, metrics: null }

  if (signature.task === 'regression') {
    const pairs = rows.map((r) => [Number(r.label), Number(r.prediction)] as const).filter(([y, p]) => Number.isFinite(y) && Number.isFinite(p))
    const metrics = regressionMetrics(
      Float64Array.from(pairs, ([y]) => y),
      Float64Array.from(pairs, ([, p]) => p),
    )
    return { ...base, unknownLabels: rows.length - pairs.length, metrics: pairs.length >= minLabels ? metrics : null }
  }

  const classes = signature.classes ?? [...new Set(rows.flatMap((r) => [r.label!, r.prediction ?? '']))].filter(Boolean).sort()
  const index = new Map(classes.map((c, i) => [c, i]))
  const yTrue: number[] = []
  const probabilities: number[] = []
  let unknown = 0
  for (const row of rows) {
    const truth = index.get(row.label!)
    if (truth === undefined) {
      unknown++
      continue
    }
    yTrue.push(truth)
    const byClass = row.probabilities ? (JSON.parse(row.probabilities) as Record<string, number> | number[] | null) : null
    for (let c = 0; c < classes.length; c++) {
      let p: number
      if (Array.isArray(byClass)) p = Number(byClass[c] ?? 0)
      else if (byClass && typeof byClass === 'object') p = Number(byClass[classes[c]!] ?? 0)
      // No probabilities logged: the predicted label counts as certain.
      else p = row.prediction === classes[c] ? 1 : 0
      probabilities.push(p)
    }
  }
  if (yTrue.length < minLabels) return { ...base, unknownLabels: unknown, metrics: null }
  const { values } = classificationMetrics(Int32Array.from(yTrue), Float64Array.from(probabilities), classes.length)
  return { ...base, unknownLabels: unknown, metrics: values }
}

/** Requests, error rate and latency of a window, for rules on serving health. */
export async function trafficForWindow(ctx: EngineContext, model: string, window: LogWindow): Promise<Record<string, number>> {
  const conn = await ctx.workspace.monitor()
  if (!(await tableExists(conn, predictionLogTable))) return { rows: 0 }
  // Errors are counted over every logged status, so the window here is not limited to answered rows.
  const where = windowWhere(model, window).replace(' AND status = 200', '')
  const limit = window.last ? `ORDER BY time DESC, request_id, row_index LIMIT ${Number(window.last)}` : ''
  const [row] = await queryRows<{ rows: bigint; requests: bigint; error_rate: number | null; p50: number | null; p99: number | null }>(
    conn,
    `SELECT count(*) AS rows, count(DISTINCT request_id) AS requests, avg(CASE WHEN status >= 400 THEN 1 ELSE 0 END) AS error_rate,
            quantile_cont(latency_ms, 0.5) AS p50, quantile_cont(latency_ms, 0.99) AS p99
     FROM (SELECT * FROM prediction_log WHERE ${where} ${limit})`,
  )
  const out: Record<string, number> = { rows: Number(row!.rows), requests: Number(row!.requests) }
  if (row!.error_rate !== null) out.error_rate = row!.error_rate
  // Serving logs only answered requests; refusals (bad payloads, failures) live in its
  // recent-requests ring, so the endpoint's own view of this model's errors wins when it has one.
  const endpoint = await endpointErrors(ctx, model)
  if (endpoint) {
    out.error_rate = endpoint.errors / endpoint.requests
    out.endpoint_requests = endpoint.requests
    out.endpoint_errors = endpoint.errors
  }
  if (row!.p50 !== null) out.p50_latency_ms = row!.p50
  if (row!.p99 !== null) out.p99_latency_ms = row!.p99
  return out
}

/** Logged rows for the model so far: the "every N requests" schedule compares against it. */
export async function loggedRowCount(ctx: EngineContext, model: string): Promise<number> {
  const conn = await ctx.workspace.monitor()
  if (!(await tableExists(conn, predictionLogTable))) return 0
  const [row] = await queryRows<{ n: bigint }>(conn, 'SELECT count(*) AS n FROM prediction_log WHERE model = ?', [model])
  return Number(row!.n)
}

/** The model's share of failed requests among the endpoint's most recent ones, when it is serving. */
async function endpointErrors(ctx: EngineContext, model: string): Promise<{ requests: number; errors: number } | null> {
  const recent = recentServingRequests(ctx, 200)
  const mine = recent.filter((r) => r.model === model)
  if (mine.length === 0) return null
  return { requests: mine.length, errors: mine.filter((r) => r.status >= 400).length }
}
