import type { DuckDBConnection, DuckDBPreparedStatement } from '@duckdb/node-api'
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
 * Each slice goes in as one JSON array that DuckDB parses on its own thread: binding
 * DuckDB list values from JavaScript costs far more event-loop time than encoding, and
 * the JSON columns arrive already encoded. The array is bound as a BLOB of UTF-8 bytes
 * (`decode` makes it text again inside DuckDB), so it never becomes a JavaScript string.
 */
const insertSql = `INSERT INTO ${predictionLogTable}
  SELECT request_id, row_index, make_timestamptz(time_us), model, version, route, status, latency_ms, inputs, prediction, probabilities
  FROM (SELECT unnest(from_json(decode(?::BLOB), '[{"request_id":"VARCHAR","row_index":"INTEGER","time_us":"BIGINT","model":"VARCHAR","version":"INTEGER","route":"VARCHAR","status":"INTEGER","latency_ms":"DOUBLE","inputs":"JSON","prediction":"JSON","probabilities":"JSON"}]'), recursive := true))`

/**
 * Encoded rows waiting for their insert: a JSON array being written into an off-heap
 * buffer (`[` item `,` item ...; the `]` is added when it is inserted). At most
 * `flushRows` rows (or one larger request) per slice: one slice is one statement.
 */
interface Slice {
  bytes: Buffer
  used: number
  rows: number
}

/** Bytes a fresh slice starts with; it doubles as rows arrive. Spare ones are kept for reuse. */
const SLICE_START_BYTES = 256 * 1024
const SPARE_SLICES = 2

/**
 * Appends logged requests to DuckDB in the background. Requests only push onto a
 * bounded queue (no I/O and no JSON encoding on the request path); each turn's
 * requests are encoded on the next turn, straight into off-heap byte buffers, and the
 * writer inserts a whole slice in one statement. Nothing that waits for the write is
 * a JavaScript object: queued rows held as strings survived young-generation
 * collections and were copied and promoted, which made every scavenge on the serving
 * loop several times longer. When DuckDB falls behind and the queue is full, requests
 * still succeed and their rows are dropped and counted.
 */
export class PredictionLogWriter {
  /** Slices full to `flushRows`, oldest first; `open` takes the next rows. */
  private slices: Slice[] = []
  private open: Slice | null = null
  private spare: Buffer[] = []
  /** Appended this turn, encoded on the next. */
  private pending: LoggedRequest[] = []
  private encodeTimer: NodeJS.Immediate | null = null
  private queuedRows = 0
  private writing: Promise<void> | null = null
  private timer: NodeJS.Timeout | null = null
  private closed = false
  /** The insert, prepared once per connection: preparing it per write cost more event-loop time than the encoding. */
  private prepared: { conn: DuckDBConnection; statement: DuckDBPreparedStatement } | null = null
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
    // Encoded on the next turn (after this turn's responses are written), while the
    // request's objects are still young, so none of them survives a scavenge.
    this.pending.push(entry)
    this.queuedRows += entry.batch.rows
    this.encodeTimer ??= setImmediate(() => this.encodePending())
    if (this.queuedRows >= this.options.flushRows) this.writeSoon()
    else this.timer ??= setTimeout(() => this.writeSoon(), this.options.flushIntervalMs)
    return true
  }

  private encodePending(): void {
    if (this.encodeTimer) clearImmediate(this.encodeTimer)
    this.encodeTimer = null
    const pending = this.pending
    this.pending = []
    for (const entry of pending) {
      try {
        const rows: string[] = []
        appendJsonRows(entry, rows)
        this.put(rows.join(','), entry.batch.rows)
      } catch (error) {
        // Never let one odd entry escape into the event loop: its rows are dropped and counted.
        this.failures++
        this.droppedRows += entry.batch.rows
        this.queuedRows -= entry.batch.rows
        this.onError(error)
      }
    }
  }

  /** Copies one request's encoded rows into the open slice (a new one past `flushRows`). */
  private put(json: string, rows: number): void {
    let slice = this.open
    if (slice && slice.rows > 0 && slice.rows + rows > this.options.flushRows) {
      this.slices.push(slice)
      slice = null
    }
    // A UTF-8 byte per UTF-16 unit and a half at most (surrogate pairs: 4 bytes for 2); + the separator.
    const room = json.length * 3 + 1
    if (!slice) {
      const fresh = this.spare.pop()
      const bytes = fresh && fresh.length >= room + 2 ? fresh : Buffer.allocUnsafeSlow(Math.max(SLICE_START_BYTES, room + 2))
      bytes[0] = 0x5b // [
      slice = { bytes, used: 1, rows: 0 }
    } else if (slice.bytes.length - slice.used < room + 1) {
      const grown = Buffer.allocUnsafeSlow(Math.max(slice.bytes.length * 2, slice.used + room + 1))
      slice.bytes.copy(grown, 0, 0, slice.used)
      slice.bytes = grown
    }
    this.open = slice
    if (slice.rows > 0) slice.bytes[slice.used++] = 0x2c // ,
    slice.used += slice.bytes.write(json, slice.used)
    slice.rows += rows
  }

  private writeSoon(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    this.writing ??= this.writeAll().finally(() => {
      this.writing = null
      // Rows that arrived during the write: at once when a full slice waits, else with the next tick.
      if (this.queuedRows >= this.options.flushRows) this.writeSoon()
      else if (this.slices.length || this.open || this.pending.length) this.timer ??= setTimeout(() => this.writeSoon(), this.options.flushIntervalMs)
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
      this.slices = []
      this.open = null
      this.pending = []
      this.queuedRows = 0
      this.onError(error)
      return
    }
    this.encodePending()
    if (this.open) this.slices.push(this.open)
    this.open = null
    // One statement per slice (`flushRows` rows at most), so a large backlog is handed
    // to DuckDB in parts that requests can interleave with.
    while (this.slices.length) {
      const slice = this.slices.shift()!
      try {
        slice.bytes[slice.used] = 0x5d // ]
        await this.insert(conn, slice.bytes.subarray(0, slice.used + 1))
        this.writtenRows += slice.rows
      } catch (error) {
        this.failures++
        this.droppedRows += slice.rows
        this.onError(error)
      } finally {
        this.queuedRows -= slice.rows
        // DuckDB copied the bytes when they were bound: the buffer can take the next rows.
        if (this.spare.length < SPARE_SLICES && slice.bytes.length <= SLICE_START_BYTES * 8) this.spare.push(slice.bytes)
      }
    }
  }

  private async insert(conn: DuckDBConnection, json: Uint8Array): Promise<void> {
    const cached = this.prepared?.conn === conn ? this.prepared.statement : null
    if (cached) {
      try {
        cached.bindBlob(1, json)
        await cached.run()
        return
      } catch {
        // The table may have been dropped or recreated since: prepare again below.
        this.prepared = null
      }
    }
    const statement = await conn.prepare(insertSql)
    statement.bindBlob(1, json)
    await statement.run()
    this.prepared = { conn, statement }
  }

  /** Writes everything queued so far; resolves once it is in DuckDB. */
  async drain(): Promise<void> {
    while (this.slices.length || this.open || this.pending.length || this.writing) {
      if (!this.writing) this.writeSoon()
      await this.writing
    }
  }

  async close(): Promise<void> {
    await this.drain()
    this.closed = true
    if (this.encodeTimer) clearImmediate(this.encodeTimer)
    this.encodeTimer = null
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    this.spare = []
  }
}

/**
 * The rows as JSON array items, written by hand: the fields shared by a request's rows
 * are encoded once per request, and no per-row objects are built for the encoder. Keys
 * and values are exactly what `JSON.stringify` of the row objects gave (NaN and
 * Infinity as null: what a missing value is in the log).
 */
function appendJsonRows(e: LoggedRequest, out: string[]): void {
  const recordJson = e.batch.recordJson
  const records = recordJson ? null : e.batch.records()
  const head = `{"request_id":${JSON.stringify(e.requestId)},"time_us":${Math.round(e.time * 1000)},"model":${JSON.stringify(e.model)},"version":${num(e.version)},"route":${JSON.stringify(e.route)},"status":${num(e.status)},"latency_ms":${num(e.latencyMs)},"row_index":`
  const classKeys = e.classes ? classKeysOf(e.classes) : null
  for (let r = 0; r < e.batch.rows; r++) {
    const p = e.predictions[r]!
    const probs = p.probabilities
    let probabilities: string
    if (probs && classKeys) {
      probabilities = '{'
      for (let i = 0; i < classKeys.length; i++) probabilities += `${i ? ',' : ''}${classKeys[i]}${num(probs[i] ?? null)}`
      probabilities += '}'
    } else probabilities = JSON.stringify(probs ?? null)
    out.push(`${head}${r},"inputs":${recordJson ? recordJson(r) : JSON.stringify(records![r] ?? {})},"prediction":${JSON.stringify(p.prediction ?? null) ?? 'null'},"probabilities":${probabilities}}`)
  }
}

/** `"class":` prefixes, encoded once per signature's class list (the same array for every request of a version). */
const encodedClassKeys = new WeakMap<string[], string[]>()
function classKeysOf(classes: string[]): string[] {
  let keys = encodedClassKeys.get(classes)
  if (!keys) {
    keys = classes.map((c) => `${JSON.stringify(c)}:`)
    encodedClassKeys.set(classes, keys)
  }
  return keys
}

/** A number as JSON.stringify writes it (null for NaN, Infinity and null). */
function num(x: number | null): string {
  return x !== null && Number.isFinite(x) ? String(x) : 'null'
}
