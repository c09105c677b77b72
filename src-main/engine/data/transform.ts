import { createHash } from 'node:crypto'
import fsp from 'node:fs/promises'
import type { DuckDBConnection, StatementType } from '@duckdb/node-api'
import { LatheError } from '../api/common/errors.js'
import type { EngineContext } from '../context.js'
import { commitStagedVersion } from './commit-version.js'
import { runWithProgress, withConnection } from './duck.js'
import { checkDatasetName } from './import-options.js'
import { firstLine } from './rules.js'
import { findVersionRecord } from './resolve.js'
import { quoteString } from './sql.js'
import { findVersionBySource, type VersionRecord } from './store.js'
import type { EventPayloadMap } from '../api/index.js'

/** `name@3` or `name@latest` in a transform's SQL. */
const VERSION_REF = /\b([A-Za-z0-9][A-Za-z0-9_.-]*)@(\d+|latest)\b/g

/**
 * Rewrites every `name@V` into a read_parquet of that version's object and returns
 * the versions referenced (the lineage parents). A string literal that happens to
 * contain `word@digits` is rewritten too: quote such text differently.
 */
export function resolveVersionRefs(ctx: EngineContext, sql: string): { sql: string; parents: VersionRecord[] } {
  const parents = new Map<string, VersionRecord>()
  const resolved = sql.replace(VERSION_REF, (ref: string) => {
    const record = findVersionRecord(ctx, ref)
    parents.set(record.id, record)
    return `read_parquet(${quoteString(ctx.workspace.objects.pathOf(record.objectSha256))})`
  })
  return { sql: resolved, parents: [...parents.values()] }
}

/** Refuses anything but one SELECT; DuckDB's own parser decides what a statement is. */
export async function checkSelectOnly(connection: DuckDBConnection, sql: string): Promise<void> {
  let count: number
  try {
    count = (await connection.extractStatements(sql)).count
  } catch (error) {
    throw new LatheError('bad_request', `the transform SQL does not parse: ${firstLine(error)}`, { field: 'sql' })
  }
  if (count !== 1) {
    throw new LatheError('bad_request', `a transform is exactly one SELECT statement; this SQL has ${count}`, { field: 'sql' })
  }
  let type: StatementType
  try {
    type = (await connection.prepare(sql)).statementType
  } catch (error) {
    throw new LatheError('bad_request', `the transform SQL is not valid: ${firstLine(error)}`, { field: 'sql' })
  }
  const { StatementType: statementTypes } = await import('@duckdb/node-api')
  if (type !== statementTypes.SELECT) {
    throw new LatheError('bad_request', `only SELECT is allowed in a transform; this is a ${statementTypes[type]} statement`, {
      field: 'sql',
    })
  }
}

export async function runTransform(ctx: EngineContext, name: string, sql: string): Promise<{ record: VersionRecord; created: boolean }> {
  checkDatasetName(name)
  const { sql: resolved, parents } = resolveVersionRefs(ctx, sql.trim().replace(/;\s*$/, ''))
  if (parents.length === 0) {
    throw new LatheError('bad_request', 'a transform reads at least one dataset version: refer to it as name@V (or name@latest)', {
      field: 'sql',
    })
  }
  const sourceSha256 = createHash('sha256').update(resolved).digest('hex')
  const optionsKey = JSON.stringify({ transform: parents.map((p) => p.id).sort() })
  const existing = findVersionBySource(ctx.workspace.db, name, sourceSha256, optionsKey)
  if (existing) return { record: existing, created: false }

  const progress = (phase: EventPayloadMap['data.import.progress']['phase'], fraction: number) =>
    ctx.events.emit('data.import.progress', { dataset: name, phase, fraction })
  const staged = ctx.workspace.objects.stagingPath('.parquet')
  try {
    return await withConnection(ctx, async (connection) => {
      await checkSelectOnly(connection, resolved)
      progress('converting', 0)
      await runWithProgress(connection, `COPY (${resolved}) TO ${quoteString(staged)} (FORMAT parquet)`, (f) => progress('converting', 0.9 * f)).catch(
        (error) => {
          throw new LatheError('bad_request', `the transform failed in DuckDB: ${firstLine(error)}`, { field: 'sql' })
        },
      )
      const result = await commitStagedVersion(
        ctx,
        connection,
        staged,
        {
          datasetName: name,
          origin: 'transform',
          sourceName: 'sql',
          sourceSha256,
          optionsKey,
          options: { sql, parents: parents.map((p) => `${p.name}@${p.version}`) },
          parents: parents.map((p) => p.id),
        },
        (phase) => progress(phase, phase === 'validating' ? 0.9 : 0.97),
      )
      progress('done', 1)
      return result
    })
  } finally {
    await fsp.rm(staged, { force: true })
  }
}
