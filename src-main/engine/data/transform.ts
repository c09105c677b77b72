import { createHash } from 'node:crypto'
import fsp from 'node:fs/promises'
import type { DuckDBConnection, StatementType } from '@duckdb/node-api'
import { LatheError } from '../api/common/errors.js'
import type { EngineContext } from '../context.js'
import { commitStagedVersion } from './commit-version.js'
import { plainRows, runWithProgress, withConnection } from './duck.js'
import { checkDatasetName } from './import-options.js'
import { firstLine } from './rules.js'
import { findVersionRecord } from './resolve.js'
import { quoteString } from './sql.js'
import { findVersionBySource, type VersionRecord } from './store.js'
import type { EventPayloadMap } from '../api/index.js'

/** `name@3` or `name@latest` in a transform's SQL. */
const VERSION_REF = /\b([A-Za-z0-9][A-Za-z0-9_.-]*)@(\d+|latest)\b/g

/** Where a `name@V` stood in the SQL a person wrote, and what it became. */
interface Rewrite {
  /** Offset in the original SQL. */
  at: number
  length: number
  /** Offset of the replacement in the rewritten SQL. */
  newAt: number
  newLength: number
}

/**
 * Rewrites every `name@V` into a read_parquet of that version's object and returns
 * the versions referenced (the lineage parents). A string literal that happens to
 * contain `word@digits` is rewritten too: quote such text differently.
 */
export function resolveVersionRefs(ctx: EngineContext, sql: string): { sql: string; parents: VersionRecord[]; rewrites: Rewrite[] } {
  const parents = new Map<string, VersionRecord>()
  const rewrites: Rewrite[] = []
  let shift = 0
  const resolved = sql.replace(VERSION_REF, (ref: string, _name: string, _v: string, offset: number) => {
    const record = findVersionRecord(ctx, ref)
    parents.set(record.id, record)
    const replacement = `read_parquet(${quoteString(ctx.workspace.objects.pathOf(record.objectSha256))})`
    rewrites.push({ at: offset, length: ref.length, newAt: offset + shift, newLength: replacement.length })
    shift += replacement.length - ref.length
    return replacement
  })
  return { sql: resolved, parents: [...parents.values()], rewrites }
}

/** An offset in the rewritten SQL, as an offset in the SQL the person wrote. */
function originalOffset(offset: number, rewrites: Rewrite[]): number {
  let shift = 0
  for (const r of rewrites) {
    if (offset < r.newAt) break
    if (offset < r.newAt + r.newLength) return r.at
    shift = r.newAt + r.newLength - (r.at + r.length)
  }
  return offset - shift
}

/**
 * DuckDB's error for the rewritten SQL, said about the SQL the person wrote: its first
 * line with the objects' paths put back as `name@V`, and the line and column DuckDB's
 * caret points at (DuckDB shows a window of the line around the error).
 */
export function transformSqlError(
  prefix: string,
  error: unknown,
  sql: { original: string; resolved: string; rewrites: Rewrite[]; paths: Map<string, string> },
): LatheError {
  const { original, resolved, rewrites, paths } = sql
  const message = error instanceof Error ? error.message : String(error)
  let first = firstLine(error).replace(/^Failed to extract statements: /, '')
  first = scrubPaths(first, paths)
  const position = caretOffset(message, resolved)
  if (position === null) return new LatheError('bad_request', `${prefix}: ${first}`, { field: 'sql' })
  const at = originalOffset(position, rewrites)
  // DuckDB names the token it stopped at: when that is a rewritten reference, the person wrote `name@V`.
  const ref = rewrites.find((r) => r.at === at)
  if (ref) first = first.replace('"read_parquet"', `"${original.slice(ref.at, ref.at + ref.length)}"`)
  const before = original.slice(0, at).split('\n')
  const line = before.length
  const column = before.at(-1)!.length + 1
  return new LatheError('bad_request', `${prefix} at line ${line}, column ${column}: ${first}`, { field: 'sql', line, details: { line, column, offset: at } })
}

/** An object's path in DuckDB's words becomes the reference the person wrote (`paths`: path -> name@V). */
function scrubPaths(text: string, paths: Map<string, string>): string {
  let out = text
  for (const [file, ref] of paths) out = out.replaceAll(`read_parquet(${quoteString(file)})`, ref).replaceAll(file, ref)
  return out
}

/** The offset in `sql` of DuckDB's `LINE n: ...` caret, or null when the message has none. */
function caretOffset(message: string, sql: string): number | null {
  const lines = message.split('\n')
  const at = lines.findIndex((l) => /^LINE \d+: /.test(l))
  if (at < 0 || !lines[at + 1]?.includes('^')) return null
  const header = lines[at]!.match(/^(LINE (\d+): )/)!
  const lineNo = Number(header[2])
  let excerpt = lines[at]!.slice(header[1]!.length)
  let caret = lines[at + 1]!.indexOf('^') - header[1]!.length
  if (excerpt.startsWith('...')) {
    excerpt = excerpt.slice(3)
    caret -= 3
  }
  excerpt = excerpt.replace(/\.\.\.$/, '')
  const sqlLines = sql.split('\n')
  const lineStart = sqlLines.slice(0, lineNo - 1).reduce((n, l) => n + l.length + 1, 0)
  const within = (sqlLines[lineNo - 1] ?? '').indexOf(excerpt)
  if (within < 0 || caret < 0) return null
  return lineStart + within + caret
}

/** Refuses anything but one SELECT; DuckDB's own parser decides what a statement is. */
export async function checkSelectOnly(
  connection: DuckDBConnection,
  sql: string,
  explain: (prefix: string, error: unknown) => LatheError = plainError,
): Promise<void> {
  let count: number
  try {
    count = (await connection.extractStatements(sql)).count
  } catch (error) {
    throw explain('the transform SQL does not parse', error)
  }
  if (count !== 1) {
    throw new LatheError('bad_request', `a transform is exactly one SELECT statement; this SQL has ${count}`, { field: 'sql' })
  }
  let type: StatementType
  try {
    type = (await connection.prepare(sql)).statementType
  } catch (error) {
    throw explain('the transform SQL is not valid', error)
  }
  const { StatementType: statementTypes } = await import('@duckdb/node-api')
  if (type !== statementTypes.SELECT) {
    throw new LatheError('bad_request', `only SELECT is allowed in a transform; this is a ${statementTypes[type]} statement`, {
      field: 'sql',
    })
  }
}

function plainError(prefix: string, error: unknown): LatheError {
  return new LatheError('bad_request', `${prefix}: ${firstLine(error)}`, { field: 'sql' })
}

/**
 * The rewritten SQL of a transform and how to explain its errors in the person's terms. The
 * versions it reads are fetched first when a pull brought only their records (blobs on first use).
 */
async function prepareTransform(ctx: EngineContext, sql: string) {
  const original = sql.trim().replace(/;\s*$/, '')
  const { sql: resolved, parents, rewrites } = resolveVersionRefs(ctx, original)
  if (parents.length === 0) {
    throw new LatheError('bad_request', 'a transform reads at least one dataset version: refer to it as name@V (or name@latest)', {
      field: 'sql',
    })
  }
  for (const parent of parents) await ctx.workspace.objects.ensure(parent.objectSha256)
  const paths = new Map(parents.map((p) => [ctx.workspace.objects.pathOf(p.objectSha256), `${p.name}@${p.version}`]))
  const explain = (prefix: string, error: unknown) => transformSqlError(prefix, error, { original, resolved, rewrites, paths })
  return { resolved, parents, explain }
}

/**
 * The first rows and the schema a transform would give, without saving anything: what
 * the SQL editor shows before "Save as new version".
 */
export async function previewTransform(ctx: EngineContext, sql: string, limit: number) {
  const { resolved, parents, explain } = await prepareTransform(ctx, sql)
  return withConnection(ctx, async (connection) => {
    await checkSelectOnly(connection, resolved, explain)
    try {
      const described = plainRows(await connection.runAndReadAll(`DESCRIBE (${resolved})`))
      const rows = plainRows(await connection.runAndReadAll(`SELECT * FROM (${resolved}) LIMIT ${limit}`))
      return {
        columns: described.map((r) => ({ name: String(r.column_name), type: String(r.column_type) })),
        rows,
        parents: parents.map((p) => `${p.name}@${p.version}`),
      }
    } catch (error) {
      throw explain('the transform failed in DuckDB', error)
    }
  })
}

export async function runTransform(ctx: EngineContext, name: string, sql: string): Promise<{ record: VersionRecord; created: boolean }> {
  checkDatasetName(name)
  const { resolved, parents, explain } = await prepareTransform(ctx, sql)
  const sourceSha256 = createHash('sha256').update(resolved).digest('hex')
  const optionsKey = JSON.stringify({ transform: parents.map((p) => p.id).sort() })
  const existing = findVersionBySource(ctx.workspace.db, name, sourceSha256, optionsKey)
  if (existing) return { record: existing, created: false }

  const progress = (phase: EventPayloadMap['data.import.progress']['phase'], fraction: number) =>
    ctx.events.emit('data.import.progress', { dataset: name, phase, fraction })
  const staged = ctx.workspace.objects.stagingPath('.parquet')
  try {
    return await withConnection(ctx, async (connection) => {
      await checkSelectOnly(connection, resolved, explain)
      progress('converting', 0)
      await runWithProgress(connection, `COPY (${resolved}) TO ${quoteString(staged)} (FORMAT parquet)`, (f) => progress('converting', 0.9 * f)).catch(
        (error) => {
          throw explain('the transform failed in DuckDB', error)
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
