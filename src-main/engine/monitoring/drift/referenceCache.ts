import { createHash, randomUUID } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { markedCount, markedRuns, type Grid, type NumericSide } from './scan.js'

/**
 * The reference side of drift reports, computed once per reference (a dataset version,
 * or one part of its split) and kept in the workspace (`cache/drift-reference/`): per
 * numeric column its grid, counts, offsets and standard deviation, and (for a reference
 * of up to CACHED_VALUES values) its values cell by cell; per categorical column its value
 * counts; and the row count. A monitor that runs every few minutes against the same
 * reference then reads only its current window: the crossing cells' reference values come
 * from the cached values instead of another scan of the reference. The numbers are stored
 * as the doubles themselves (no text round trip), so a cached reference gives exactly what
 * computing it again gives. Entries land by rename: a killed process leaves an entry or
 * none.
 */
// v2: offsets summed in grid units, the std kept instead of the moments, the outer bins' extremes (v1's moments are not read).
// v3: the std summed four ways by row (kernels.ts countMoments): its last bits differ from v2's, so v2 entries are computed again.
const FORMAT = 'v3'

/** A reference of up to this many numeric values (rows x one-pass columns) keeps them cell by cell: 64M values, 512 MB on disk. */
export const CACHED_VALUES = 64_000_000

export interface CachedNumeric {
  grid: Grid
  side: NumericSide
}

export class ReferenceCache {
  constructor(private readonly dir: string) {}

  private file(key: string, column: string, kind: string): string {
    const folder = createHash('sha256').update(`${FORMAT}\n${key}`).digest('hex')
    const name = createHash('sha256').update(`${kind}\n${column}`).digest('hex').slice(0, 32)
    return path.join(this.dir, folder, `${name}.${kind}`)
  }

  private write(file: string, bytes: Buffer): void {
    fs.mkdirSync(path.dirname(file), { recursive: true })
    const staging = `${file}.${randomUUID()}.partial`
    fs.writeFileSync(staging, bytes)
    fs.renameSync(staging, file)
  }

  private read(file: string): Buffer | null {
    try {
      return fs.readFileSync(file)
    } catch {
      return null
    }
  }

  rows(key: string): number | null {
    const bytes = this.read(this.file(key, '', 'rows'))
    return bytes ? Number(JSON.parse(bytes.toString('utf8')).rows) : null
  }

  putRows(key: string, rows: number): void {
    this.write(this.file(key, '', 'rows'), Buffer.from(JSON.stringify({ rows })))
  }

  numeric(key: string, column: string): CachedNumeric | null {
    const bytes = this.read(this.file(key, column, 'numeric'))
    if (!bytes) return null
    const headerLength = bytes.readUInt32LE(0)
    const header = JSON.parse(bytes.subarray(4, 4 + headerLength).toString('utf8')) as { grid: Grid; scalars: number[] }
    const length = header.grid.cells + 2
    const doubles = new Float64Array(length * 2 + header.scalars.length)
    Buffer.from(doubles.buffer).set(bytes.subarray(4 + headerLength))
    const [n, belowMin, aboveMax, std] = doubles.subarray(length * 2)
    return {
      grid: header.grid,
      side: { counts: doubles.slice(0, length), offsets: doubles.slice(length, length * 2), n: n!, belowMin: belowMin!, aboveMax: aboveMax!, std: std! },
    }
  }

  putNumeric(key: string, column: string, value: CachedNumeric): void {
    const { grid, side } = value
    const scalars = [side.n, side.belowMin, side.aboveMax, side.std]
    // The grid's bounds go in the header as JSON: JSON numbers round-trip doubles exactly.
    const header = Buffer.from(JSON.stringify({ grid, scalars: scalars.map(() => 0) }))
    const length = Buffer.alloc(4)
    length.writeUInt32LE(header.length)
    const doubles = new Float64Array(side.counts.length * 2 + scalars.length)
    doubles.set(side.counts, 0)
    doubles.set(side.offsets, side.counts.length)
    doubles.set(scalars, side.counts.length * 2)
    this.write(this.file(key, column, 'numeric'), Buffer.concat([length, header, Buffer.from(doubles.buffer)]))
  }

  /** Whether a numeric column's values are kept, `count` of them (a file of another length, from a killed write or another format, is not used). */
  hasValues(key: string, column: string, count: number): boolean {
    try {
      return fs.statSync(this.file(key, column, 'values')).size === count * 8
    } catch {
      return false
    }
  }

  /**
   * The kept values of the marked cells, cell by cell as the collecting pass gives them
   * (`counts`: the column's cached grid counts, which size each cell's stretch of the file).
   * Reads one stretch per run of consecutive marked cells.
   */
  markedValues(key: string, column: string, marks: Uint8Array, counts: Float64Array): Float64Array {
    const out = new Float64Array(markedCount(marks, { counts }))
    const bytes = new Uint8Array(out.buffer)
    const fd = fs.openSync(this.file(key, column, 'values'), 'r')
    try {
      let at = 0
      markedRuns(marks, counts, (start, length) => {
        let read = 0
        while (read < length * 8) {
          const got = fs.readSync(fd, bytes, at * 8 + read, length * 8 - read, start * 8 + read)
          if (got === 0) throw new Error(`drift: the reference cache's values of ${column} ended early`)
          read += got
        }
        at += length
      })
    } finally {
      fs.closeSync(fd)
    }
    return out
  }

  putValues(key: string, column: string, values: Float64Array): void {
    this.write(this.file(key, column, 'values'), Buffer.from(values.buffer, values.byteOffset, values.byteLength))
  }

  categorical(key: string, column: string): Map<string, number> | null {
    const bytes = this.read(this.file(key, column, 'categorical'))
    return bytes ? new Map(JSON.parse(bytes.toString('utf8')) as Array<[string, number]>) : null
  }

  putCategorical(key: string, column: string, counts: Map<string, number>): void {
    this.write(this.file(key, column, 'categorical'), Buffer.from(JSON.stringify([...counts])))
  }
}
