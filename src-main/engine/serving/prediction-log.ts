import type { DuckDBConnection } from '@duckdb/node-api'
import type { InputBatch } from './loaded-model.js'
import type { RowPrediction } from './responses.js'

/**
 * The prediction log: one row per predicted row in `monitor.duckdb`. Monitoring
 * reads it for drift and joins feedback labels to it by (request_id, row_index).
 *
 * Column meanings: `inputs` is a JSON object column -> value as the client sent it
 * (null for a missing value); `prediction` is the JSON of the answer (the label for
 * classifiers, the number for regressors, the output row for imported models);
 * `probabilities` is a JSON object class -> probability for classifiers, else null.
 * Only answered requests (status 200) are logged.
 */
export const predictionLogTable = 'prediction_log'

export const predictionLogDdl = `CREATE TABLE IF NOT EXISTS ${predictionLogTable} (
  request_id VARCHAR, row_index INTEGER, time TIMESTAMPTZ, model VARCHAR, version INTEGER,
  route VARCHAR, status INTEGER, latency_ms DOUBLE, inputs JSON, prediction JSON, probabilities JSON)`

export async function ensurePredictionLogTable(conn: DuckDBConnection): Promise<void> {
  await conn.run(predictionLogDdl)
}

export interface LoggedRequest {
  requestId: string
  /** Epoch milliseconds at arrival. */
  time: number
  model: string
  version: number
  route: string
  status: number
  latencyMs: number
  batch: InputBatch
  predictions: RowPrediction[]
  classes: string[] | null
}

export interface PredictionLogOptions {
  /** Rows waiting to be written; past this, new requests' rows are dropped (and counted). */
  maxQueuedRows: number
  /** How often the writer wakes when the queue is not full enough to write at once. */
  flushIntervalMs: number
  /** Queue size at which the writer writes without waiting for the interval. */
  flushRows: number
}

export const defaultPredictionLogOptions: PredictionLogOptions = { maxQueuedRows: 100_000, flushIntervalMs: 200, flushRows: 2_000 }

/**
 * The whole slice goes in as one JSON text that DuckDB parses on its own thread:
 * binding DuckDB list values from JavaScript costs far more event-loop time than one
 * JSON.stringify, and the JSON columns arrive already encoded.
 */
const insertSql = `INSERT INTO ${predictionLogTable}
  SELECT request_id, row_index, make_timestamptz(time_us), model, version, route, status, latency_ms, inputs, prediction, probabilities
  FROM (SELECT unnest(from_json(?::VARCHAR, '[{"request_id":"VARCHAR","row_index":"INTEGER","time_us":"BIGINT","model":"VARCHAR","version":"INTEGER","route":"VARCHAR","status":"INTEGER","latency_ms":"DOUBLE","inputs":"JSON","prediction":"JSON","probabilities":"JSON"}]'), recursive := true))`

/**
 * Appends logged requests to DuckDB in the background. Requests only push onto a
 * bounded queue (no I/O and no JSON encoding on the request path); the writer turns
 * them into rows and inserts a whole batch in one statement. When DuckDB falls
 * behind and the queue is full, requests still succeed and their rows are dropped
 * and counted.
 */
export class PredictionLogWriter {
  private queue: LoggedRequest[] = []
  private queuedRows = 0
  private writing: Promise<void> | null = null
  private timer: NodeJS.Timeout | null = null
  private closed = false
  droppedRows = 0
  writtenRows = 0
  failures = 0

  constructor(
    private readonly connection: () => Promise<DuckDBConnection>,
    private readonly options: PredictionLogOptions = defaultPredictionLogOptions,
    private readonly onError: (error: unknown) => void = () => {},
  ) {}

  get queueDepth(): number {
    return this.queuedRows
  }

  /** Never blocks and never throws: a full queue drops the request's rows. */
  append(entry: LoggedRequest): boolean {
    if (this.closed || this.queuedRows + entry.batch.rows > this.options.maxQueuedRows) {
      this.droppedRows += entry.batch.rows
      return false
    }
    this.queue.push(entry)
    this.queuedRows += entry.batch.rows
    if (this.queuedRows >= this.options.flushRows) this.writeSoon()
    else this.timer ??= setTimeout(() => this.writeSoon(), this.options.flushIntervalMs)
    return true
  }

  private writeSoon(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    this.writing ??= this.writeAll().finally(() => {
      this.writing = null
      if (this.queue.length) this.timer ??= setTimeout(() => this.writeSoon(), this.options.flushIntervalMs)
    })
  }

  private async writeAll(): Promise<void> {
    let conn: DuckDBConnection
    try {
      conn = await this.connection()
      await ensurePredictionLogTable(conn)
    } catch (error) {
      // The log cannot be written at all (workspace closing, disk full): drop what waits, keep serving.
      this.failures++
      this.droppedRows += this.queuedRows
      this.queue = []
      this.queuedRows = 0
      this.onError(error)
      return
    }
    while (this.queue.length) {
      // One statement per `flushRows` rows at most: the JSON encoding below runs on the
      // event loop, so a large backlog is cut into slices that requests can interleave with.
      let rows = 0
      let take = 0
      while (take < this.queue.length && (take === 0 || rows + this.queue[take]!.batch.rows <= this.options.flushRows)) {
        rows += this.queue[take]!.batch.rows
        take++
      }
      const entries = this.queue.splice(0, take)
      try {
        await conn.run(insertSql, [await toJsonText(entries)])
        this.writtenRows += rows
      } catch (error) {
        this.failures++
        this.droppedRows += rows
        this.onError(error)
      } finally {
        this.queuedRows -= rows
      }
    }
  }

  /** Writes everything queued so far; resolves once it is in DuckDB. */
  async drain(): Promise<void> {
    while (this.queue.length || this.writing) {
      if (!this.writing) this.writeSoon()
      await this.writing
    }
  }

  async close(): Promise<void> {
    await this.drain()
    this.closed = true
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
  }
}

/** Rows encoded per turn of the event loop: ~0.3 ms of work, so a request never waits behind a whole slice. */
const ROWS_PER_TURN = 256

/** The slice as one JSON array, encoded a few hundred rows at a time with a yield between. */
async function toJsonText(entries: LoggedRequest[]): Promise<string> {
  const parts: string[] = []
  let group: LoggedRequest[] = []
  let rows = 0
  for (const e of entries) {
    group.push(e)
    rows += e.batch.rows
    if (rows >= ROWS_PER_TURN) {
      parts.push(toJsonRows(group).slice(1, -1))
      group = []
      rows = 0
      await new Promise<void>((resolve) => setImmediate(resolve))
    }
  }
  if (group.length) parts.push(toJsonRows(group).slice(1, -1))
  return `[${parts.filter((p) => p.length > 0).join(',')}]`
}

function toJsonRows(entries: LoggedRequest[]): string {
  const rows: unknown[] = []
  for (const e of entries) {
    const records = e.batch.records()
    const timeUs = Math.round(e.time * 1000)
    for (let r = 0; r < e.batch.rows; r++) {
      const p = e.predictions[r]!
      rows.push({
        request_id: e.requestId,
        row_index: r,
        time_us: timeUs,
        model: e.model,
        version: e.version,
        route: e.route,
        status: e.status,
        latency_ms: e.latencyMs,
        inputs: records[r] ?? {},
        prediction: p.prediction ?? null,
        probabilities: p.probabilities && e.classes ? Object.fromEntries(e.classes.map((c, i) => [c, p.probabilities![i] ?? null])) : p.probabilities,
      })
    }
  }
  // JSON.stringify writes NaN and Infinity as null: what a missing value is in the log.
  return JSON.stringify(rows)
}
