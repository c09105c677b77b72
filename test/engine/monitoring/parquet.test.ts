import fs from 'node:fs'
import path from 'node:path'
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parquetDecoder, type ParquetColumn } from '../../../src-main/engine/monitoring/drift/parquet.js'
import { planParquet, readParquetLayout } from '../../../src-main/engine/monitoring/drift/parquetPlan.js'
import { computeDriftReport } from '../../../src-main/engine/monitoring/drift/report.js'
import { parquetSource } from '../../../src-main/engine/monitoring/drift/sources.js'
import { KernelPool } from '../../../src-main/engine/monitoring/drift/workers.js'
import type { KernelJob } from '../../../src-main/engine/monitoring/drift/kernels.js'
import { ident, literal } from '../../../src-main/engine/monitoring/monitorDb.js'

/**
 * The counting threads' own reader of Parquet DOUBLE columns (drift/parquet.ts): every
 * layout DuckDB writes that it takes gives DuckDB's own values, bit for bit (NaN where
 * DuckDB gives null, as the report reads them); the layouts it does not take are left to
 * DuckDB; a chunk it cannot decode sends the pass back through DuckDB.
 */
let instance: DuckDBInstance
let conn: DuckDBConnection
let dir: string

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(process.env.TMPDIR ?? '/tmp', 'lathe-parquet-'))
  instance = await DuckDBInstance.create(':memory:')
  conn = await instance.connect()
  // Plain values with the awkward ones among them (NaN, -0, infinities, the extremes), nulls every 7th row,
  // a column with no value at all, few distinct values (dictionary-encoded), and an integer column.
  await conn.run(`CREATE TABLE t AS SELECT
      CASE i % 1000 WHEN 1 THEN 'nan'::DOUBLE WHEN 2 THEN '-0.0'::DOUBLE WHEN 3 THEN 'inf'::DOUBLE WHEN 4 THEN '-inf'::DOUBLE
                    WHEN 5 THEN 1.7976931348623157e308 WHEN 6 THEN 5e-324 ELSE (hash(i || 'a') % 1000003)::DOUBLE / 7.0 END AS plain,
      CASE WHEN i % 7 = 0 THEN NULL ELSE (hash(i || 'b') % 999983)::DOUBLE / 3.0 END AS nulls,
      NULL::DOUBLE AS empty,
      CASE WHEN i % 11 = 0 THEN NULL ELSE (i % 13)::DOUBLE / 4.0 END AS few,
      (hash(i || 'c') % 1000)::BIGINT AS counts,
      CASE WHEN i % 5 = 0 THEN NULL ELSE (hash(i || 'e') % 4294967296)::BIGINT - 2147483648 END::INTEGER AS int32,
      ((hash(i || 'f') % 60000)::INTEGER - 30000)::SMALLINT AS int16,
      ((hash(i || 'g') % 1000003)::DOUBLE / 7.0)::FLOAT AS float32,
      -- beyond 2^53, of both signs: the cast to double rounds
      ((hash(i || 'h') % 9223372036854775807)::BIGINT - 4611686018427387904) AS int64,
      (hash(i || 'k') % 100000)::DECIMAL(10, 2) AS money,
      DATE '2020-01-01' + (i % 1000)::INTEGER AS day,
      -- a measurement's noise (Snappy finds nothing to compress) and prices in cents (it finds much)
      random() * 100 AS measured,
      round(random() * 1000, 2) AS price
    FROM range(300000) r(i)`)
})
afterAll(() => {
  conn.closeSync()
  instance.closeSync()
  fs.rmSync(dir, { recursive: true, force: true })
})

const COLUMNS = ['plain', 'nulls', 'empty', 'few', 'counts', 'int32', 'int16', 'float32', 'int64', 'money', 'day', 'measured', 'price']
/** The decoder on every chunk it can read, however well Snappy compressed it (the report leaves those to DuckDB). */
const EVERY_CHUNK = { mostlyLiteral: 0 }

async function written(name: string, options: string): Promise<string> {
  const file = path.join(dir, `${name}.parquet`)
  await conn.run(`COPY t TO ${literal(file)} (FORMAT parquet${options})`)
  return file
}

/** A column's values as the report reads them through DuckDB: doubles, NaN for null. */
async function viaDuckDB(file: string, column: string): Promise<Float64Array> {
  const reader = await conn.runAndReadAll(`SELECT coalesce(TRY_CAST(${ident(column)} AS DOUBLE), 'nan'::DOUBLE) FROM read_parquet(${literal(file)})`)
  return Float64Array.from(reader.getColumns()[0]! as number[])
}

function decodeAll(file: string, column: ParquetColumn): Float64Array {
  const decoder = parquetDecoder()
  const out = new Float64Array(column.chunks.reduce((n, c) => n + c.values, 0))
  const fd = fs.openSync(file, 'r')
  try {
    let at = 0
    for (const chunk of column.chunks) {
      const bytes = new Uint8Array(chunk.length)
      fs.readSync(fd, bytes, 0, chunk.length, chunk.offset)
      decoder.decodeChunk(bytes, chunk, out, at)
      at += chunk.values
    }
  } finally {
    fs.closeSync(fd)
  }
  return out
}

/** The plan the report makes for `columns` of `file`. */
async function planOf(file: string, columns: string[], options?: { mostlyLiteral?: number }) {
  return planParquet(await readParquetLayout(conn, file), columns, options)
}

const bits = (values: Float64Array) => Buffer.from(values.buffer, values.byteOffset, values.byteLength)

describe("the counting threads' Parquet reader", () => {
  it("reads DuckDB's v1 and v2 pages, Snappy and uncompressed, plain and dictionary-encoded, many row groups: DuckDB's values bit for bit", async () => {
    // Every plain number column, in all its types; DECIMAL and DATE are left to DuckDB.
    const numbers = ['plain', 'nulls', 'empty', 'few', 'counts', 'int32', 'int16', 'float32', 'int64', 'measured', 'price']
    const layouts: Array<[string, string, string[]]> = [
      ['snappy', '', numbers],
      ['uncompressed', ', COMPRESSION uncompressed', numbers],
      ['row-groups', ', ROW_GROUP_SIZE 5000', numbers],
      // v2 pages: floats in BYTE_STREAM_SPLIT and integers in DELTA_BINARY_PACKED (left to DuckDB), the few-valued columns dictionary-encoded.
      ['v2', ', PARQUET_VERSION v2', ['few', 'counts']],
      ['zstd', ', COMPRESSION zstd', []],
    ]
    for (const [name, options, taken] of layouts) {
      const file = await written(name, options)
      const plan = await planOf(file, COLUMNS, EVERY_CHUNK)
      const planned = COLUMNS.filter((_, i) => plan?.columns[i])
      expect(planned, name).toEqual(taken)
      if (name === 'row-groups') expect(plan!.columns[0]!.chunks.length).toBeGreaterThan(20)
      for (const [i, column] of COLUMNS.entries()) {
        const own = plan?.columns[i]
        if (!own) continue
        const expected = await viaDuckDB(file, column)
        const got = decodeAll(file, own)
        expect(got.length, `${name} ${column}`).toBe(300000)
        expect(bits(got).equals(bits(expected)), `${name} ${column}: the same bits`).toBe(true)
      }
    }
    // The awkward values came through as themselves (not only as the same bits as DuckDB's).
    const file = path.join(dir, 'snappy.parquet')
    const plain = decodeAll(file, (await planOf(file, ['plain'], EVERY_CHUNK))!.columns[0]!)
    expect([plain[1], plain[3], plain[4], plain[5], plain[6]]).toEqual([Number.NaN, Infinity, -Infinity, 1.7976931348623157e308, 5e-324])
    expect(Object.is(plain[2], -0)).toBe(true)
    // For a report, a chunk Snappy compressed well (many short back references) is left to DuckDB, which undoes them faster.
    const chosen = await planOf(file, ['measured', 'price'])
    expect(chosen!.columns.map((c) => c !== null)).toEqual([true, false])
  })

  it('says what is wrong with a chunk it cannot decode, in words that start with parquet:', async () => {
    const file = await written('damaged', '')
    const column = (await planOf(file, ['plain'], EVERY_CHUNK))!.columns[0]!
    const chunk = column.chunks[0]!
    const bytes = new Uint8Array(chunk.length)
    fs.readSync(fs.openSync(file, 'r'), bytes, 0, chunk.length, chunk.offset)
    const decoder = parquetDecoder()
    const out = new Float64Array(chunk.values)
    expect(() => decoder.decodeChunk(bytes.subarray(0, 100), chunk, out, 0)).toThrow(/^parquet: a page past the end of its column chunk/)
    expect(() => decoder.decodeChunk(bytes.subarray(7), chunk, out, 0)).toThrow(/^parquet: /)
    // Damaged bytes anywhere (the page header above all) end in an error or in values, never in a loop that does not stop.
    let seed = 7
    const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0)
    let failed = 0
    for (let trial = 0; trial < 200; trial++) {
      const damaged = bytes.slice()
      const at = trial < 150 ? trial % 64 : next() % damaged.length
      damaged[at] = next() & 0xff
      try {
        decoder.decodeChunk(damaged, chunk, out, 0)
      } catch (error) {
        expect(error).toBeInstanceOf(Error)
        failed++
      }
    }
    expect(failed).toBeGreaterThan(0)
  })

  it('a counting thread that meets a chunk it cannot decode reads the pass through DuckDB instead: the same counts', async () => {
    const file = await written('fallback', ', ROW_GROUP_SIZE 50000')
    const columns = ['plain', 'nulls', 'few', 'money']
    const select = (names: string[]) =>
      `SELECT ${names.map((c, i) => `coalesce(TRY_CAST(${ident(c)} AS DOUBLE), 'nan'::DOUBLE) AS __c${i}`).join(', ')} FROM read_parquet(${literal(file)})`
    const jobs = (): KernelJob[] => columns.map(() => ({ kind: 'grid', lo: 0, hi: 200000, cells: 4096, moments: true }))
    const pool = KernelPool.open(2)
    try {
      const plan = (await planOf(file, columns, EVERY_CHUNK))!
      expect(plan.columns.map((c) => c !== null)).toEqual([true, true, true, false])
      const throughDuckDB = await pool.stream(columns, jobs(), select, null)
      const direct = await pool.stream(columns, jobs(), select, plan)
      expect(direct).toEqual(throughDuckDB)
      // A plan whose chunks point one byte off: each thread finds out on its first chunk and goes to DuckDB.
      const off = { ...plan, columns: plan.columns.map((c) => c && { ...c, chunks: c.chunks.map((k) => ({ ...k, offset: k.offset + 1 })) }) }
      expect(await pool.stream(columns, jobs(), select, off)).toEqual(throughDuckDB)
      // And they are counts of the rows: every value of 'plain' but its 300 NaN.
      const counted = throughDuckDB[0]!
      expect(counted.kind === 'grid' && counted.n).toBe(300000 - 300)
    } finally {
      await pool.close()
    }
  })

  it('a drift report over Parquet files: the same report when the threads read the files themselves, through DuckDB, or when no thread counts', async () => {
    const side = async (name: string, shift: number) => {
      const file = path.join(dir, `${name}.parquet`)
      await conn.run(
        `COPY (SELECT random() * 10 AS a, random() * 10 + ${shift} AS b, CASE WHEN i % 9 = 0 THEN NULL ELSE random() END AS c FROM range(200000) r(i)) TO ${literal(file)} (FORMAT parquet)`,
      )
      return { file, source: parquetSource(file, name) }
    }
    const ref = await side('report-ref', 0)
    const cur = await side('report-cur', 0.5)
    for (const f of [ref.file, cur.file]) expect((await planOf(f, ['a', 'b', 'c']))!.columns.every((c) => c !== null)).toBe(true)
    const inThisThread = await computeDriftReport(conn, ref.source, cur.source, { statistics: 'needed', threads: 0 })
    const direct = await computeDriftReport(conn, ref.source, cur.source, { statistics: 'needed', threads: 2 })
    process.env.LATHE_DRIFT_PARQUET = 'duckdb'
    try {
      expect(await computeDriftReport(conn, ref.source, cur.source, { statistics: 'needed', threads: 2 })).toEqual(inThisThread)
    } finally {
      delete process.env.LATHE_DRIFT_PARQUET
    }
    expect(direct).toEqual(inThisThread)
    expect(direct.features.map((f) => [f.name, f.method, f.drifted])).toEqual([
      ['a', 'wasserstein', false],
      ['b', 'wasserstein', true],
      ['c', 'wasserstein', false],
    ])
  })
})
