/**
 * One drift report as its own process, for `npm run bench -- drift-scale`: the engine's
 * one-pass report (what `lathe drift` runs) on two Parquet files, with DuckDB capped
 * and spilling as in a workspace and the reference cache in DIR/cache. Prints one JSON
 * line: seconds, the report's features (name, method, statistic) and rows.
 *
 *   tsx bench/drift-scale-child.ts REFERENCE.parquet CURRENT.parquet DIR [--all-statistics]
 */
import fs from 'node:fs'
import path from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import { ReferenceCache } from '../src-main/engine/monitoring/drift/referenceCache.js'
import { computeDriftReport } from '../src-main/engine/monitoring/drift/report.js'
import { parquetSource } from '../src-main/engine/monitoring/drift/sources.js'
import { DEFAULT_DUCKDB_MEMORY_LIMIT } from '../src-main/engine/workspace/workspace.js'

const [reference, current, dir] = process.argv.slice(2)
const spill = path.join(dir!, 'tmp', 'duckdb')
fs.mkdirSync(spill, { recursive: true })
const instance = await DuckDBInstance.create(':memory:', {
  memory_limit: process.env.LATHE_DUCKDB_MEMORY_LIMIT || DEFAULT_DUCKDB_MEMORY_LIMIT,
  temp_directory: spill,
})
const conn = await instance.connect()
const start = performance.now()
const report = await computeDriftReport(
  conn,
  { ...parquetSource(reference!, 'reference'), cacheKey: `bench ${reference}` },
  parquetSource(current!, 'current'),
  { statistics: process.argv.includes('--all-statistics') ? 'all' : 'needed', referenceCache: new ReferenceCache(path.join(dir!, 'cache')) },
)
const seconds = (performance.now() - start) / 1000
conn.closeSync()
instance.closeSync()
process.stdout.write(
  `${JSON.stringify({
    seconds,
    referenceRows: report.reference.rows,
    currentRows: report.current.rows,
    drifted: report.drifted_features,
    features: report.features.map((f) => ({
      name: f.name,
      method: f.method,
      wasserstein_normed: f.wasserstein_normed,
      jensenshannon: f.jensenshannon,
      chi2_statistic: f.chi2_statistic,
    })),
  })}\n`,
)
