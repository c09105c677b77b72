import fs from 'node:fs'
import path from 'node:path'
import type { DuckDBConnection } from '@duckdb/node-api'
import type { MonitorMigration } from './types.js'

/**
 * The prediction log (owner: serving) as rolling segment files in `prediction-log/`:
 * serving appends newline-delimited JSON to an open segment and compacts each closed
 * one to Parquet (`<name>.parquet`, the `.ndjson` removed afterwards). `prediction_log`
 * is a view over both, so monitoring reads one relation whatever the files are;
 * `prediction_log_segments` names the compacted ones.
 *
 * Columns: `inputs` is a JSON object column -> value as the client sent it (null for a
 * missing value); `prediction` the JSON of the answer; `probabilities` a JSON object
 * class -> probability for classifiers, else null; `out_of_range` the columns whose
 * value was outside the training range (plus margin), else null. Only answered
 * requests are logged.
 */
export const predictionLogView = 'prediction_log'

/** Zero-row files that give the view its columns, so it binds before any segment exists. */
export const schemaSegment = '0-schema'

const columns: ReadonlyArray<readonly [string, string]> = [
  ['request_id', 'VARCHAR'],
  ['row_index', 'INTEGER'],
  ['time', 'TIMESTAMPTZ'],
  ['model', 'VARCHAR'],
  ['version', 'INTEGER'],
  ['route', 'VARCHAR'],
  ['status', 'INTEGER'],
  ['latency_ms', 'DOUBLE'],
  ['inputs', 'JSON'],
  ['prediction', 'JSON'],
  ['probabilities', 'JSON'],
  ['out_of_range', 'VARCHAR[]'],
]
const columnNames = columns.map(([name]) => name).join(', ')

/** A segment line's fields as DuckDB reads them (time as epoch microseconds). */
const lineColumns = `{request_id: 'VARCHAR', row_index: 'INTEGER', time_us: 'BIGINT', model: 'VARCHAR', version: 'INTEGER', route: 'VARCHAR',
  status: 'INTEGER', latency_ms: 'DOUBLE', inputs: 'JSON', prediction: 'JSON', probabilities: 'JSON', out_of_range: 'VARCHAR[]'}`

const selectColumns = `request_id, row_index, make_timestamptz(time_us) AS time, model, version, route, status, latency_ms,
  inputs, prediction, probabilities, out_of_range`

function lit(value: string): string {
  return `'${value.replaceAll("'", "''")}'`
}

/**
 * The rows of NDJSON segment files. A line cut short by a kill is read as nulls and
 * left out; so is a line being appended while the query reads.
 */
export function segmentRowsSql(files: string): string {
  return `SELECT ${selectColumns} FROM read_json(${lit(files)}, format = 'newline_delimited', columns = ${lineColumns}, ignore_errors = true)
    WHERE request_id IS NOT NULL AND time_us IS NOT NULL`
}

/** Segments compacted to Parquet (owner serving). A name is added once its `.parquet` is complete. */
export const compactedSegments = 'prediction_log_segments'

/**
 * Parquet segments that were compacted, plus the NDJSON ones that were not. Which is
 * which comes from `prediction_log_segments`, read in the query's own snapshot: the
 * compaction renames the `.parquet` into place before its name commits and removes the
 * `.ndjson` only a while after, so a query sees each row once, from one file or the other.
 */
export function predictionLogViewSql(logDir: string): string {
  const dir = logDir.replaceAll('\\', '/')
  return `CREATE OR REPLACE VIEW ${predictionLogView} AS
    SELECT ${columnNames} FROM read_parquet(${lit(`${dir}/*.parquet`)}, union_by_name = true, filename = '__file')
    WHERE parse_filename(__file, true) IN (SELECT name FROM ${compactedSegments})
    UNION ALL BY NAME
    SELECT ${selectColumns} FROM read_json(${lit(`${dir}/*.ndjson`)}, format = 'newline_delimited', columns = ${lineColumns},
      ignore_errors = true, filename = '__file')
    WHERE request_id IS NOT NULL AND time_us IS NOT NULL
      AND parse_filename(__file, true) NOT IN (SELECT name FROM ${compactedSegments})`
}

/** Makes the folder, its schema files and the view (every open: the folder's path may have moved). */
export async function ensurePredictionLogView(conn: DuckDBConnection, logDir: string): Promise<void> {
  fs.mkdirSync(logDir, { recursive: true })
  const parquet = path.join(logDir, `${schemaSegment}.parquet`)
  if (!fs.existsSync(parquet)) {
    const staged = `${parquet}.tmp`
    await conn.run(`COPY (SELECT ${columns.map(([name, type]) => `NULL::${type} AS ${name}`).join(', ')} WHERE false) TO ${lit(staged)} (FORMAT parquet)`)
    fs.renameSync(staged, parquet)
  }
  const ndjson = path.join(logDir, `${schemaSegment}.ndjson`)
  if (!fs.existsSync(ndjson)) fs.writeFileSync(ndjson, '')
  await conn.run(predictionLogViewSql(logDir))
}

export const monitorMigration002: MonitorMigration = {
  version: 2,
  name: 'serving: prediction log as rolling segment files behind a view',
  owner: 'serving',
  async up(conn, env) {
    fs.mkdirSync(env.logDir, { recursive: true })
    await conn.run(`CREATE TABLE ${compactedSegments} (name VARCHAR PRIMARY KEY, compacted_at TIMESTAMPTZ NOT NULL)`)
    const [old] = (
      await conn.runAndReadAll(`SELECT count(*)::INTEGER AS n FROM duckdb_tables() WHERE table_name = 'prediction_log' AND schema_name = 'main'`)
    ).getRowObjectsJS()
    if (Number(old!.n) > 0) {
      // The rows of the old table become the first segment. Staged then renamed, and skipped when a
      // previous attempt got that far, so a crash before the DROP commits never copies them twice.
      const name = '1-migrated'
      const target = path.join(env.logDir, `${name}.parquet`)
      if (!fs.existsSync(target)) {
        const staged = `${target}.tmp`
        await conn.run(
          `COPY (SELECT request_id, row_index, time, model, version, route, status, latency_ms, inputs, prediction, probabilities, NULL::VARCHAR[] AS out_of_range
           FROM prediction_log) TO ${lit(staged)} (FORMAT parquet, COMPRESSION zstd)`,
        )
        fs.renameSync(staged, target)
      }
      await conn.run(`INSERT INTO ${compactedSegments} VALUES ('${name}', now())`)
      await conn.run('DROP TABLE prediction_log')
    }
  },
}
