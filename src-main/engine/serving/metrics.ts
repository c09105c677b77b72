import { createRequire } from 'node:module'
import type * as Prom from 'prom-client'
import type { DropReason } from './prediction-log.js'

/** What the metrics read from the prediction log writer when scraped. */
export interface LogCounts {
  readonly queueDepth: number
  readonly dropped: Readonly<Record<DropReason, number>>
  readonly segments: { readonly bytes: number }
}

/**
 * The serving server's Prometheus metrics, in a registry of its own so two servers
 * (or a server and the engine's other metrics) never share counters.
 */
/** prom-client loads when a serving server starts, not with every CLI command. */
const prom = (): typeof Prom => createRequire(import.meta.url)('prom-client')

export class ServingMetrics {
  readonly registry = new (prom().Registry)()
  readonly requests: Prom.Counter<'model' | 'version' | 'route' | 'status'>
  readonly latency: Prom.Histogram<'model' | 'route'>
  readonly batchRows: Prom.Histogram<'model' | 'version'>
  readonly logQueueRows: Prom.Gauge
  readonly logDroppedRows: Prom.Counter<'reason'>
  readonly logBytes: Prom.Gauge
  readonly outOfRange: Prom.Counter<'model' | 'column'>
  readonly modelLoadSeconds: Prom.Gauge<'model' | 'version'>
  readonly swaps: Prom.Counter<'model'>

  private readonly requestChildren = new Map<string, { inc(): void }>()
  private readonly latencyChildren = new Map<string, { observe(v: number): void }>()

  /** Counts one request; the labelled child is looked up once per label set, not per request. */
  countRequest(model: string, version: number | null, route: string, status: number, seconds: number): void {
    const key = `${model}\u0000${version}\u0000${route}\u0000${status}`
    let counter = this.requestChildren.get(key)
    if (!counter) {
      counter = this.requests.labels({ model, version: version === null ? '' : String(version), route, status: String(status) })
      this.requestChildren.set(key, counter)
    }
    counter.inc()
    const latencyKey = `${model}\u0000${route}`
    let histogram = this.latencyChildren.get(latencyKey)
    if (!histogram) {
      histogram = this.latency.labels({ model, route })
      this.latencyChildren.set(latencyKey, histogram)
    }
    histogram.observe(seconds)
  }

  constructor(log: LogCounts) {
    const registers = [this.registry]
    this.requests = new (prom().Counter)({
      name: 'lathe_serving_requests_total',
      help: 'Requests answered, by model, version, route and HTTP status',
      labelNames: ['model', 'version', 'route', 'status'],
      registers,
    })
    this.latency = new (prom().Histogram)({
      name: 'lathe_serving_request_duration_seconds',
      help: 'Time from request parsed to response ready',
      labelNames: ['model', 'route'],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    })
    this.batchRows = new (prom().Histogram)({
      name: 'lathe_serving_batch_rows',
      help: 'Rows per onnxruntime session run (micro-batches of concurrent requests)',
      labelNames: ['model', 'version'],
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 1024, 4096],
      registers,
    })
    this.logQueueRows = new (prom().Gauge)({
      name: 'lathe_serving_log_queue_rows',
      help: 'Predicted rows waiting to be written to the prediction log',
      registers,
      collect() {
        this.set(log.queueDepth)
      },
    })
    // The writer counts drops (some happen after the request, when a write fails); a scrape adds what is new.
    const counted: Record<string, number> = {}
    this.logDroppedRows = new (prom().Counter)({
      name: 'lathe_serving_log_dropped_rows_total',
      help: 'Predicted rows not logged, by reason: queue (the disk far behind), limit (retention size reached), disk (disk full), error',
      labelNames: ['reason'],
      registers,
      collect() {
        for (const [reason, n] of Object.entries(log.dropped)) {
          const added = n - (counted[reason] ?? 0)
          if (added > 0 || counted[reason] === undefined) this.inc({ reason }, Math.max(0, added))
          counted[reason] = n
        }
      },
    })
    this.logBytes = new (prom().Gauge)({
      name: 'lathe_serving_log_bytes',
      help: "Bytes of the prediction log's segment files on disk",
      registers,
      collect() {
        this.set(log.segments.bytes)
      },
    })
    this.outOfRange = new (prom().Counter)({
      name: 'lathe_serving_out_of_range_values_total',
      help: 'Values served that were outside the training range (plus margin) of their column',
      labelNames: ['model', 'column'],
      registers,
    })
    this.modelLoadSeconds = new (prom().Gauge)({
      name: 'lathe_serving_model_load_seconds',
      help: 'Time to read the ONNX file and create its onnxruntime session',
      labelNames: ['model', 'version'],
      registers,
    })
    this.swaps = new (prom().Counter)({
      name: 'lathe_serving_hot_swaps_total',
      help: 'Times a deployment switched to another version while serving',
      labelNames: ['model'],
      registers,
    })
  }
}
