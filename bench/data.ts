import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import { Engine } from '../src-main/engine/engine.js'

/**
 * `npm run bench -- data`: the 3-million-row flights table, written out as CSV by
 * DuckDB, imported by Lathe (CSV -> Parquet object + version row, hashing and
 * validation included) against DuckDB's own CREATE TABLE AS read_csv and pandas'
 * read_csv, all in this run; then Lathe's profile against pandas' describe.
 */
const PEERS = path.resolve(import.meta.dirname, 'peers')
const FLIGHTS = path.resolve('node_modules/vega-datasets/data/flights-3m.parquet')

async function seconds<T>(work: () => Promise<T>): Promise<{ seconds: number; value: T }> {
  const start = performance.now()
  const value = await work()
  return { seconds: (performance.now() - start) / 1000, value }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

export async function run(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lathe-bench-data-'))
  try {
    const csv = path.join(dir, 'flights-3m.csv')
    {
      const duck = await (await DuckDBInstance.create(':memory:')).connect()
      await duck.run(`COPY (SELECT * FROM read_parquet('${FLIGHTS}')) TO '${csv}' (FORMAT csv, HEADER true)`)
      duck.closeSync()
    }
    const mb = fs.statSync(csv).size / 1e6
    process.stdout.write(`flights-3m.csv: ${mb.toFixed(0)} MB\n`)

    const rounds = Number(process.env.BENCH_ROUNDS ?? 3)
    const raw: number[] = []
    const lathe: number[] = []
    let progressEvents = 0
    let rows = 0
    for (let round = 0; round < rounds; round++) {
      // Raw DuckDB: a fresh in-memory database each round, as Lathe gets a fresh workspace.
      const instance = await DuckDBInstance.create(':memory:')
      const duck = await instance.connect()
      raw.push((await seconds(() => duck.run(`CREATE TABLE flights AS SELECT * FROM read_csv('${csv}')`))).seconds)
      duck.closeSync()
      instance.closeSync()

      const engine = Engine.open({ workspaceDir: path.join(dir, `ws-${round}`), holder: 'bench' })
      const stop = engine.events.subscribe(['data.import.progress'], () => progressEvents++)
      const imported = await seconds(() => engine.call('data.import', { name: 'flights', path: csv }))
      stop()
      lathe.push(imported.seconds)
      rows = imported.value.rows
      await engine.close()
    }

    const pandas = JSON.parse(
      execFileSync('/usr/bin/python3', [path.join(PEERS, 'ingest_pandas.py'), csv], { encoding: 'utf8', cwd: PEERS })
        .trim()
        .split('\n')
        .at(-1)!,
    ) as { read_seconds: number; profile_seconds: number }

    const engine = Engine.open({ workspaceDir: path.join(dir, 'ws-profile'), holder: 'bench' })
    await engine.call('data.import', { name: 'flights', path: csv })
    const profile = await seconds(() => engine.call('data.profile', { dataset: 'flights' }))
    await engine.close()

    // Preview: the first page of a 10-million-row version (imported from Parquet written by DuckDB).
    const big = path.join(dir, 'ten-million.parquet')
    {
      const duck = await (await DuckDBInstance.create(':memory:')).connect()
      await duck.run(`COPY (SELECT range AS id, range % 97 AS bucket, md5(range::VARCHAR) AS label FROM range(10000000)) TO '${big}' (FORMAT parquet)`)
      duck.closeSync()
    }
    const previewEngine = Engine.open({ workspaceDir: path.join(dir, 'ws-preview'), holder: 'bench' })
    await previewEngine.call('data.import', { name: 'big', path: big })
    const firstPage = await seconds(() => previewEngine.call('data.preview', { dataset: 'big', limit: 100 }))
    const deepPage = await seconds(() => previewEngine.call('data.preview', { dataset: 'big', offset: 9_000_000, limit: 100 }))
    await previewEngine.close()

    const lines = [
      `rows imported: ${rows}; progress events per import: ${Math.round(progressEvents / rounds)}`,
      `import  Lathe ${median(lathe).toFixed(2)} s | DuckDB CREATE TABLE AS read_csv ${median(raw).toFixed(2)} s | pandas read_csv ${pandas.read_seconds.toFixed(2)} s  (median of ${rounds})`,
      `        Lathe / DuckDB = ${(median(lathe) / median(raw)).toFixed(2)}x (target <= 1.3x)   Lathe / pandas = ${(median(lathe) / pandas.read_seconds).toFixed(2)}x`,
      `profile Lathe ${profile.seconds.toFixed(2)} s (all columns: quantiles, histograms, top values, duplicates) | pandas describe+isna+nunique ${pandas.profile_seconds.toFixed(2)} s`,
      `        Lathe / pandas = ${(profile.seconds / pandas.profile_seconds).toFixed(2)}x (target < 1)`,
      `preview of a 10,000,000-row version: first page ${(firstPage.seconds * 1000).toFixed(0)} ms, page at row 9,000,000 ${(deepPage.seconds * 1000).toFixed(0)} ms`,
    ]
    process.stdout.write(`${lines.join('\n')}\n`)
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}
