import fs from 'node:fs'
import path from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import { describe, expect, it } from 'vitest'
import { resolveDatasetVersion } from '../../../src-main/engine/data/resolve.js'
import { splitSelectSql } from '../../../src-main/engine/data/splits.js'
import { SplitSpec } from '../../../src-main/engine/data/types.js'
import { openTestEngine, tempDir } from '../../helpers/workspace.js'

const vega = path.resolve('node_modules/vega-datasets/data')

async function splitOf(parquet: string, spec: SplitSpec): Promise<string[]> {
  const duck = await (await DuckDBInstance.create(':memory:')).connect()
  try {
    const rows = (await duck.runAndReadAll(`SELECT __row, __split FROM (${splitSelectSql(spec, parquet)})`)).getRows()
    rows.forEach(([row], i) => expect(Number(row)).toBe(i))
    return rows.map(([, part]) => String(part))
  } finally {
    duck.closeSync()
  }
}

describe('transforms', () => {
  it('derives a new version from a SELECT over name@V with lineage to its parents', async () => {
    const engine = openTestEngine()
    await engine.call('data.import', { name: 'weather', path: path.join(vega, 'seattle-weather.csv') })
    await engine.call('data.import', { name: 'penguins', path: path.join(vega, 'penguins.json') })
    // Parents are listed in the order the SQL first mentions them.
    const sql = `SELECT w.weather, count(*) AS days, (SELECT count(*) FROM penguins@1) AS penguins
                 FROM weather@1 w GROUP BY ALL ORDER BY w.weather`
    const derived = await engine.call('data.transform', { name: 'weather-days', sql })
    expect(derived).toMatchObject({ dataset: 'weather-days', version: 1, rows: 5, created: true, parents: ['penguins@1', 'weather@1'] })
    const page = await engine.call('data.preview', { dataset: 'weather-days', limit: 10 })
    // Counted independently from the CSV text.
    const counts = new Map<string, number>()
    for (const line of fs.readFileSync(path.join(vega, 'seattle-weather.csv'), 'utf8').trim().split('\n').slice(1)) {
      const weather = line.split(',').at(-1)!
      counts.set(weather, (counts.get(weather) ?? 0) + 1)
    }
    expect(page.rows.map((r) => [r.weather, r.days])).toEqual([...counts].sort(([a], [b]) => a.localeCompare(b)))
    expect(page.rows.every((r) => r.penguins === 344)).toBe(true)
    const shown = await engine.call('data.show', { dataset: 'weather-days@1' })
    expect(shown.version.parents).toEqual(['penguins@1', 'weather@1'])
    expect((await engine.call('data.show', { dataset: 'weather' })).children).toEqual(['weather-days@1'])
    expect(await engine.call('data.transform', { name: 'weather-days', sql })).toMatchObject({ version: 1, created: false })
  })

  it('refuses anything but one SELECT, and unknown versions, changing nothing', async () => {
    const engine = openTestEngine()
    await engine.call('data.import', { name: 'weather', path: path.join(vega, 'seattle-weather.csv') })
    const refused = [
      ["COPY (SELECT * FROM weather@1) TO '/tmp/out.csv'", /only SELECT/],
      ['SELECT * FROM weather@1; SELECT 1', /exactly one SELECT/],
      ['CREATE TABLE t AS SELECT * FROM weather@1', /only SELECT/],
      ['SELECT * FROM weather@7', /has no version 7/],
      ['SELECT * FROM nothing@1', /no dataset named "nothing"/],
      ['SELECT 1', /at least one dataset version/],
      ['SELEC * FROM weather@1', /does not parse/],
    ] as const
    for (const [sql, says] of refused) {
      await expect(engine.call('data.transform', { name: 'derived', sql }), sql).rejects.toThrow(says)
    }
    expect((await engine.call('data.list', {})).datasets.map((d) => d.name)).toEqual(['weather'])
  })
})

describe('splits', () => {
  it('the same spec gives the same split across runs and engines, with exact fractions', async () => {
    const engine = openTestEngine()
    await engine.call('data.import', { name: 'weather', path: path.join(vega, 'seattle-weather.csv') })
    const parquet = resolveDatasetVersion(engine.context, 'weather').path
    const spec = SplitSpec.parse({ seed: 7 })
    const first = await splitOf(parquet, spec)
    const second = await splitOf(parquet, spec)
    expect(second).toEqual(first)
    const count = (parts: string[], p: string) => parts.filter((x) => x === p).length
    // 1461 rows: floor(0.7 n) = 1022 train, floor(0.85 n) - 1022 = 219 validation, the rest test.
    expect([count(first, 'train'), count(first, 'validation'), count(first, 'test')]).toEqual([1022, 219, 220])
    const otherSeed = await splitOf(parquet, SplitSpec.parse({ seed: 8 }))
    expect(otherSeed).not.toEqual(first)

    const recorded = await engine.call('data.splits.create', { dataset: 'weather@1', name: 'main', spec: { seed: 7 } })
    expect(recorded.counts).toEqual({ train: 1022, validation: 219, test: 220 })
    expect((await engine.call('data.splits.list', { dataset: 'weather' })).splits.map((s) => s.name)).toEqual(['main'])
  })

  it('stratified keeps class proportions; time puts the latest rows in test', async () => {
    const engine = openTestEngine()
    await engine.call('data.import', { name: 'weather', path: path.join(vega, 'seattle-weather.csv') })
    const parquet = resolveDatasetVersion(engine.context, 'weather').path
    const duck = await (await DuckDBInstance.create(':memory:')).connect()
    const stratified = splitSelectSql(SplitSpec.parse({ method: 'stratified', column: 'weather', train: 0.8, validation: 0, test: 0.2 }), parquet)
    const byClass = (
      await duck.runAndReadAll(`SELECT weather, count(*) FILTER (__split = 'test') AS t, count(*) AS n FROM (${stratified}) GROUP BY ALL ORDER BY 1`)
    ).getRows()
    for (const [, t, n] of byClass) expect(Number(t)).toBe(Number(n) - Math.floor(0.8 * Number(n)))
    const time = splitSelectSql(SplitSpec.parse({ method: 'time', column: 'date', train: 0.5, validation: 0.25, test: 0.25 }), parquet)
    const [maxTrain, minTest] = (
      await duck.runAndReadAll(`SELECT max(date) FILTER (__split = 'train')::VARCHAR, min(date) FILTER (__split = 'test')::VARCHAR FROM (${time})`)
    ).getRows()[0]!
    expect(String(maxTrain) < String(minTest)).toBe(true)
    duck.closeSync()
  })

  it('refuses fractions that do not add up to 1 and a column the version does not have', async () => {
    const engine = openTestEngine()
    await engine.call('data.import', { name: 'weather', path: path.join(vega, 'seattle-weather.csv') })
    await expect(engine.call('data.splits.create', { dataset: 'weather', spec: { train: 0.8, validation: 0.15, test: 0.15 } })).rejects.toThrow(/add up to 1/)
    await expect(engine.call('data.splits.create', { dataset: 'weather', spec: { method: 'stratified', column: 'nope' } })).rejects.toThrow(
      /"nope" is not a column/,
    )
  })
})

describe('preview and export', () => {
  it('pages, sorts and filters rows, and exports CSV and Parquet that read back the same', async () => {
    const engine = openTestEngine()
    await engine.call('data.import', { name: 'weather', path: path.join(vega, 'seattle-weather.csv') })
    const page = await engine.call('data.preview', { dataset: 'weather', offset: 10, limit: 5 })
    expect([page.total, page.rows.length, page.rows[0]!.date]).toEqual([1461, 5, '2012-01-11'])
    const windiest = await engine.call('data.preview', {
      dataset: 'weather',
      limit: 3,
      sort: { column: 'wind', descending: true },
      filters: [{ column: 'weather', op: 'eq', value: 'snow' }],
    })
    expect(windiest.total).toBe(26)
    expect(windiest.rows.map((r) => r.wind)).toEqual([...windiest.rows.map((r) => r.wind as number)].sort((a, b) => b - a))
    await expect(engine.call('data.preview', { dataset: 'weather', filters: [{ column: 'nope', op: 'is_null' }] })).rejects.toThrow(/no column "nope"/)

    const dir = tempDir()
    for (const file of ['weather.csv', 'weather.parquet']) {
      const out = await engine.call('data.export', { dataset: 'weather', path: path.join(dir, file) })
      expect(out.rows).toBe(1461)
      const back = await engine.call('data.import', { name: `back-${file.replace('.', '-')}`, path: out.path })
      expect(back.rows).toBe(1461)
    }
    expect(fs.readdirSync(dir).sort()).toEqual(['weather.csv', 'weather.parquet'])
  })
})
