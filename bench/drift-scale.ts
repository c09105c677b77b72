import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api'
import { literal } from '../src-main/engine/monitoring/monitorDb.js'
import { DEFAULT_DUCKDB_MEMORY_LIMIT } from '../src-main/engine/workspace/workspace.js'

/**
 * `npm run bench -- drift-scale`: drift on wide tables made with DuckDB's random().
 *
 * 1. 1M reference rows against 1M current rows, 50 numeric columns (10 of them shifted
 *    slightly in the current table): Lathe's report as a process, cold (reference computed)
 *    and warm (reference from the cache), against bench/peers/drift_scipy.py on the same
 *    rows as CSV (pandas has no Parquet engine here); seconds and peak RSS of each, the
 *    ratio, and the largest relative difference between their Wasserstein and Jensen-Shannon
 *    values.
 * 2. 10M against 10M rows, 100 numeric + 10 categorical columns, Lathe alone, cold and warm.
 *
 * Tables go under the system's temporary folder and are deleted afterwards.
 * `--large-only` runs part 2 alone (SciPy takes minutes at 1M x 50 on a loaded machine).
 * LATHE_BENCH_SCALE_ROWS=1000000,10000000 changes the two sizes (e.g. smaller for a try).
 */
const PEERS = path.resolve(import.meta.dirname, 'peers')
const CHILD = path.resolve(import.meta.dirname, 'drift-scale-child.ts')
const LARGE_ONLY = process.argv.includes('--large-only')
const [SMALL_ROWS, LARGE_ROWS] = (process.env.LATHE_BENCH_SCALE_ROWS ?? '1000000,10000000').split(',').map(Number) as [number, number]

function numericColumns(count: number, shifted: number, side: 'reference' | 'current'): string[] {
  // Column i: uniform on [0, i + 1), and the first `shifted` of them moved by 5% of their width in the current table (W1 normed 0.17, over the 0.1 threshold).
  return Array.from({ length: count }, (_, i) => `random() * ${i + 1}${side === 'current' && i < shifted ? ` + ${0.05 * (i + 1)}` : ''} AS x${i}`)
}

function categoricalColumns(count: number, side: 'reference' | 'current'): string[] {
  // 20 categories, uniform; in the current table category 0 gains a little weight in the first column.
  return Array.from({ length: count }, (_, i) => {
    const skew = side === 'current' && i === 0 ? `CASE WHEN random() < 0.02 THEN 0 ELSE floor(random() * 20)::INTEGER END` : 'floor(random() * 20)::INTEGER'
    return `'c' || (${skew})::VARCHAR AS k${i}`
  })
}

async function generate(duck: DuckDBConnection, file: string, rows: number, columns: string[], csv?: string): Promise<void> {
  await duck.run(`COPY (SELECT ${columns.join(', ')} FROM range(${rows})) TO ${literal(file)} (FORMAT parquet)`)
  if (csv) await duck.run(`COPY (SELECT * FROM read_parquet(${literal(file)})) TO ${literal(csv)} (FORMAT csv, HEADER true)`)
}

/** Runs a command under GNU time (`-v`): its stdout, its wall time and its peak RSS in MB, both of the whole process. */
function measured(command: string, args: string[], cwd?: string): { out: string; wallSeconds: number; peakMb: number } {
  const report = path.join(os.tmpdir(), `lathe-bench-rss-${process.pid}`)
  const out = execFileSync('/usr/bin/time', ['-v', '-o', report, command, ...args], { encoding: 'utf8', maxBuffer: 1 << 26, cwd })
  const text = fs.readFileSync(report, 'utf8')
  fs.rmSync(report, { force: true })
  const kb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(text)?.[1])
  // "Elapsed (wall clock) time (h:mm:ss or m:ss): 1:02.34"
  const clock = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)/.exec(text)?.[1] ?? '0'
  const wallSeconds = clock.split(':').reduce((total, part) => total * 60 + Number(part), 0)
  return { out, wallSeconds, peakMb: kb / 1024 }
}

interface LatheRun {
  /** The report alone (inside the process) and the whole process (node's start, the engine's import, the report, exit). */
  seconds: number
  wallSeconds: number
  peakMb: number
  result: { referenceRows: number; currentRows: number; drifted: number; features: Array<Record<string, number | string | undefined>> }
}

function lathe(reference: string, current: string, dir: string): LatheRun {
  const { out, wallSeconds, peakMb } = measured(process.execPath, ['--import', 'tsx', CHILD, reference, current, dir])
  const result = JSON.parse(out.trim().split('\n').at(-1)!)
  return { seconds: result.seconds, wallSeconds, peakMb, result }
}

const load = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')
const say = (line: string) => process.stdout.write(`${line}\n`)
const timing = (run: LatheRun) =>
  `${run.seconds.toFixed(2)} s the report, ${run.wallSeconds.toFixed(2)} s the whole process, peak RSS ${run.peakMb.toFixed(0)} MB`

export async function run(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lathe-bench-drift-scale-'))
  const instance = await DuckDBInstance.create(':memory:', { memory_limit: DEFAULT_DUCKDB_MEMORY_LIMIT, temp_directory: path.join(dir, 'gen-tmp') })
  const duck = await instance.connect()
  try {
    say(
      `DuckDB memory limit for Lathe: ${process.env.LATHE_DUCKDB_MEMORY_LIMIT || DEFAULT_DUCKDB_MEMORY_LIMIT}; ${os.cpus().length} cores; load average ${load()}`,
    )

    // 1. SMALL_ROWS x 50 against SciPy (left out with --large-only).
    if (!LARGE_ONLY) {
      const small = {
        reference: path.join(dir, 's-ref.parquet'),
        current: path.join(dir, 's-cur.parquet'),
        refCsv: path.join(dir, 's-ref.csv'),
        curCsv: path.join(dir, 's-cur.csv'),
      }
      await generate(duck, small.reference, SMALL_ROWS, numericColumns(50, 10, 'reference'), small.refCsv)
      await generate(duck, small.current, SMALL_ROWS, numericColumns(50, 10, 'current'), small.curCsv)
      const work = path.join(dir, 'small-workspace')
      const cold = lathe(small.reference, small.current, work)
      const warm = lathe(small.reference, small.current, work)
      say(
        `\n${SMALL_ROWS.toLocaleString('en')} x 50 numeric (10 shifted), ${SMALL_ROWS.toLocaleString('en')} reference rows against as many current (load average ${load()})`,
      )
      say(`lathe, reference computed:    ${timing(cold)}`)
      say(`lathe, reference from cache:  ${timing(warm)}`)
      const scipyRun = measured('/usr/bin/python3', [path.join(PEERS, 'drift_scipy.py'), small.refCsv, small.curCsv], PEERS)
      const scipy = JSON.parse(scipyRun.out.trim().split('\n').at(-1)!) as {
        load_seconds: number
        drift_seconds: number
        columns: Record<string, Record<string, number>>
      }
      say(
        `scipy drift_scipy.py:         ${(scipy.load_seconds + scipy.drift_seconds).toFixed(2)} s (${scipy.load_seconds.toFixed(2)} s pandas read_csv, ${scipy.drift_seconds.toFixed(2)} s statistics, all five of them), peak RSS ${scipyRun.peakMb.toFixed(0)} MB`,
      )
      say(
        `ratio scipy/lathe: ${((scipy.load_seconds + scipy.drift_seconds) / cold.seconds).toFixed(1)}x cold, ${((scipy.load_seconds + scipy.drift_seconds) / warm.seconds).toFixed(1)}x warm; statistics only ${(scipy.drift_seconds / cold.seconds).toFixed(1)}x cold`,
      )
      let worst = 0
      for (const f of cold.result.features) {
        const expected = scipy.columns[f.name as string]?.wasserstein_normed
        if (typeof expected === 'number') worst = Math.max(worst, Math.abs((f.wasserstein_normed as number) - expected) / Math.abs(expected))
      }
      say(
        `wasserstein_normed of ${cold.result.features.length} columns against SciPy: largest relative difference ${worst.toExponential(2)}; ${cold.result.drifted} drifted`,
      )
      for (const file of Object.values(small)) fs.rmSync(file, { force: true })
    }

    // 2. LARGE_ROWS x (100 numeric + 10 categorical), Lathe alone.
    const large = { reference: path.join(dir, 'l-ref.parquet'), current: path.join(dir, 'l-cur.parquet') }
    const started = performance.now()
    await generate(duck, large.reference, LARGE_ROWS, [...numericColumns(100, 10, 'reference'), ...categoricalColumns(10, 'reference')])
    await generate(duck, large.current, LARGE_ROWS, [...numericColumns(100, 10, 'current'), ...categoricalColumns(10, 'current')])
    const sizeGb = (fs.statSync(large.reference).size + fs.statSync(large.current).size) / 1e9
    say(
      `\n${LARGE_ROWS.toLocaleString('en')} x (100 numeric + 10 categorical), against as many rows: generated in ${((performance.now() - started) / 1000).toFixed(0)} s, ${sizeGb.toFixed(1)} GB of Parquet`,
    )
    // What one pass costs DuckDB alone: every value read and summed in C++ on all cores, nothing handed to JavaScript.
    const floorStart = performance.now()
    const allColumns = [...Array.from({ length: 100 }, (_, i) => `sum(x${i})`), ...Array.from({ length: 10 }, (_, i) => `count(k${i})`)]
    await duck.run(`SELECT ${allColumns.join(', ')} FROM read_parquet(${literal(large.current)})`)
    say(
      `DuckDB alone, one aggregate pass reading every value of the current table: ${((performance.now() - floorStart) / 1000).toFixed(2)} s (load average ${load()})`,
    )
    const largeWork = path.join(dir, 'large-workspace')
    const largeCold = lathe(large.reference, large.current, largeWork)
    say(`lathe, reference computed:    ${timing(largeCold)} (load average ${load()})`)
    const largeWarm = lathe(large.reference, large.current, largeWork)
    say(`lathe, reference from cache:  ${timing(largeWarm)} (load average ${load()}); ${largeWarm.result.drifted} of 110 drifted`)
    say(`targets: >= 5x SciPy at 1M x 50; 10M x 110 under 60 s with peak RSS under 2 GB`)
  } finally {
    duck.closeSync()
    instance.closeSync()
    fs.rmSync(dir, { recursive: true, force: true })
  }
}
