import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import { computeDriftReport } from '../src-main/engine/monitoring/drift/report.js'
import { literal } from '../src-main/engine/monitoring/monitorDb.js'

/**
 * `npm run bench -- drift`: the flights table, January as the reference and June as
 * the current data (about 500k rows each; delay, distance, origin, destination).
 * Lathe's drift report (DuckDB reading the Parquet files, statistics in SQL, p-values
 * in TypeScript) against `bench/peers/drift_scipy.py` on the same rows, in this run;
 * prints both times, the ratio, and the largest relative difference in any statistic.
 */
const PEERS = path.resolve(import.meta.dirname, 'peers')
const FLIGHTS = path.resolve('node_modules/vega-datasets/data/flights-3m.parquet')
const COLUMNS = ['delay', 'distance', 'origin', 'destination']
const STATISTICS = ['ks_statistic', 'ks_pvalue', 'wasserstein_normed', 'psi', 'chi2_statistic', 'chi2_pvalue', 'jensenshannon']

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

export async function run(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lathe-bench-drift-'))
  try {
    const files: Record<string, { parquet: string; csv: string }> = {}
    {
      const instance = await DuckDBInstance.create(':memory:')
      const duck = await instance.connect()
      for (const [name, month] of [
        ['january', 1],
        ['june', 6],
      ] as const) {
        const select = `SELECT ${COLUMNS.join(', ')} FROM read_parquet(${literal(FLIGHTS)}) WHERE month(date) = ${month}`
        files[name] = { parquet: path.join(dir, `${name}.parquet`), csv: path.join(dir, `${name}.csv`) }
        await duck.run(`COPY (${select}) TO ${literal(files[name]!.parquet)} (FORMAT parquet)`)
        // Debian's pandas has no Parquet engine: the peer reads the same rows as CSV.
        await duck.run(`COPY (${select}) TO ${literal(files[name]!.csv)} (FORMAT csv, HEADER true)`)
      }
      duck.closeSync()
      instance.closeSync()
    }

    const rounds = Number(process.env.BENCH_ROUNDS ?? 3)
    const latheSeconds: number[] = []
    let report: Awaited<ReturnType<typeof computeDriftReport>> | null = null
    for (let round = 0; round < rounds; round++) {
      const instance = await DuckDBInstance.create(':memory:')
      const conn = await instance.connect()
      const start = performance.now()
      report = await computeDriftReport(
        conn,
        { label: 'january', sql: `SELECT * FROM read_parquet(${literal(files.january!.parquet)})` },
        { label: 'june', sql: `SELECT * FROM read_parquet(${literal(files.june!.parquet)})` },
        { features: COLUMNS.map((name) => ({ name })) },
      )
      latheSeconds.push((performance.now() - start) / 1000)
      conn.closeSync()
      instance.closeSync()
    }

    const peerDrift: number[] = []
    const peerLoad: number[] = []
    let peer: { reference_rows: number; current_rows: number; columns: Record<string, Record<string, number>> } | null = null
    for (let round = 0; round < rounds; round++) {
      const out = execFileSync('/usr/bin/python3', [path.join(PEERS, 'drift_scipy.py'), files.january!.csv, files.june!.csv, '--columns', COLUMNS.join(',')], {
        cwd: PEERS,
        encoding: 'utf8',
        maxBuffer: 1 << 24,
      })
      peer = JSON.parse(out.trim().split('\n').pop()!)
      peerDrift.push((peer as unknown as { drift_seconds: number }).drift_seconds)
      peerLoad.push((peer as unknown as { load_seconds: number }).load_seconds)
    }

    let worst = 0
    let worstWhere = ''
    let compared = 0
    for (const [column, expected] of Object.entries(peer!.columns)) {
      const feature = report!.features.find((f) => f.name === column)! as unknown as Record<string, number>
      for (const stat of STATISTICS) {
        if (typeof expected[stat] !== 'number') continue
        const e = expected[stat]!
        const diff = e === 0 ? Math.abs(feature[stat]!) : Math.abs(feature[stat]! - e) / Math.abs(e)
        compared++
        if (diff > worst) {
          worst = diff
          worstWhere = `${column}.${stat}`
        }
      }
    }

    const lathe = median(latheSeconds)
    const scipy = median(peerDrift)
    const scipyWithLoad = median(peerDrift.map((d, i) => d + peerLoad[i]!))
    process.stdout.write(
      [
        `flights January (${report!.reference.rows} rows) vs June (${report!.current.rows} rows); columns ${COLUMNS.join(', ')}; median of ${rounds}`,
        `lathe (DuckDB from Parquet, p-values in TS): ${lathe.toFixed(3)} s`,
        `scipy drift_scipy.py statistics only:        ${scipy.toFixed(3)} s (plus ${median(peerLoad).toFixed(3)} s pandas read_csv)`,
        `ratio scipy/lathe: ${(scipy / lathe).toFixed(2)}x (statistics only), ${(scipyWithLoad / lathe).toFixed(2)}x (with loading)`,
        `statistics compared: ${compared}; largest relative difference ${worst.toExponential(2)}${worstWhere ? ` (${worstWhere})` : ''}`,
        ...report!.features.map(
          (f) => `  ${f.name.padEnd(12)} ${f.method.padEnd(14)} statistic ${f.statistic.toPrecision(6)} drifted ${f.drifted ? 'yes' : 'no'}`,
        ),
        '',
      ].join('\n'),
    )
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}
