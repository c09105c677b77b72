import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import { literal } from '../src-main/engine/monitoring/monitorDb.js'

/**
 * `npm run bench -- cli`: whole processes, as a user in a terminal runs them, all in this run:
 * - `lathe --help` and `lathe data list` (a temp workspace) against a bare `node -e 0`;
 * - `lathe data import` of the 3-million-row flights CSV against a node process that opens
 *   DuckDB and runs CREATE TABLE AS SELECT * FROM read_csv on the same file;
 * - `lathe drift` (January against June of the flights table, as dataset versions) against
 *   bench/peers/drift_scipy.py's whole process (pandas read_csv plus the SciPy statistics).
 * Prints the median of BENCH_ROUNDS (default 3) runs of each and the ratios. `lathe` runs the
 * built CLI when `npm run build` is current, else the sources through tsx (it says which).
 */
const ROOT = path.resolve(import.meta.dirname, '..')
const LATHE = path.join(ROOT, 'bin', 'lathe.mjs')
const PEERS = path.join(ROOT, 'bench', 'peers')
const FLIGHTS = path.join(ROOT, 'node_modules/vega-datasets/data/flights-3m.parquet')
const COLUMNS = ['delay', 'distance', 'origin', 'destination']
const rounds = Number(process.env.BENCH_ROUNDS ?? 3)

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

/** Runs a process to completion; its wall time in seconds (it must succeed). */
function timed(command: string, args: string[], options: { cwd?: string } = {}): { seconds: number; stdout: string } {
  const env = { ...process.env }
  delete env.NODE_OPTIONS
  const start = performance.now()
  const r = spawnSync(command, args, { cwd: options.cwd ?? ROOT, env, encoding: 'utf8', maxBuffer: 1 << 26 })
  const seconds = (performance.now() - start) / 1000
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${r.status}: ${r.stderr}`)
  return { seconds, stdout: r.stdout }
}

const lathe = (...args: string[]) => timed(process.execPath, [LATHE, ...args])
const medianOf = (run: () => { seconds: number }) => median(Array.from({ length: rounds }, () => run().seconds))

export async function run(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lathe-bench-cli-'))
  const ws = path.join(dir, 'ws')
  try {
    const csv = path.join(dir, 'flights-3m.csv')
    const jan = path.join(dir, 'january.parquet')
    const jun = path.join(dir, 'june.parquet')
    const sample = path.join(dir, 'sample.parquet')
    {
      const instance = await DuckDBInstance.create(':memory:')
      const duck = await instance.connect()
      await duck.run(`COPY (SELECT * FROM read_parquet(${literal(FLIGHTS)})) TO ${literal(csv)} (FORMAT csv, HEADER true)`)
      for (const [file, month] of [
        [jan, 1],
        [jun, 6],
      ] as const) {
        await duck.run(
          `COPY (SELECT ${COLUMNS.join(', ')} FROM read_parquet(${literal(FLIGHTS)}) WHERE month(date) = ${month}) TO ${literal(file)} (FORMAT parquet)`,
        )
        await duck.run(`COPY (SELECT * FROM read_parquet(${literal(file)})) TO ${literal(file.replace(/\.parquet$/, '.csv'))} (FORMAT csv, HEADER true)`)
      }
      // The model only names the features to compare: a small linear one trains in seconds.
      await duck.run(`COPY (SELECT * FROM read_parquet(${literal(jan)}) USING SAMPLE 2000 ROWS (reservoir, 42)) TO ${literal(sample)} (FORMAT parquet)`)
      duck.closeSync()
      instance.closeSync()
    }
    const mb = fs.statSync(csv).size / 1e6

    // A warm file cache and a workspace that exists: what a user's second command sees.
    timed(process.execPath, ['-e', '0'])
    lathe('data', 'list', '-w', ws)
    const bare = medianOf(() => timed(process.execPath, ['-e', '0']))
    const help = medianOf(() => lathe('--help'))
    const list = medianOf(() => lathe('data', 'list', '-w', ws))

    const rawScript = [
      "const { DuckDBInstance } = await import('@duckdb/node-api')",
      "const instance = await DuckDBInstance.create(':memory:')",
      'const duck = await instance.connect()',
      `await duck.run(\`CREATE TABLE flights AS SELECT * FROM read_csv(${literal(csv)})\`)`,
    ].join('\n')
    const raw = medianOf(() => timed(process.execPath, ['--input-type=module', '-e', rawScript]))
    const imported = medianOf(() => lathe('data', 'import', csv, '-n', 'flights', '-w', ws))

    lathe('data', 'import', jan, '-n', 'january', '-w', ws)
    lathe('data', 'import', jun, '-n', 'june', '-w', ws)
    lathe('data', 'import', sample, '-n', 'sample', '-w', ws)
    lathe('train', '-d', 'sample', '-t', 'delay', '--model', 'linear', '--epochs', '1', '--register-as', 'flights-delay', '-w', ws)
    const driftArgs = ['drift', 'flights-delay@1', '--reference', 'january@1', '--current', 'june@1', '--json', '-w', ws]
    const report = JSON.parse(lathe(...driftArgs).stdout) as { features: Array<{ name: string }> }
    const features = report.features.map((f) => f.name)
    const drift = medianOf(() => lathe(...driftArgs))
    const scipyArgs = [
      path.join(PEERS, 'drift_scipy.py'),
      jan.replace(/\.parquet$/, '.csv'),
      jun.replace(/\.parquet$/, '.csv'),
      '--columns',
      features.join(','),
    ]
    const scipy = medianOf(() => timed('/usr/bin/python3', scipyArgs, { cwd: PEERS }))

    const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`
    process.stdout.write(
      [
        `whole processes, median of ${rounds}; load average ${os
          .loadavg()
          .map((l) => l.toFixed(2))
          .join(' ')}`,
        `node -e 0                 ${bare.toFixed(3)} s`,
        `lathe --help              ${help.toFixed(3)} s  ${ratio(help, bare)} of bare node (target <= 3x)`,
        `lathe data list           ${list.toFixed(3)} s  ${ratio(list, bare)} of bare node`,
        `lathe data import ${mb.toFixed(0)} MB  ${imported.toFixed(2)} s  vs DuckDB read_csv process ${raw.toFixed(2)} s: ${ratio(imported, raw)} (target <= 1.3x)`,
        `lathe drift (${features.join(', ')}; Jan vs Jun)  ${drift.toFixed(2)} s  vs drift_scipy.py process ${scipy.toFixed(2)} s: ${ratio(scipy, drift)} faster (target >= 3x)`,
        '',
      ].join('\n'),
    )
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}
