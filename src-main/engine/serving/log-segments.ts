import fs from 'node:fs'
import path from 'node:path'
import type { DuckDBConnection } from '@duckdb/node-api'
import { compactedSegments, schemaSegment, segmentRowsSql } from '../workspace/index.js'

export interface LogRetention {
  /** Segments whose last write is older than this are removed. */
  maxAgeDays: number
  /** Past this many bytes of segment files, new rows are dropped (and counted) until age frees room. */
  maxBytes: number
}

/** How long a compacted `.ndjson` stays beside its `.parquet`: a query whose snapshot predates the compaction still finds its rows. */
const COMPACTED_GRACE_MS = 60_000
/** Retention looks at the folder at most this often. */
const SWEEP_EVERY_MS = 2_000

/**
 * The prediction log's closed segments: compacted one at a time from NDJSON to
 * Parquet (staged as `.parquet.tmp`, renamed), and kept within the retention's age
 * and size. At start, `recover` finishes what a killed process left: staged files
 * are removed, a segment cut mid-line is cut back to its last whole line, and every
 * segment not yet compacted is queued.
 */
export class LogSegments {
  limitReached = false
  bytes = 0
  private queue: string[] = []
  private compacting: Promise<void> | null = null
  private sweeping: Promise<void> | null = null
  private lastSweep = 0
  private closing = false

  constructor(
    readonly dir: string,
    private readonly connection: () => Promise<DuckDBConnection>,
    private readonly retention: LogRetention,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** `writing`: segments this process has open, left alone. */
  async recover(writing: (name: string) => boolean = () => false): Promise<void> {
    const files = new Set(await fs.promises.readdir(this.dir))
    const compacted = await this.compactedNames()
    for (const file of files) {
      const full = path.join(this.dir, file)
      if (file.endsWith('.tmp')) await fs.promises.rm(full, { force: true })
      else if (file.endsWith('.ndjson') && file !== `${schemaSegment}.ndjson`) {
        const name = file.slice(0, -'.ndjson'.length)
        if (compacted.has(name) || writing(name)) continue
        // A complete .parquet whose name never committed (killed in between) is written again.
        await cutToLastLine(full)
        this.queue.push(name)
      }
    }
    this.queue.sort()
    await this.sweep()
    this.kick()
  }

  /** A segment the writer finished: compacted in the background. */
  closed(name: string): void {
    this.queue.push(name)
    this.kick()
  }

  /** After each write: looks at the folder (now and then) for age and size. */
  account(): void {
    if (Date.now() - this.lastSweep >= SWEEP_EVERY_MS) this.sweepSoon()
  }

  private sweepSoon(): void {
    this.sweeping ??= this.sweep()
      .catch((error) => this.onError(error))
      .finally(() => {
        this.sweeping = null
      })
  }

  private kick(): void {
    if (this.closing) return
    this.compacting ??= this.compactQueued().finally(() => {
      this.compacting = null
      if (this.queue.length) this.kick()
    })
  }

  private async compactQueued(): Promise<void> {
    while (this.queue.length && !this.closing) {
      const name = this.queue.shift()!
      try {
        await this.compact(name)
      } catch (error) {
        // Left as NDJSON (still read by the view); the next start tries again.
        this.onError(error)
      }
    }
    this.sweepSoon()
  }

  async compact(name: string): Promise<void> {
    const source = path.join(this.dir, `${name}.ndjson`)
    const target = path.join(this.dir, `${name}.parquet`)
    const staged = `${target}.tmp`
    const conn = await this.connection()
    await conn.run(`COPY (${segmentRowsSql(source)}) TO '${staged.replaceAll("'", "''")}' (FORMAT parquet, COMPRESSION zstd)`)
    await fs.promises.rename(staged, target)
    // From this commit on, queries read the segment's rows from the .parquet and no longer from the .ndjson.
    await conn.run(`INSERT OR REPLACE INTO ${compactedSegments} VALUES (?, now())`, [name])
  }

  private async compactedNames(): Promise<Map<string, number>> {
    const conn = await this.connection()
    const rows = (await conn.runAndReadAll(`SELECT name, epoch_ms(compacted_at)::DOUBLE AS at FROM ${compactedSegments}`)).getRowObjectsJS()
    return new Map(rows.map((r) => [String(r.name), Number(r.at)]))
  }

  /** Removes compacted NDJSON past its grace, segments past the age limit, and measures what is left. */
  async sweep(): Promise<void> {
    this.lastSweep = Date.now()
    const now = Date.now()
    const maxAgeMs = this.retention.maxAgeDays * 86_400_000
    const files = await fs.promises.readdir(this.dir)
    const compacted = await this.compactedNames()
    const expired: string[] = []
    let bytes = 0
    for (const file of files) {
      if (file.startsWith(`${schemaSegment}.`) || file.endsWith('.tmp')) continue
      const full = path.join(this.dir, file)
      const stat = await fs.promises.stat(full).catch(() => null)
      if (!stat) continue
      const name = file.replace(/\.(ndjson|parquet)$/, '')
      const at = compacted.get(name)
      // The open segment and those waiting for compaction are .ndjson not yet compacted: never removed here.
      const replaced = file.endsWith('.ndjson') && at !== undefined && now - at > COMPACTED_GRACE_MS
      const old = file.endsWith('.parquet') && now - stat.mtimeMs > maxAgeMs
      if (replaced || old) {
        await fs.promises.rm(full, { force: true })
        if (old) {
          // Its .ndjson twin too, or the view would read the rows again from it once the name is forgotten.
          await fs.promises.rm(path.join(this.dir, `${name}.ndjson`), { force: true })
          expired.push(name)
        }
        continue
      }
      bytes += stat.size
    }
    if (expired.length) {
      const conn = await this.connection()
      for (const name of expired) await conn.run(`DELETE FROM ${compactedSegments} WHERE name = ?`, [name])
    }
    this.bytes = bytes
    this.limitReached = bytes >= this.retention.maxBytes
  }

  /** Waits for the compaction in progress; what is still queued is picked up by the next start. */
  async close(): Promise<void> {
    this.closing = true
    await this.compacting
    await this.sweeping
  }
}

/** Cuts a file back to just after its last newline (a kill can leave half a line). */
async function cutToLastLine(file: string): Promise<void> {
  const handle = await fs.promises.open(file, 'r+')
  try {
    const { size } = await handle.stat()
    const block = Buffer.allocUnsafe(64 * 1024)
    let end = size
    while (end > 0) {
      const start = Math.max(0, end - block.length)
      const { bytesRead } = await handle.read(block, 0, end - start, start)
      const at = block.subarray(0, bytesRead).lastIndexOf(0x0a)
      if (at >= 0) {
        if (start + at + 1 < size) await handle.truncate(start + at + 1)
        return
      }
      end = start
    }
    if (size > 0) await handle.truncate(0)
  } finally {
    await handle.close()
  }
}
