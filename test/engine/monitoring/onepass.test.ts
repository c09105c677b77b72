import fs from 'node:fs'
import path from 'node:path'
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ReferenceCache } from '../../../src-main/engine/monitoring/drift/referenceCache.js'
import { computeDriftReport, type DriftReport } from '../../../src-main/engine/monitoring/drift/report.js'
import { parquetSource, type TableSource } from '../../../src-main/engine/monitoring/drift/sources.js'
import { literal, queryRows } from '../../../src-main/engine/monitoring/monitorDb.js'
import { openTestEngine } from '../../helpers/workspace.js'
import { relativeError, scipyDrift } from './scipyPeer.js'

/**
 * The one-pass report (`statistics: 'needed'`, what `lathe drift` runs): all numeric
 * columns in one streaming pass per side, Wasserstein exact from a grid of cells plus the
 * values of the cells where the CDFs cross, categorical counts from one unpivoted GROUP
 * BY; the reference kept in a cache. Held to SciPy (bench/peers/drift_scipy.py) and to the
 * exact per-column path.
 */
const vega = path.resolve('node_modules/vega-datasets/data')
let instance: DuckDBInstance
let conn: DuckDBConnection
let dir: string

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(process.env.TMPDIR ?? '/tmp', 'lathe-onepass-'))
  instance = await DuckDBInstance.create(':memory:')
  conn = await instance.connect()
})
afterAll(() => {
  conn.closeSync()
  instance.closeSync()
  fs.rmSync(dir, { recursive: true, force: true })
})

async function csv(name: string, sql: string): Promise<{ file: string; source: TableSource }> {
  const file = path.join(dir, `${name}.csv`)
  await conn.run(`COPY (${sql}) TO ${literal(file)} (HEADER, DELIMITER ',')`)
  return { file, source: { label: name, sql: `SELECT * FROM read_csv(${literal(file)})`, cacheKey: `csv ${file}` } }
}

function worstAgainstScipy(report: DriftReport, expected: Record<string, Record<string, unknown>>, statistics: string[]): number {
  let worst = 0
  for (const [column, want] of Object.entries(expected)) {
    const feature = report.features.find((f) => f.name === column) as unknown as Record<string, number>
    expect(feature, column).toBeDefined()
    for (const stat of statistics) {
      if (typeof want[stat] !== 'number') continue
      expect(typeof feature[stat], `${column}.${stat}`).toBe('number')
      worst = Math.max(worst, relativeError(feature[stat]!, want[stat] as number))
    }
  }
  return worst
}

// Continuous values (no two alike), heavy ties, a constant, a shifted and scaled one, nulls and a skewed tail.
const synthetic = (n: number, salt: string, shift: number) => `
  SELECT (hash(i || '${salt}a') % 1000003)::DOUBLE / 1000003 + ${shift} AS uniform,
         ((hash(i || '${salt}b') % 50)::DOUBLE + ${shift * 10})::INTEGER AS ties,
         3.5 AS constant,
         CASE WHEN hash(i || '${salt}c') % 10 = 0 THEN NULL ELSE (hash(i || '${salt}d') % 100000)::DOUBLE * ${1 + shift} END AS with_nulls,
         exp((hash(i || '${salt}e') % 1000000)::DOUBLE / 80000 + ${shift}) AS skewed,
         CASE hash(i || '${salt}f') % ${shift > 0 ? 5 : 4} WHEN 0 THEN 'a' WHEN 1 THEN 'b' WHEN 2 THEN 'c' WHEN 3 THEN 'd' ELSE 'new' END AS label
  FROM range(${n}) t(i)`

describe('the one-pass report', () => {
  it('agrees with SciPy on continuous, tied, constant, null-bearing and skewed columns, drifted or not', { timeout: 240_000 }, async () => {
    const ref = await csv('ref', synthetic(30000, 'r', 0))
    for (const [name, shift] of [
      ['same', 0],
      ['shifted', 0.02],
    ] as const) {
      const cur = await csv(name, synthetic(25000, name, shift))
      const report = await computeDriftReport(conn, ref.source, cur.source, { statistics: 'needed' })
      const expected = scipyDrift(ref.file, cur.file, ['uniform', 'ties', 'constant', 'with_nulls', 'skewed', 'label'])
      const worst = worstAgainstScipy(report, expected as never, ['wasserstein_normed', 'chi2_statistic', 'chi2_pvalue', 'jensenshannon'])
      expect(worst, name).toBeLessThanOrEqual(1e-6)
      // Only the method's statistic and the chart: no KS, no PSI for the numeric columns.
      const uniform = report.features.find((f) => f.name === 'uniform')!
      expect(uniform.method).toBe('wasserstein')
      expect(uniform.ks_statistic).toBeUndefined()
      expect(uniform.psi).toBeUndefined()
      expect(uniform.chart.kind).toBe('histogram')
    }
  })

  it('agrees with SciPy on flights, January against June (100k rows each)', { timeout: 240_000 }, async () => {
    const flights = path.join(vega, 'flights-3m.parquet')
    const select = (month: number) =>
      `SELECT delay, distance, origin, destination FROM read_parquet(${literal(flights)}) WHERE month(date) = ${month} ORDER BY date, origin, destination, delay, distance LIMIT 100000`
    const ref = await csv('jan', select(1))
    const cur = await csv('jun', select(6))
    const report = await computeDriftReport(conn, ref.source, cur.source, { statistics: 'needed' })
    const expected = scipyDrift(ref.file, cur.file, ['delay', 'distance', 'origin', 'destination'])
    expect(worstAgainstScipy(report, expected as never, ['wasserstein_normed', 'chi2_statistic', 'jensenshannon'])).toBeLessThanOrEqual(1e-6)
  })

  it("gives the exact path's numbers, and KS and PSI when a feature asks for them", async () => {
    const ref = await csv('ref2', synthetic(8000, 'r2', 0))
    const cur = await csv('cur2', synthetic(6000, 'c2', 0.01))
    const all = await computeDriftReport(conn, ref.source, cur.source)
    const needed = await computeDriftReport(conn, ref.source, cur.source, {
      statistics: 'needed',
      features: [{ name: 'uniform', method: 'ks' }, { name: 'skewed', method: 'psi' }, { name: 'ties' }, { name: 'label' }],
    })
    for (const f of needed.features) {
      const exact = all.features.find((g) => g.name === f.name)!
      for (const stat of ['ks_statistic', 'ks_pvalue', 'psi', 'wasserstein_normed', 'jensenshannon', 'chi2_statistic'] as const) {
        if (f[stat] !== undefined) expect(relativeError(f[stat]!, exact[stat]!), `${f.name}.${stat}`).toBeLessThanOrEqual(1e-9)
      }
    }
    expect(needed.features.find((f) => f.name === 'uniform')).toMatchObject({
      method: 'ks',
      p_value: all.features.find((f) => f.name === 'uniform')!.ks_pvalue,
    })
    expect(needed.features.find((f) => f.name === 'skewed')!.method).toBe('psi')
  })
})

describe('many crossing cells', () => {
  it('gives the exact path’s Wasserstein where the CDFs cross in many cells', { timeout: 240_000 }, async () => {
    // 1M rows a side: no shift (the CDFs cross all along) and a shift of 1e-4 of the range
    // (crossings in stretches); ties (20,000 distinct values); a bell of thirds. Each column has
    // 73k-1.0M values in the grid's crossing cells (counted once by hand), all collected and
    // their areas taken cell by cell (area.ts), in this thread and in two counting threads.
    const table = async (name: string, salt: string, shift: number) => {
      const file = path.join(dir, `${name}.parquet`)
      await conn.run(
        `COPY (SELECT (hash(i || '${salt}a') % 1000003)::DOUBLE / 1000003 AS same,
                      (hash(i || '${salt}b') % 1000003)::DOUBLE / 1000003 + ${shift} AS nudged,
                      (hash(i || '${salt}c') % 20000)::DOUBLE AS tied,
                      ((hash(i || '${salt}d') % 1000)::DOUBLE + (hash(i || '${salt}e') % 1000)::DOUBLE + (hash(i || '${salt}f') % 1000)::DOUBLE) / 3 AS bell
               FROM range(1000000) t(i)) TO ${literal(file)} (FORMAT parquet)`,
      )
      return parquetSource(file, name)
    }
    const ref = await table('refine-ref', 'rr', 0)
    const cur = await table('refine-cur', 'rc', 1e-4)
    const all = await computeDriftReport(conn, ref, cur)
    for (const threads of [0, 2]) {
      const needed = await computeDriftReport(conn, ref, cur, { statistics: 'needed', threads })
      for (const f of needed.features) {
        const exact = all.features.find((g) => g.name === f.name)!
        expect(relativeError(f.wasserstein_normed!, exact.wasserstein_normed!), f.name).toBeLessThanOrEqual(1e-9)
      }
    }
  })
})

describe('the reference cache', () => {
  it('gives exactly the report a fresh computation gives, and is read instead of the reference', { timeout: 240_000 }, async () => {
    const ref = await csv('cached-ref', synthetic(20000, 'cr', 0))
    const cur = await csv('cached-cur', synthetic(15000, 'cc', 0.01))
    const cacheDir = path.join(dir, 'cache')
    const cache = new ReferenceCache(cacheDir)
    const fresh = await computeDriftReport(conn, ref.source, cur.source, { statistics: 'needed' })
    const first = await computeDriftReport(conn, ref.source, cur.source, { statistics: 'needed', referenceCache: cache })
    const files = fs.readdirSync(cacheDir, { recursive: true }).map(String)
    // Rows, 5 numeric summaries, 1 categorical, and the 5 numeric columns' values cell by cell (20,000 x 5 is under CACHED_VALUES).
    expect(files.filter((f) => /\.(numeric|categorical|rows)$/.test(f)).length).toBe(1 + 5 + 1)
    expect(files.filter((f) => f.endsWith('.values')).length).toBe(5)
    expect(files.filter((f) => f.endsWith('.partial'))).toEqual([])
    const cached = await computeDriftReport(conn, ref.source, cur.source, { statistics: 'needed', referenceCache: new ReferenceCache(cacheDir) })
    expect(first).toEqual(fresh)
    expect(cached).toEqual(fresh)
    // The cache is what was read: with a reference whose query gives no rows at all, the
    // whole report (the crossing cells' reference values included) is still the fresh one.
    // A monitor's later runs read only their window.
    const cachedOnly = await computeDriftReport(conn, { ...ref.source, sql: `SELECT * FROM (${ref.source.sql}) WHERE uniform < 0` }, cur.source, {
      statistics: 'needed',
      referenceCache: new ReferenceCache(cacheDir),
    })
    expect(cachedOnly).toEqual(fresh)
    // A kept values file of the wrong length (a write cut short) is not used: the reference is read again, and the numbers stay the same.
    const valuesFile = path.join(
      cacheDir,
      files.find((f) => f.endsWith('.values'))!,
    )
    fs.truncateSync(valuesFile, 8)
    expect(await computeDriftReport(conn, ref.source, cur.source, { statistics: 'needed', referenceCache: new ReferenceCache(cacheDir) })).toEqual(fresh)
    expect(fs.statSync(valuesFile).size).toBeGreaterThan(8)
  })
})

describe('counting threads', () => {
  it('worker threads give the same report, bit for bit, as counting in this thread', { timeout: 240_000 }, async () => {
    const ref = await csv('threads-ref', synthetic(30000, 'tr', 0))
    const cur = await csv('threads-cur', synthetic(25000, 'tc', 0.002))
    const steps: string[] = []
    const inline = await computeDriftReport(conn, ref.source, cur.source, {
      statistics: 'needed',
      threads: 0,
      onProgress: (p) => steps.push(`${p.done}/${p.total} ${p.feature}`),
    })
    // Each pass says what it reads while it runs, then each feature as it is decided.
    expect(steps.slice(0, 4)).toEqual([
      '0/4 counting the values of 1 categorical column',
      "1/4 reading the reference's 5 numeric columns",
      "2/4 reading the current side's 5 numeric columns",
      '3/4 the values where the CDFs cross, 4 columns (batch 1 of 1)',
    ])
    expect(steps.at(-1)).toBe('6/6 label')
    for (const threads of [1, 2, 3]) {
      const threaded = await computeDriftReport(conn, ref.source, cur.source, { statistics: 'needed', threads })
      expect(threaded).toEqual(inline)
    }
    // Parquet files are standalone: each thread reads its own columns through its own DuckDB.
    const parquet = async (name: string, file: string) => {
      const out = path.join(dir, `${name}.parquet`)
      await conn.run(`COPY (SELECT * FROM read_csv(${literal(file)})) TO ${literal(out)} (FORMAT parquet)`)
      return parquetSource(out, name)
    }
    const refParquet = await parquet('threads-ref', ref.file)
    const curParquet = await parquet('threads-cur', cur.file)
    expect(refParquet.standalone).toBe(true)
    const fromFiles = await computeDriftReport(conn, refParquet, curParquet, { statistics: 'needed', threads: 0 })
    expect(await computeDriftReport(conn, refParquet, curParquet, { statistics: 'needed', threads: 2 })).toEqual(fromFiles)
    expect(fromFiles.features.map((f) => [f.name, f.wasserstein_normed])).toEqual(inline.features.map((f) => [f.name, f.wasserstein_normed]))
    // Every numeric column here has values in cells where the CDFs may cross (22 to 55,000 of them,
    // counted once by hand), so the second pass's kernel was compared as well as the grid's.
    expect(inline.features.filter((f) => f.method === 'wasserstein').length).toBe(5)
  })
})

describe('bounded memory', () => {
  it('a report on tables larger than a small DuckDB memory limit completes, with the same numbers', { timeout: 240_000 }, async () => {
    const spill = path.join(dir, 'spill')
    const small = await DuckDBInstance.create(':memory:', { memory_limit: '32MB', temp_directory: spill, threads: '1' })
    const tight = await small.connect()
    try {
      const table = (name: string, shift: number) => path.join(dir, `${name}-${shift}.parquet`)
      for (const [name, shift] of [
        ['big-ref', 0],
        ['big-cur', 0.01],
      ] as const) {
        await conn.run(
          `COPY (SELECT (hash(i || '${name}a') % 1000003)::DOUBLE / 1000003 + ${shift} AS a, (hash(i || '${name}b') % 1000)::DOUBLE AS b,
                        (hash(i || '${name}c') % 999983)::DOUBLE * ${1 + shift} AS c, (hash(i || '${name}d') % 99991)::DOUBLE AS d,
                        'k' || (hash(i || '${name}e') % 7)::VARCHAR AS k
                 FROM range(1000000) t(i)) TO ${literal(table(name, shift))} (FORMAT parquet)`,
        )
      }
      const reference: TableSource = { label: 'big reference', sql: `SELECT * FROM read_parquet(${literal(table('big-ref', 0))})` }
      const current: TableSource = { label: 'big current', sql: `SELECT * FROM read_parquet(${literal(table('big-cur', 0.01))})` }
      // 1M rows x 4 doubles a side: 64 MB of values, twice the limit; d's KS goes through the exact (materialized) path.
      const features = [{ name: 'a' }, { name: 'b' }, { name: 'c' }, { name: 'd', method: 'ks' as const }, { name: 'k' }]
      const limited = await computeDriftReport(tight, reference, current, { statistics: 'needed', features })
      const roomy = await computeDriftReport(conn, reference, current, { statistics: 'needed', features })
      expect(limited).toEqual(roomy)
      expect(limited.reference.rows).toBe(1000000)
      expect(limited.features.map((f) => f.name)).toEqual(['a', 'b', 'c', 'd', 'k'])
    } finally {
      tight.closeSync()
      small.closeSync()
    }
  })

  it("the workspace's DuckDB takes its memory limit from LATHE_DUCKDB_MEMORY_LIMIT and spills to the workspace's tmp/", async () => {
    const before = process.env.LATHE_DUCKDB_MEMORY_LIMIT
    process.env.LATHE_DUCKDB_MEMORY_LIMIT = '300MB'
    try {
      const engine = openTestEngine()
      const monitor = await engine.context.workspace.monitor()
      const [row] = await queryRows<{ limit: string; spill: string }>(
        monitor,
        "SELECT current_setting('memory_limit') AS limit, current_setting('temp_directory') AS spill",
      )
      expect(row!.limit).toMatch(/^(286\.1 MiB|300\.0 MB)$/)
      expect(row!.spill).toBe(path.join(engine.context.workspace.tmpDir, 'duckdb'))
    } finally {
      if (before === undefined) delete process.env.LATHE_DUCKDB_MEMORY_LIMIT
      else process.env.LATHE_DUCKDB_MEMORY_LIMIT = before
    }
  })
})
