import fsp from 'node:fs/promises'
import type { DuckDBConnection } from '@duckdb/node-api'
import { LatheError } from '../api/common/errors.js'
import type { EngineContext } from '../context.js'
import { plainRows } from './duck.js'
import { checkRules, parquetRelation, summarize, ValidationRule } from './rules.js'
import { quoteString } from './sql.js'
import { findDataset, insertVersion, objectInUse, type ColumnInfo, type NewVersion, type VersionRecord } from './store.js'

export async function describeParquet(connection: DuckDBConnection, file: string): Promise<{ rows: number; columns: ColumnInfo[] }> {
  const columns = plainRows(await connection.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${quoteString(file)})`)).map((r) => ({
    name: String(r.column_name),
    type: String(r.column_type),
  }))
  const rows = Number((await connection.runAndReadAll(`SELECT count(*) FROM read_parquet(${quoteString(file)})`)).getRows()[0]![0])
  return { rows, columns }
}

/**
 * The common end of an import and a transform: a Parquet file written to staging
 * is described, checked against the dataset's rules, moved into the object store and
 * recorded as the dataset's next version. The object moves in before the row lands;
 * if the row cannot land, an object no version uses is removed again, so a failure
 * leaves neither an orphan file nor a half row.
 */
export async function commitStagedVersion(
  ctx: EngineContext,
  connection: DuckDBConnection,
  staged: string,
  meta: Omit<NewVersion, 'objectSha256' | 'bytes' | 'rows' | 'columns' | 'validation'>,
  onPhase: (phase: 'validating' | 'storing') => void,
): Promise<{ record: VersionRecord; created: boolean }> {
  const { rows, columns } = await describeParquet(connection, staged)
  if (columns.length === 0) throw new LatheError('bad_request', `${meta.sourceName} has no columns`, { field: 'path' })
  onPhase('validating')
  const dataset = findDataset(ctx.workspace.db, meta.datasetName)
  const rules = (dataset?.rules ?? []).map((r) => ValidationRule.parse(r))
  const validation = summarize(await checkRules(connection, parquetRelation(staged), columns, rows, rules))

  onPhase('storing')
  const { sha256, bytes } = await ctx.workspace.objects.commit(staged)
  try {
    const result = insertVersion(ctx.workspace.db, ctx.actor, { ...meta, objectSha256: sha256, bytes, rows, columns, validation })
    // An identical import that finished first wins; this one's object goes if unused.
    if (!result.created && !objectInUse(ctx.workspace.db, sha256)) await fsp.rm(ctx.workspace.objects.pathOf(sha256), { force: true })
    return result
  } catch (error) {
    // Content addressing makes it practically certain that no one else holds these
    // exact Parquet bytes, so an object no dataset version uses is this import's own.
    if (!objectInUse(ctx.workspace.db, sha256)) await fsp.rm(ctx.workspace.objects.pathOf(sha256), { force: true })
    throw error
  }
}
