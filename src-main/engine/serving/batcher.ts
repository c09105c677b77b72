import type { BatchOutputs, FeedColumn, InputBatch, LoadedModel, OutputColumn } from './loaded-model.js'

export interface BatchingOptions {
  enabled: boolean
  /** Rows one session run may take; a request larger than this runs alone. */
  maxBatchRows: number
  /** The longest a request waits for company while the session is idle, in ms. 0: only what is already queued. */
  maxWaitMs: number
}

export const defaultBatching: BatchingOptions = { enabled: true, maxBatchRows: 256, maxWaitMs: 0 }

interface Pending {
  batch: InputBatch
  resolve: (outputs: BatchOutputs) => void
  reject: (error: unknown) => void
}

/**
 * Adaptive micro-batching: concurrent requests for one model version share one
 * session run. While a run is in flight, new requests queue and go together in the
 * next run, so batches grow with load on their own; when the session is idle a
 * request waits only until the requests already read off the sockets join it
 * (one event-loop turn), or up to `maxWaitMs` when that is set. At low load a
 * request therefore runs alone and pays no wait at all.
 */
export class MicroBatcher {
  private queue: Pending[] = []
  private queuedRows = 0
  private running = false
  private timer: NodeJS.Immediate | NodeJS.Timeout | null = null

  constructor(
    private readonly model: LoadedModel,
    private readonly options: BatchingOptions,
    private readonly onBatch: (rows: number) => void = () => {},
  ) {}

  /** Runs the rows, alone or with others; resolves with this request's own slice of the outputs. */
  predict(batch: InputBatch): Promise<BatchOutputs> {
    if (!this.options.enabled || batch.rows >= this.options.maxBatchRows) {
      this.onBatch(batch.rows)
      return this.model.run(batch)
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ batch, resolve, reject })
      this.queuedRows += batch.rows
      if (this.queuedRows >= this.options.maxBatchRows) this.flushSoon(true)
      else this.flushSoon(false)
    })
  }

  private flushSoon(full: boolean): void {
    if (this.running) return // the run in flight flushes the queue when it ends
    if (full) {
      if (this.timer) this.clearTimer()
      void this.flush()
      return
    }
    if (this.timer) return
    this.timer = this.options.maxWaitMs > 0 ? setTimeout(() => this.fire(), this.options.maxWaitMs) : setImmediate(() => this.fire())
  }

  private fire(): void {
    this.timer = null
    void this.flush()
  }

  private clearTimer(): void {
    if (this.timer) {
      clearTimeout(this.timer as NodeJS.Timeout)
      clearImmediate(this.timer as NodeJS.Immediate)
    }
    this.timer = null
  }

  private async flush(): Promise<void> {
    while (this.queue.length && !this.running) {
      const group = this.take()
      this.running = true
      try {
        this.onBatch(group.reduce((n, p) => n + p.batch.rows, 0))
        if (group.length === 1) {
          group[0]!.resolve(await this.model.run(group[0]!.batch))
        } else {
          const outputs = await this.model.run(concatBatches(group.map((p) => p.batch)))
          let offset = 0
          for (const p of group) {
            p.resolve(sliceOutputs(outputs, offset, p.batch.rows))
            offset += p.batch.rows
          }
        }
      } catch (error) {
        // A failed run fails only its own group; the queue behind it still runs.
        for (const p of group) p.reject(error)
      } finally {
        this.running = false
      }
    }
  }

  private take(): Pending[] {
    const group: Pending[] = []
    let rows = 0
    while (this.queue.length) {
      const next = this.queue[0]!
      if (group.length && (rows + next.batch.rows > this.options.maxBatchRows || !sameWidths(group[0]!.batch, next.batch))) break
      group.push(this.queue.shift()!)
      rows += next.batch.rows
    }
    this.queuedRows -= rows
    return group
  }
}

/** Imported models may have dynamic inner dimensions: only rows of the same width share a tensor. */
function sameWidths(a: InputBatch, b: InputBatch): boolean {
  return a.feeds.every((f, i) => f.width === b.feeds[i]!.width)
}

function concatBatches(batches: InputBatch[]): InputBatch {
  const first = batches[0]!
  const feeds: FeedColumn[] = first.feeds.map((feed, i) => {
    const values: unknown[] = []
    for (const b of batches) {
      const part = b.feeds[i]!.values
      for (let k = 0; k < part.length; k++) values.push(part[k])
    }
    return { spec: feed.spec, width: feed.width, values }
  })
  return { rows: batches.reduce((n, b) => n + b.rows, 0), feeds, records: () => batches.flatMap((b) => b.records()) }
}

function sliceOutputs(outputs: BatchOutputs, offset: number, rows: number): BatchOutputs {
  return outputs.map((o): OutputColumn => {
    const start = offset * o.width
    const end = (offset + rows) * o.width
    const values = ArrayBuffer.isView(o.values) ? (o.values as unknown as Float32Array).subarray(start, end) : Array.prototype.slice.call(o.values, start, end)
    return { ...o, dims: [rows, ...o.dims.slice(1)], values }
  })
}
