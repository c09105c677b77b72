import fs from 'node:fs'
import type { FileHandle } from 'node:fs/promises'
import path from 'node:path'
import type { DuckDBConnection } from '@duckdb/node-api'
import { LogSegments, type LogRetention } from './log-segments.js'
import type { InputBatch } from './loaded-model.js'
import type { RowPrediction } from './responses.js'

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
  /** Per row, the columns outside the training range (null: none); absent when nothing was out of range. */
  outOfRange?: Array<string[] | null>
}

export interface PredictionLogOptions {
  /** Encoded rows are appended to the open segment file this often (a kill loses at most this much). */
  flushIntervalMs: number
  /** Rows waiting for their file write; past this (the disk far behind), new requests' rows are dropped and counted. */
  maxQueuedRows: number
  /** A segment past this many bytes is closed and compacted to Parquet. */
  segmentBytes: number
  retention: LogRetention
}

export const defaultPredictionLogOptions: PredictionLogOptions = {
  flushIntervalMs: 100,
  maxQueuedRows: 500_000,
  segmentBytes: 64 * 1024 * 1024,
  retention: { maxAgeDays: 30, maxBytes: 10 * 1024 ** 3 },
}

/** Why rows were not logged. */
export type DropReason = 'queue' | 'limit' | 'disk' | 'error'

/**
 * Encoded lines waiting for their write: newline-delimited JSON in an off-heap buffer.
 * Nothing that waits for the write is a JavaScript object: queued rows held as strings
 * survived young-generation collections and made every scavenge on the serving loop longer.
 */
interface Chunk {
  bytes: Buffer
  used: number
  rows: number
}

const CHUNK_BYTES = 1024 * 1024
const SPARE_CHUNKS = 4

/**
 * The prediction log's writer: every answered row becomes a line of newline-delimited
 * JSON appended to the open segment file in `prediction-log/`, and closed segments are
 * compacted to Parquet in the background (`LogSegments`). Requests only push onto a
 * queue; each turn's requests are encoded on the next turn into off-heap buffers, and
 * the buffers go to the file every `flushIntervalMs` in whole lines. A file append is
 * far cheaper than a DuckDB insert, so the log keeps up with whatever the server
 * answers; rows are dropped (and counted by reason) only when the queue is full, the
 * retention's size limit is reached, or the disk refuses the write.
 */
export class PredictionLogWriter {
  private chunks: Chunk[] = []
  private spare: Buffer[] = []
  /** Appended this turn, encoded on the next. */
  private pending: LoggedRequest[] = []
  private encodeTimer: NodeJS.Immediate | null = null
  private timer: NodeJS.Timeout | null = null
  private queuedRows = 0
  private writing: Promise<void> | null = null
  private segment: { name: string; handle: FileHandle; bytes: number } | null = null
  private opened: Promise<void> | null = null
  private recovering: Promise<void> | null = null
  private sequence = 0
  private closed = false
  private diskFull = false
  readonly segments: LogSegments
  readonly dropped: Record<DropReason, number> = { queue: 0, limit: 0, disk: 0, error: 0 }
  writtenRows = 0
  failures = 0

  constructor(
    readonly dir: string,
    connection: () => Promise<DuckDBConnection>,
    private readonly options: PredictionLogOptions = defaultPredictionLogOptions,
    private readonly onError: (error: unknown) => void = () => {},
  ) {
    this.segments = new LogSegments(dir, connection, options.retention, onError)
  }

  get queueDepth(): number {
    return this.queuedRows
  }

  get droppedRows(): number {
    return this.dropped.queue + this.dropped.limit + this.dropped.disk + this.dropped.error
  }

  /** Why new rows are being dropped now, or null while they are logged. */
  get full(): 'limit' | 'disk' | null {
    return this.segments.limitReached ? 'limit' : this.diskFull ? 'disk' : null
  }

  /** Never blocks and never throws: rows that cannot be kept are dropped and counted. */
  append(entry: LoggedRequest): boolean {
    const reason: DropReason | null = this.closed
      ? 'error'
      : this.segments.limitReached
        ? 'limit'
        : this.queuedRows + entry.batch.rows > this.options.maxQueuedRows
          ? 'queue'
          : null
    if (reason) {
      this.dropped[reason] += entry.batch.rows
      return false
    }
    // Encoded on the next turn (after this turn's responses are written), while the
    // request's objects are still young, so none of them survives a scavenge.
    this.pending.push(entry)
    this.queuedRows += entry.batch.rows
    this.encodeTimer ??= setImmediate(() => this.encodePending())
    this.timer ??= setTimeout(() => this.writeSoon(), this.options.flushIntervalMs)
    return true
  }

  private encodePending(): void {
    if (this.encodeTimer) clearImmediate(this.encodeTimer)
    this.encodeTimer = null
    const pending = this.pending
    this.pending = []
    for (const entry of pending) {
      try {
        this.put(encodeLines(entry), entry.batch.rows)
      } catch (error) {
        // Never let one odd entry escape into the event loop: its rows are dropped and counted.
        this.failures++
        this.dropped.error += entry.batch.rows
        this.queuedRows -= entry.batch.rows
        this.onError(error)
      }
    }
  }

  /** Copies one request's lines into the last chunk (a new one when it is full). */
  private put(lines: string, rows: number): void {
    // A UTF-8 byte per UTF-16 unit and a half at most (surrogate pairs: 4 bytes for 2).
    const room = lines.length * 3
    let chunk = this.chunks.at(-1)
    if (!chunk || chunk.bytes.length - chunk.used < room) {
      const fresh = this.spare.pop()
      const bytes = fresh && fresh.length >= room ? fresh : Buffer.allocUnsafeSlow(Math.max(CHUNK_BYTES, room))
      chunk = { bytes, used: 0, rows: 0 }
      this.chunks.push(chunk)
    }
    chunk.used += chunk.bytes.write(lines, chunk.used)
    chunk.rows += rows
  }

  private writeSoon(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    this.writing ??= this.writeAll().finally(() => {
      this.writing = null
      if (this.queuedRows > 0 && !this.closed) this.timer ??= setTimeout(() => this.writeSoon(), this.options.flushIntervalMs)
    })
  }

  /**
   * Opens this process's first segment, then recovers what a previous process left in
   * the background: recovery needs DuckDB, which can take a while to open, and rows
   * must reach the file within a flush interval from the first request on.
   */
  /** Opens the first segment now (serving start), so the first request's rows do not wait for it. */
  prepare(): void {
    this.open().catch(() => {
      // writeAll reports it and tries again on the next write.
    })
  }

  private open(): Promise<void> {
    this.opened ??= (async () => {
      await fs.promises.mkdir(this.dir, { recursive: true })
      await this.startSegment()
      const mine = this.segment!.name
      this.recovering = this.segments.recover((name) => name === mine || name === this.segment?.name).catch((error) => this.onError(error))
    })()
    return this.opened
  }

  private async startSegment(): Promise<void> {
    // Time first, so names sort by age; the pid and a counter keep two in one millisecond apart.
    const name = `${Date.now()}-${process.pid}-${String(this.sequence++).padStart(4, '0')}`
    const handle = await fs.promises.open(path.join(this.dir, `${name}.ndjson`), 'a')
    this.segment = { name, handle, bytes: 0 }
  }

  /** Closes the open segment for compaction; the next write starts another. */
  private async rotate(): Promise<void> {
    const closing = this.segment!
    this.segment = null
    await closing.handle.sync()
    await closing.handle.close()
    this.segments.closed(closing.name)
  }

  private async writeAll(): Promise<void> {
    try {
      await this.open()
    } catch (error) {
      // The log cannot be written at all (workspace gone, no permission): drop what waits, keep serving.
      this.opened = null
      this.failures++
      this.encodePending()
      for (const chunk of this.chunks.splice(0)) {
        this.dropped.error += chunk.rows
        this.queuedRows -= chunk.rows
      }
      this.onError(error)
      return
    }
    this.encodePending()
    while (this.chunks.length) {
      if (!this.segment) {
        try {
          await this.startSegment()
        } catch (error) {
          this.failures++
          for (const chunk of this.chunks.splice(0)) {
            this.dropped.error += chunk.rows
            this.queuedRows -= chunk.rows
          }
          this.onError(error)
          return
        }
      }
      const chunk = this.chunks.shift()!
      const segment = this.segment!
      try {
        let done = 0
        while (done < chunk.used) {
          const { bytesWritten } = await segment.handle.write(chunk.bytes, done, chunk.used - done, segment.bytes + done)
          done += bytesWritten
        }
        segment.bytes += chunk.used
        this.writtenRows += chunk.rows
        this.diskFull = false
      } catch (error) {
        // Cut back to the last whole line, so the next write does not glue onto half of this one.
        await segment.handle.truncate(segment.bytes).catch(() => {})
        const disk = (error as NodeJS.ErrnoException).code === 'ENOSPC' || (error as NodeJS.ErrnoException).code === 'EDQUOT'
        if (disk) this.diskFull = true
        else this.failures++
        this.dropped[disk ? 'disk' : 'error'] += chunk.rows
        this.onError(error)
        continue
      } finally {
        this.queuedRows -= chunk.rows
        if (this.spare.length < SPARE_CHUNKS && chunk.bytes.length === CHUNK_BYTES) this.spare.push(chunk.bytes)
      }
      if (segment.bytes >= this.options.segmentBytes) await this.rotate().catch((error) => this.onError(error))
    }
    this.segments.account()
  }

  /** Writes everything appended so far to the segment file; resolves once it is there (and readable as `prediction_log`). */
  async drain(): Promise<void> {
    while (this.pending.length || this.chunks.length || this.writing) {
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
    // Compaction stops first: the open segment stays NDJSON (readable) and the next start compacts it.
    await this.recovering
    await this.segments.close()
    const segment = this.segment
    this.segment = null
    if (segment) {
      await segment.handle.sync()
      await segment.handle.close()
    }
    this.spare = []
  }
}

/**
 * One request's rows as newline-terminated JSON lines, written by hand: the fields
 * shared by a request's rows are encoded once, and no per-row objects are built for
 * the encoder. Values are what `JSON.stringify` of the row objects gave (NaN and
 * Infinity as null: what a missing value is in the log).
 */
export function encodeLines(e: LoggedRequest): string {
  const recordJson = e.batch.recordJson
  const records = recordJson ? null : e.batch.records()
  const head = `{"request_id":${JSON.stringify(e.requestId)},"time_us":${Math.round(e.time * 1000)},"model":${JSON.stringify(e.model)},"version":${num(e.version)},"route":${JSON.stringify(e.route)},"status":${num(e.status)},"latency_ms":${num(e.latencyMs)},"row_index":`
  const classKeys = e.classes ? classKeysOf(e.classes) : null
  let out = ''
  for (let r = 0; r < e.batch.rows; r++) {
    const p = e.predictions[r]!
    const probs = p.probabilities
    let probabilities: string
    if (probs && classKeys) {
      probabilities = '{'
      for (let i = 0; i < classKeys.length; i++) probabilities += `${i ? ',' : ''}${classKeys[i]}${num(probs[i] ?? null)}`
      probabilities += '}'
    } else probabilities = JSON.stringify(probs ?? null)
    const flagged = e.outOfRange?.[r]
    out += `${head}${r},"inputs":${recordJson ? recordJson(r) : JSON.stringify(records![r] ?? {})},"prediction":${JSON.stringify(p.prediction ?? null) ?? 'null'},"probabilities":${probabilities}${flagged ? `,"out_of_range":${JSON.stringify(flagged)}` : ''}}\n`
  }
  return out
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
