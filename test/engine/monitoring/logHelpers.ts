import type { Engine } from '../../../src-main/engine/engine.js'
import { servingService } from '../../../src-main/engine/serving/service.js'

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

/**
 * Logs rows as serving does, through serving's own prediction log writer, for tests
 * that log traffic without starting the serving endpoint: rows sharing a request id
 * are one request, in `row_index` order. Resolves once `prediction_log` shows them.
 */
export async function logPredictions(engine: Engine, rows: LoggedRow[]): Promise<void> {
  const log = servingService(engine.context).log
  const requests = new Map<string, Array<LoggedRow & { at: number }>>()
  rows.forEach((r, i) => {
    const list = requests.get(r.request_id) ?? []
    list.push({ ...r, at: Date.parse(r.time ?? new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString()) })
    requests.set(r.request_id, list)
  })
  for (const [requestId, list] of requests) {
    list.sort((a, b) => (a.row_index ?? 0) - (b.row_index ?? 0))
    if (list.some((r, i) => (r.row_index ?? 0) !== i)) throw new Error(`request ${requestId}: row_index must run 0, 1, 2, ...`)
    const first = list[0]!
    log.append({
      requestId,
      time: first.at,
      model: first.model,
      version: first.version ?? 1,
      route: 'invocations',
      status: first.status ?? 200,
      latencyMs: first.latency_ms ?? 1,
      batch: { rows: list.length, feeds: [], records: () => list.map((r) => r.inputs) },
      predictions: list.map((r) => ({ prediction: r.prediction, probabilities: r.probabilities ?? null })),
      classes: null,
    })
  }
  await log.drain()
}
