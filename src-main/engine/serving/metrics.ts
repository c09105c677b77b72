import { Counter, Gauge, Histogram, Registry } from 'prom-client'

/**
 * The serving server's Prometheus metrics, in a registry of its own so two servers
 * (or a server and the engine's other metrics) never share counters.
 */
export class ServingMetrics {
  readonly registry = new Registry()
  readonly requests: Counter<'model' | 'version' | 'route' | 'status'>
  readonly latency: Histogram<'model' | 'route'>
  readonly batchRows: Histogram<'model' | 'version'>
  readonly logQueueRows: Gauge
  readonly logDroppedRows: Counter
  readonly modelLoadSeconds: Gauge<'model' | 'version'>
  readonly swaps: Counter<'model'>

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

  constructor(logQueue: () => number) {
    const registers = [this.registry]
    this.requests = new Counter({
      name: 'lathe_serving_requests_total',
      help: 'Requests answered, by model, version, route and HTTP status',
      labelNames: ['model', 'version', 'route', 'status'],
      registers,
    })
    this.latency = new Histogram({
      name: 'lathe_serving_request_duration_seconds',
      help: 'Time from request parsed to response ready',
      labelNames: ['model', 'route'],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    })
    this.batchRows = new Histogram({
      name: 'lathe_serving_batch_rows',
      help: 'Rows per onnxruntime session run (micro-batches of concurrent requests)',
      labelNames: ['model', 'version'],
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 1024, 4096],
      registers,
    })
    this.logQueueRows = new Gauge({
      name: 'lathe_serving_log_queue_rows',
      help: 'Predicted rows waiting to be written to the prediction log',
      registers,
      collect() {
        this.set(logQueue())
      },
    })
    this.logDroppedRows = new Counter({
      name: 'lathe_serving_log_dropped_rows_total',
      help: 'Predicted rows not logged because the log queue was full or the write failed',
      registers,
    })
    this.modelLoadSeconds = new Gauge({
      name: 'lathe_serving_model_load_seconds',
      help: 'Time to read the ONNX file and create its onnxruntime session',
      labelNames: ['model', 'version'],
      registers,
    })
    this.swaps = new Counter({
      name: 'lathe_serving_hot_swaps_total',
      help: 'Times a deployment switched to another version while serving',
      labelNames: ['model'],
      registers,
    })
  }
}
