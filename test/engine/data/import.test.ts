import fs from 'node:fs'
import path from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import { describe, expect, it } from 'vitest'
import { openTestEngine, tempDir } from '../../helpers/workspace.js'
import { resolveDatasetVersion } from '../../../src-main/engine/data/resolve.js'

const vega = path.resolve('node_modules/vega-datasets/data')

describe('data.import', () => {
  it('imports seattle-weather.csv with its sniffed schema', async () => {
    const engine = openTestEngine()
    const result = await engine.call('data.import', { name: 'weather', path: path.join(vega, 'seattle-weather.csv') })
    expect(result).toMatchObject({ dataset: 'weather', version: 1, rows: 1461, created: true })
    expect(result.columns).toEqual([
      { name: 'date', type: 'DATE' },
      { name: 'precipitation', type: 'DOUBLE' },
      { name: 'temp_max', type: 'DOUBLE' },
      { name: 'temp_min', type: 'DOUBLE' },
      { name: 'wind', type: 'DOUBLE' },
      { name: 'weather', type: 'VARCHAR' },
    ])
    const resolved = resolveDatasetVersion(engine.context, 'weather')
    expect(resolved).toMatchObject({ name: 'weather', version: 1, rows: 1461, validation: { status: 'none' } })
    expect(fs.existsSync(resolved.path)).toBe(true)
    expect(fs.readFileSync(resolved.path).subarray(0, 4).toString()).toBe('PAR1')
  })

  it('imports penguins.json (an array of records) and cars.json', async () => {
    const engine = openTestEngine()
    const penguins = await engine.call('data.import', { name: 'penguins', path: path.join(vega, 'penguins.json') })
    expect(penguins.rows).toBe(344)
    expect(penguins.columns.map((c) => c.name)).toContain('Species')
    const cars = await engine.call('data.import', { name: 'cars', path: path.join(vega, 'cars.json') })
    expect(cars.rows).toBe(406)
    expect(cars.columns.find((c) => c.name === 'Miles_per_Gallon')?.type).toBe('DOUBLE')
    // Overrides on JSON are casts after reading.
    const asText = await engine.call('data.import', { name: 'cars', path: path.join(vega, 'cars.json'), types: { Cylinders: 'VARCHAR' } })
    expect(asText.columns.find((c) => c.name === 'Cylinders')?.type).toBe('VARCHAR')
  })

  it('imports NDJSON, TSV and Parquet', async () => {
    const engine = openTestEngine()
    const dir = tempDir()
    const nd = path.join(dir, 'people.ndjson')
    fs.writeFileSync(nd, '{"id":1,"name":"ada"}\n{"id":2,"name":"bob"}\n{"id":3,"name":null}\n')
    const ndResult = await engine.call('data.import', { name: 'people', path: nd })
    expect(ndResult).toMatchObject({
      rows: 3,
      columns: [
        { name: 'id', type: 'BIGINT' },
        { name: 'name', type: 'VARCHAR' },
      ],
    })
    const tsv = path.join(dir, 'scores.tsv')
    fs.writeFileSync(tsv, 'team\tscore\nred\t3\nblue\t5\n')
    const tsvResult = await engine.call('data.import', { name: 'scores', path: tsv })
    expect(tsvResult).toMatchObject({
      rows: 2,
      columns: [
        { name: 'team', type: 'VARCHAR' },
        { name: 'score', type: 'BIGINT' },
      ],
    })
    // flights-3m.parquet is large: its first 5,000 rows, written as Parquet by DuckDB, keep the test small.
    const flights = path.join(dir, 'flights.parquet')
    const duck = await (await DuckDBInstance.create(':memory:')).connect()
    await duck.run(`COPY (SELECT * FROM read_parquet('${path.join(vega, 'flights-3m.parquet')}') LIMIT 5000) TO '${flights}' (FORMAT parquet)`)
    duck.closeSync()
    const parquet = await engine.call('data.import', { name: 'flights', path: flights })
    expect(parquet.rows).toBe(5000)
    expect(parquet.columns.map((c) => c.name)).toEqual(['date', 'delay', 'distance', 'origin', 'destination'])
  })

  it('re-importing the same bytes with the same options returns the existing version', async () => {
    const engine = openTestEngine()
    const file = path.join(vega, 'seattle-weather.csv')
    const first = await engine.call('data.import', { name: 'weather', path: file })
    const again = await engine.call('data.import', { name: 'weather', path: file })
    expect(again).toMatchObject({ version: first.version, versionId: first.versionId, created: false })
    const overridden = await engine.call('data.import', { name: 'weather', path: file, types: { wind: 'VARCHAR' } })
    expect(overridden).toMatchObject({ version: 2, created: true })
    expect(overridden.columns.find((c) => c.name === 'wind')?.type).toBe('VARCHAR')
  })

  it('changed bytes make a new version of the same dataset', async () => {
    const engine = openTestEngine()
    const dir = tempDir()
    const file = path.join(dir, 'zips.csv')
    fs.writeFileSync(file, 'zip,city\n02134,Boston\n10001,New York\n')
    const v1 = await engine.call('data.import', { name: 'zips', path: file, types: { zip: 'VARCHAR' } })
    fs.writeFileSync(file, 'zip,city\n02134,Boston\n10001,New York\n94103,San Francisco\n')
    const v2 = await engine.call('data.import', { name: 'zips', path: file, types: { zip: 'VARCHAR' } })
    expect([v1.version, v2.version, v2.rows, v2.created]).toEqual([1, 2, 3, true])
    const page = await engine.call('data.preview', { dataset: 'zips@2', limit: 10 })
    expect(page.rows[0]).toEqual({ zip: '02134', city: 'Boston' })
    expect(resolveDatasetVersion(engine.context, 'zips@1').rows).toBe(2)
  })

  it('reads Latin-1 text when told the encoding', async () => {
    const engine = openTestEngine()
    const file = path.join(tempDir(), 'cities.csv')
    fs.writeFileSync(file, Buffer.concat([Buffer.from('name,city\nann,'), Buffer.from([0x4d, 0xfc, 0x6e, 0x63, 0x68, 0x65, 0x6e]), Buffer.from('\n')]))
    await engine.call('data.import', { name: 'cities', path: file, encoding: 'latin-1' })
    expect((await engine.call('data.preview', { dataset: 'cities' })).rows).toEqual([{ name: 'ann', city: 'München' }])
  })

  it('reports progress events while importing', async () => {
    const engine = openTestEngine()
    const events: Array<{ phase: string; fraction: number }> = []
    engine.events.subscribe(['data.import.progress'], (e) => events.push(e.payload as { phase: string; fraction: number }))
    await engine.call('data.import', { name: 'weather', path: path.join(vega, 'seattle-weather.csv') })
    expect(events[0]).toMatchObject({ phase: 'hashing', fraction: 0 })
    expect(events.at(-1)).toEqual({ dataset: 'weather', phase: 'done', fraction: 1 })
    const fractions = events.map((e) => e.fraction)
    expect([...fractions].sort((a, b) => a - b)).toEqual(fractions)
  })

  it('imports content uploaded as base64 (the browser path)', async () => {
    const engine = openTestEngine()
    const content = Buffer.from('a,b\n1,x\n2,y\n').toString('base64')
    const result = await engine.call('data.import', { name: 'upload', content, fileName: 'small.csv' })
    expect(result).toMatchObject({ rows: 2, created: true })
    expect(fs.readdirSync(engine.workspace.tmpDir)).toEqual([])
  })
})

describe('concurrent imports', () => {
  it('two identical imports at once make one version and leave no orphan object', async () => {
    const engine = openTestEngine()
    const file = path.join(vega, 'seattle-weather.csv')
    const results = await Promise.all([engine.call('data.import', { name: 'w', path: file }), engine.call('data.import', { name: 'w', path: file })])
    expect(results.map((r) => r.version)).toEqual([1, 1])
    expect(results.filter((r) => r.created)).toHaveLength(1)
    const objects: string[] = []
    for await (const sha of engine.workspace.objects.list()) objects.push(sha)
    expect(objects).toEqual([resolveDatasetVersion(engine.context, 'w').objectSha256])
  })
})
