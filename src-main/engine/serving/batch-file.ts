import path from 'node:path'
import fs from 'node:fs/promises'
import { LatheError } from '../api/common/errors.js'
import type { ModelSignature } from '../api/common/signature.js'
import type { EngineContext } from '../context.js'

/** The most rows `lathe predict` scores from one file; past it, split the file. */
export const MAX_BATCH_FILE_ROWS = 1_000_000

const readers: Record<string, string> = {
  '.csv': 'read_csv_auto',
  '.tsv': 'read_csv_auto',
  '.json': 'read_json_auto',
  '.ndjson': 'read_json_auto',
  '.jsonl': 'read_json_auto',
}

/**
 * Rows for `lathe predict M FILE`: DuckDB reads the file (the same reader the data
 * import uses), and categorical columns are given back as text, since a CSV cannot
 * say that "02134" is a category and not a number.
 */
export async function readPredictionFile(ctx: EngineContext, file: string, signature: ModelSignature): Promise<Array<Record<string, unknown>>> {
  if (!path.isAbsolute(file)) throw new LatheError('bad_request', `give the file as an absolute path (got ${file})`, { field: 'file' })
  const reader = readers[path.extname(file).toLowerCase()]
  if (!reader) throw new LatheError('bad_request', `cannot read ${file}: use a .csv, .tsv, .json or .ndjson file`, { field: 'file' })
  try {
    await fs.access(file)
  } catch {
    throw new LatheError('not_found', `no file at ${file}`, { field: 'file' })
  }
  const conn = await ctx.workspace.monitor()
  let rows: Array<Record<string, unknown>>
  try {
    const result = await conn.runAndReadAll(`SELECT * FROM ${reader}(?) LIMIT ${MAX_BATCH_FILE_ROWS + 1}`, [file])
    rows = result.getRowObjectsJS() as Array<Record<string, unknown>>
  } catch (error) {
    throw new LatheError('bad_request', `cannot read ${file}: ${(error as Error).message}`, { field: 'file' })
  }
  if (rows.length > MAX_BATCH_FILE_ROWS) throw new LatheError('too_large', `${file} has more than ${MAX_BATCH_FILE_ROWS} rows; split it`, { field: 'file' })
  // A scoring file often still holds the target or an id: only the model's own columns go in.
  const wanted = signature.columns ? new Set(signature.columns.map((c) => c.name)) : null
  const categorical = new Set(signature.columns?.filter((c) => c.kind === 'categorical').map((c) => c.name) ?? [])
  return rows.map((row) => {
    const out: Record<string, unknown> = {}
    for (const [key, value] of Object.entries(row)) {
      if (wanted && !wanted.has(key)) continue
      if (value === null || value === undefined) out[key] = null
      else if (categorical.has(key)) out[key] = String(value)
      else if (typeof value === 'bigint') out[key] = Number(value)
      else out[key] = value
    }
    return out
  })
}
