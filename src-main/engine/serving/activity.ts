/**
 * What the Serving page shows live: the last requests, and per-second request
 * counts and latency percentiles for the last few minutes. Kept in memory by the
 * server; the full record is the prediction log.
 */
export interface RecentRequest {
  requestId: string
  time: string
  model: string
  version: number | null
  route: string
  status: number
  latencyMs: number
  rows: number
  error: string | null
}

export interface SecondStats {
  /** Start of the second, ISO. */
  time: string
  requests: number
  errors: number
  rows: number
  p50Ms: number | null
  p99Ms: number | null
}

interface Bucket {
  second: number
  requests: number
  errors: number
  rows: number
  /** A uniform sample of the second's latencies (reservoir), enough for p50/p99 on a chart. */
  sample: number[]
}

const SAMPLE_SIZE = 512
const KEEP_SECONDS = 600

/** A request as recorded, with its time as epoch milliseconds. */
export type StoredRequest = Omit<RecentRequest, 'time'> & { timeMs: number }

export class ServingActivity {
  // Kept as given; the ISO time is made only when someone asks, not on every request.
  private readonly recent: StoredRequest[] = []
  private next = 0
  private readonly buckets: Bucket[] = []

  constructor(private readonly keepRecent = 200) {}

  record(entry: StoredRequest): void {
    const timeMs = entry.timeMs
    const item: StoredRequest = {
      requestId: entry.requestId,
      timeMs,
      model: entry.model,
      version: entry.version,
      route: entry.route,
      status: entry.status,
      latencyMs: entry.latencyMs,
      rows: entry.rows,
      error: entry.error,
    }
    if (this.recent.length < this.keepRecent) this.recent.push(item)
    else this.recent[this.next] = item
    this.next = (this.next + 1) % this.keepRecent

    const second = Math.floor(timeMs / 1000)
    let bucket = this.buckets[this.buckets.length - 1]
    if (!bucket || bucket.second !== second) {
      bucket = { second, requests: 0, errors: 0, rows: 0, sample: [] }
      this.buckets.push(bucket)
      if (this.buckets.length > KEEP_SECONDS) this.buckets.shift()
    }
    bucket.requests++
    bucket.rows += entry.rows
    if (entry.status >= 400) bucket.errors++
    if (bucket.sample.length < SAMPLE_SIZE) bucket.sample.push(entry.latencyMs)
    else {
      const k = Math.floor(Math.random() * bucket.requests)
      if (k < SAMPLE_SIZE) bucket.sample[k] = entry.latencyMs
    }
  }

  /** Newest first. */
  recentRequests(limit: number): RecentRequest[] {
    const ordered = this.recent.length < this.keepRecent ? [...this.recent] : [...this.recent.slice(this.next), ...this.recent.slice(0, this.next)]
    return ordered
      .reverse()
      .slice(0, limit)
      .map(({ timeMs, ...rest }) => ({ ...rest, time: new Date(timeMs).toISOString() }))
  }

  /** One entry per second for the last `seconds` seconds, quiet seconds included as zeros. */
  perSecond(seconds: number, nowMs = Date.now()): SecondStats[] {
    const last = Math.floor(nowMs / 1000)
    const bySecond = new Map(this.buckets.map((b) => [b.second, b]))
    const out: SecondStats[] = []
    for (let s = last - seconds + 1; s <= last; s++) {
      const b = bySecond.get(s)
      const sorted = b ? [...b.sample].sort((x, y) => x - y) : []
      out.push({
        time: new Date(s * 1000).toISOString(),
        requests: b?.requests ?? 0,
        errors: b?.errors ?? 0,
        rows: b?.rows ?? 0,
        p50Ms: sorted.length ? quantile(sorted, 0.5) : null,
        p99Ms: sorted.length ? quantile(sorted, 0.99) : null,
      })
    }
    return out
  }
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
}
