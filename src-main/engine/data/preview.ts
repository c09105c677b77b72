import fs from 'node:fs'
import fsp from 'node:fs/promises'
import path from 'node:path'
import { z } from 'zod'
import { LatheError } from '../api/common/errors.js'
import type { EngineContext } from '../context.js'
import { plainRows, withConnection } from './duck.js'
import { firstLine } from './rules.js'
import { literal, quoteIdent, quoteString } from './sql.js'
import type { VersionRecord } from './store.js'

export const PreviewFilter = z.object({
  column: z.string(),
  op: z.enum(['eq', 'ne', 'lt', 'le', 'gt', 'ge', 'contains', 'is_null', 'not_null']),
  value: z.union([z.string(), z.number(), z.boolean()]).optional(),
})
export type PreviewFilter = z.infer<typeof PreviewFilter>

const OPERATORS = { eq: '=', ne: '<>', lt: '<', le: '<=', gt: '>', ge: '>=' } as const

function filterSql(filter: PreviewFilter, index: number): string {
  const c = quoteIdent(filter.column)
  if (filter.op === 'is_null') return `${c} IS NULL`
  if (filter.op === 'not_null') return `${c} IS NOT NULL`
  if (filter.value === undefined) throw new LatheError('bad_request', `filter ${index + 1} (${filter.op}) needs a value`, { field: `filters.${index}.value` })
  if (filter.op === 'contains') return `contains(${c}::VARCHAR, ${quoteString(String(filter.value))})`
  return `${c} ${OPERATORS[filter.op]} ${literal(filter.value)}`
}

/**
 * One page of rows. Without a filter the total comes from the version's row count
 * and DuckDB reads only the row groups the page needs, so the first page of a
 * 10-million-row version is quick; a sort or filter scans the column it needs.
 */
export async function previewVersion(
  ctx: EngineContext,
  record: VersionRecord,
  request: { offset: number; limit: number; sort?: { column: string; descending: boolean }; filters: PreviewFilter[] },
) {
  const known = new Set(record.columns.map((c) => c.name))
  for (const [i, f] of request.filters.entries()) {
    if (!known.has(f.column))
      throw new LatheError('bad_request', `filter ${i + 1}: no column "${f.column}" in ${record.name}@${record.version}`, { field: `filters.${i}.column` })
  }
  if (request.sort && !known.has(request.sort.column)) {
    throw new LatheError('bad_request', `cannot sort by "${request.sort.column}": no such column in ${record.name}@${record.version}`, { field: 'sort.column' })
  }
  const source = `read_parquet(${quoteString(await ctx.workspace.objects.ensure(record.objectSha256))})`
  const where = request.filters.length ? `WHERE ${request.filters.map(filterSql).join(' AND ')}` : ''
  const order = request.sort ? `ORDER BY ${quoteIdent(request.sort.column)} ${request.sort.descending ? 'DESC' : 'ASC'} NULLS LAST` : ''
  return withConnection(ctx, async (connection) => {
    try {
      const rows = plainRows(await connection.runAndReadAll(`SELECT * FROM ${source} ${where} ${order} LIMIT ${request.limit} OFFSET ${request.offset}`))
      const total = where ? Number((await connection.runAndReadAll(`SELECT count(*) FROM ${source} ${where}`)).getRows()[0]![0]) : record.rows
      return { dataset: record.name, version: record.version, columns: record.columns, rows, offset: request.offset, total }
    } catch (error) {
      throw new LatheError('bad_request', `cannot preview with these filters: ${firstLine(error)}`, { field: 'filters' })
    }
  })
}

/** Writes a version to a file: to a temporary name beside it, then renamed, so a reader never sees half a file. */
export async function exportVersion(ctx: EngineContext, record: VersionRecord, target: string, format?: 'csv' | 'parquet') {
  const file = path.resolve(target)
  const chosen = format ?? (file.toLowerCase().endsWith('.parquet') ? 'parquet' : file.toLowerCase().endsWith('.csv') ? 'csv' : null)
  if (!chosen)
    throw new LatheError('bad_request', `cannot tell the export format of ${target}: end it in .csv or .parquet, or pass a format`, { field: 'path' })
  if (!fs.existsSync(path.dirname(file))) throw new LatheError('not_found', `folder ${path.dirname(file)} does not exist`, { field: 'path' })
  const object = await ctx.workspace.objects.ensure(record.objectSha256)
  const partial = `${file}.partial-${process.pid}`
  const options = chosen === 'csv' ? '(FORMAT csv, HEADER true)' : '(FORMAT parquet, COMPRESSION zstd)'
  try {
    await withConnection(ctx, (connection) => connection.run(`COPY (SELECT * FROM read_parquet(${quoteString(object)})) TO ${quoteString(partial)} ${options}`))
    await fsp.rename(partial, file)
  } catch (error) {
    await fsp.rm(partial, { force: true })
    throw error instanceof LatheError ? error : new LatheError('bad_request', `cannot write ${file}: ${firstLine(error)}`, { field: 'path' })
  }
  return { dataset: record.name, version: record.version, path: file, format: chosen, rows: record.rows }
}
