import fs from 'node:fs'
import path from 'node:path'
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api'
import { beforeAll, afterAll, describe, expect, it } from 'vitest'
import { computeDriftReport, type DriftReport } from '../../../src-main/engine/monitoring/drift/report.js'
import type { TableSource } from '../../../src-main/engine/monitoring/drift/sources.js'
import { literal } from '../../../src-main/engine/monitoring/monitorDb.js'
import { relativeError, scipyDrift } from './scipyPeer.js'

// Real public tables from the npm package vega-datasets (BSD-3-Clause).
const vega = path.resolve('node_modules/vega-datasets/data')
const weatherCsv = path.join(vega, 'seattle-weather.csv')
const flightsParquet = path.join(vega, 'flights-3m.parquet')

let instance: DuckDBInstance
let conn: DuckDBConnection
let dir: string

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(process.env.TMPDIR ?? '/tmp', 'lathe-drift-'))
  instance = await DuckDBInstance.create(':memory:')
  conn = await instance.connect()
})
afterAll(() => {
  conn.closeSync()
  instance.closeSync()
  fs.rmSync(dir, { recursive: true, force: true })
})

/** Writes a query's rows to CSV (the peer's pandas has no Parquet engine) and returns the source for it. */
async function csv(name: string, sql: string): Promise<{ file: string; source: TableSource }> {
  const file = path.join(dir, `${name}.csv`)
  await conn.run(`COPY (${sql}) TO ${literal(file)} (HEADER, DELIMITER ',')`)
  return { file, source: { label: name, sql: `SELECT * FROM read_csv(${literal(file)})` } }
}

const statisticNames = ['ks_statistic', 'ks_pvalue', 'wasserstein_normed', 'psi', 'chi2_statistic', 'chi2_pvalue', 'jensenshannon'] as const

function expectAgreesWithScipy(report: DriftReport, reference: Record<string, Record<string, unknown>>): number {
  let compared = 0
  for (const [column, expected] of Object.entries(reference)) {
    const feature = report.features.find((f) => f.name === column)
    expect(feature, column).toBeDefined()
    expect(feature!.kind).toBe(expected.kind)
    for (const stat of statisticNames) {
      const value = expected[stat]
      if (typeof value !== 'number') continue
      // The categorical PSI is Lathe's own (the peer has none); every other statistic must agree.
      const actual = feature![stat as keyof typeof feature] as number
      expect(relativeError(actual, value), `${column}.${stat}: lathe ${actual} scipy ${value}`).toBeLessThanOrEqual(1e-6)
      compared++
    }
  }
  return compared
}

describe('drift statistics agree with SciPy on real data', () => {
  it('seattle-weather, 2012 against 2015 (exact KS p-values, chi-square on weather)', async () => {
    const columns = ['precipitation', 'temp_max', 'temp_min', 'wind', 'weather']
    const select = `SELECT ${columns.join(', ')} FROM read_csv(${literal(weatherCsv)})`
    const ref = await csv('weather-2012', `${select} WHERE year(date) = 2012`)
    const cur = await csv('weather-2015', `${select} WHERE year(date) = 2015`)
    const report = await computeDriftReport(conn, ref.source, cur.source)
    expect(report.reference.rows).toBe(366)
    expect(report.current.rows).toBe(365)
    const compared = expectAgreesWithScipy(report, scipyDrift(ref.file, cur.file, columns) as never)
    expect(compared).toBe(4 * 4 + 3)
    // 366 reference rows: the small-sample rule picks tests of significance.
    expect(report.features.find((f) => f.name === 'wind')!.method).toBe('ks')
    expect(report.features.find((f) => f.name === 'weather')!.method).toBe('chi2')
  })

  it('flights, January against June (20k rows each: the asymptotic KS distribution)', async () => {
    const columns = ['delay', 'distance', 'origin', 'destination']
    const select = (month: number) =>
      `SELECT ${columns.join(', ')} FROM read_parquet(${literal(flightsParquet)}) WHERE month(date) = ${month}
       ORDER BY date, origin, destination, delay, distance LIMIT 20000`
    const ref = await csv('flights-jan', select(1))
    const cur = await csv('flights-jun', select(6))
    const report = await computeDriftReport(conn, ref.source, cur.source)
    const compared = expectAgreesWithScipy(report, scipyDrift(ref.file, cur.file, columns) as never)
    expect(compared).toBe(2 * 4 + 2 * 3)
    expect(report.features.find((f) => f.name === 'delay')!.method).toBe('wasserstein')
    expect(report.features.find((f) => f.name === 'origin')!.method).toBe('jensenshannon')
  })

  it('flights, unequal samples (3000 against 1200: exact KS by lattice paths)', async () => {
    const select = (month: number, n: number) =>
      `SELECT delay, distance FROM read_parquet(${literal(flightsParquet)}) WHERE month(date) = ${month}
       ORDER BY date, origin, destination, delay, distance LIMIT ${n}`
    const ref = await csv('flights-jan-3000', select(1, 3000))
    const cur = await csv('flights-feb-1200', select(2, 1200))
    const report = await computeDriftReport(conn, ref.source, cur.source)
    expectAgreesWithScipy(report, scipyDrift(ref.file, cur.file, ['delay', 'distance']) as never)
  })
})

describe('the decision rule on synthetic drift of known size', () => {
  // Deterministic uniform values from a hash: no randomness, no seed to forget.
  const uniform = (n: number, salt: string, shift: number) =>
    `SELECT (hash(i::VARCHAR || '${salt}') % 1000000)::DOUBLE / 1e6 + ${shift} AS x,
            CASE WHEN (hash(i::VARCHAR || '${salt}c') % 1000)::DOUBLE / 1000 < 0.5 + ${shift * 2} THEN 'a' ELSE 'b' END AS c
     FROM range(${n}) t(i)`
  const source = (sql: string, label: string): TableSource => ({ label, sql })

  for (const [size, n] of [
    ['large samples (Wasserstein, Jensen-Shannon)', 5000],
    ['small samples (KS, chi-square)', 400],
  ] as const) {
    it(`${size}: none, small and large drift`, async () => {
      const reference = source(uniform(n, 'ref', 0), 'reference')
      const none = await computeDriftReport(conn, reference, source(uniform(n, 'none', 0), 'none'))
      const small = await computeDriftReport(conn, reference, source(uniform(n, 'small', 0.005), 'small'))
      const large = await computeDriftReport(conn, reference, source(uniform(n, 'large', 0.15), 'large'))
      expect(none.features.map((f) => f.drifted)).toEqual([false, false])
      expect(none.dataset_drift).toBe(false)
      expect(small.features.map((f) => f.drifted)).toEqual([false, false])
      expect(small.drift_share).toBe(0)
      expect(large.features.map((f) => f.drifted)).toEqual([true, true])
      expect(large.dataset_drift).toBe(true)
      expect(large.drift_share).toBe(1)
      const x = large.features.find((f) => f.name === 'x')!
      if (n > 1000) {
        // U[0,1) against U[0.15, 1.15): W1 = 0.15, the std is 1/sqrt(12).
        expect(x.method).toBe('wasserstein')
        expect(x.statistic).toBeCloseTo(0.15 * Math.sqrt(12), 1)
      } else {
        expect(x.method).toBe('ks')
        expect(x.p_value!).toBeLessThan(0.05)
      }
    })
  }

  it('a per-feature override changes the method and threshold, and half drifted reaches the dataset threshold', async () => {
    const reference = source(uniform(5000, 'ref', 0), 'reference')
    const current = source(`SELECT x + 0.05 AS x, c FROM (${uniform(5000, 'cur', 0)})`, 'current')
    // W1 normed = 0.05 * sqrt(12) = 0.17: drifted by default, not under a looser threshold.
    const auto = await computeDriftReport(conn, reference, current)
    expect(auto.features.find((f) => f.name === 'x')!.drifted).toBe(true)
    const loose = await computeDriftReport(conn, reference, current, { features: [{ name: 'x', threshold: 0.25 }, { name: 'c' }] })
    expect(loose.features.find((f) => f.name === 'x')!).toMatchObject({ method: 'wasserstein', threshold: 0.25, drifted: false })
    expect(loose.dataset_drift).toBe(false)
    const strict = await computeDriftReport(conn, reference, current, {
      features: [{ name: 'x', method: 'ks', threshold: 0.01 }, { name: 'c' }],
    })
    const x = strict.features.find((f) => f.name === 'x')!
    expect(x.method).toBe('ks')
    expect(x.threshold).toBe(0.01)
    expect(x.drifted).toBe(true)
    expect(strict.drift_share).toBe(0.5)
    expect(strict.dataset_drift).toBe(true)
  })

  it('rejects a method that does not fit the feature kind, naming the feature', async () => {
    const reference = source(uniform(100, 'ref', 0), 'reference')
    await expect(computeDriftReport(conn, reference, reference, { features: [{ name: 'c', method: 'ks' }] })).rejects.toThrow(/feature "c" is categorical/)
    await expect(computeDriftReport(conn, reference, reference, { features: [{ name: 'nope' }] })).rejects.toThrow(/no column "nope"/)
  })
})
