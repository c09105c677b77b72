import fsp from 'node:fs/promises'
import path from 'node:path'
import type { DuckDBConnection } from '@duckdb/node-api'
import { LatheError } from '../api/common/errors.js'
import type { EngineContext } from '../context.js'
import { hashFile } from '../workspace/index.js'
import { plainRows, runWithProgress, withConnection } from './duck.js'
import {
  checkDatasetName,
  checkTypeOverrides,
  formatFromContent,
  formatFromFileName,
  optionsKeyOf,
  type ImportFormat,
  type ImportOptions,
} from './import-options.js'
import { commitStagedVersion } from './commit-version.js'
import { quoteIdent, quoteString } from './sql.js'
import { findVersionBySource, type ColumnInfo, type VersionRecord } from './store.js'

export type ImportPhase = 'hashing' | 'reading' | 'converting' | 'validating' | 'storing' | 'done'

export interface ImportResult {
  record: VersionRecord
  created: boolean
}

const SNIFF_BYTES = 64 * 1024
const DELIMITER_CANDIDATES = [',', '\t', ';', '|']

/**
 * Imports a file as a new version of dataset `name`: DuckDB reads it with its own
 * reader and writes a Parquet file to staging; the rules of the dataset are checked
 * on that file; only then does it move into the object store and the version row
 * land, in one transaction. Any failure before that leaves the workspace as it was.
 */
export async function importDatasetFile(
  ctx: EngineContext,
  request: { name: string; file: string; sourceName: string; options: ImportOptions },
): Promise<ImportResult> {
  const name = checkDatasetName(request.name)
  const { file, sourceName, options } = request
  const progress = (phase: ImportPhase, fraction: number) =>
    ctx.events.emit('data.import.progress', { dataset: name, phase, fraction: Math.max(0, Math.min(1, fraction)) })

  const stat = await fsp.stat(file).catch(() => null)
  if (!stat) throw new LatheError('not_found', `file ${file} does not exist`, { field: 'path' })
  if (!stat.isFile()) throw new LatheError('bad_request', `${file} is not a file`, { field: 'path' })
  if (stat.size === 0) throw new LatheError('bad_request', `${sourceName} is empty: there is nothing to import`, { field: 'path' })
  const head = await readHead(file)
  const format = options.format ?? formatFromFileName(sourceName) ?? formatFromContent(head)
  checkContentLooksLike(format, head, sourceName, options)
  const types = checkTypeOverrides(options.types)

  progress('hashing', 0)
  // Hashing the source and converting it run side by side: a re-import of the
  // same bytes is rare, so the conversion is not held up waiting for the hash; when
  // the hash does find an identical import, the conversion is interrupted.
  const hashing = hashFile(file)
  hashing.catch(() => {})
  const optionsKey = optionsKeyOf(format, options, types)
  const staged = ctx.workspace.objects.stagingPath('.parquet')
  try {
    const result = await withConnection(ctx, async (connection) => {
      progress('reading', 0.05)
      const reader = await readerSql(connection, file, sourceName, format, options, types)
      const converting = runWithProgress(connection, `COPY (SELECT * FROM ${reader}) TO ${quoteString(staged)} (FORMAT parquet)`, (f) =>
        progress('converting', 0.05 + 0.85 * f),
      )
      converting.catch(() => {})
      const sourceSha256 = await hashing
      const existing = findVersionBySource(ctx.workspace.db, name, sourceSha256, optionsKey)
      if (existing) {
        connection.interrupt()
        await converting.catch(() => {})
        return { record: existing, created: false }
      }
      await converting.catch((error) => {
        throw importError(error, sourceName)
      })
      const meta = {
        datasetName: name,
        origin: 'file' as const,
        sourceName,
        sourceSha256,
        optionsKey,
        options: { ...options, format, types },
        parents: [],
      }
      return commitStagedVersion(ctx, connection, staged, meta, (phase) => progress(phase, phase === 'validating' ? 0.9 : 0.97))
    })
    progress('done', 1)
    return result
  } finally {
    await fsp.rm(staged, { force: true })
  }
}

async function readHead(file: string): Promise<Buffer> {
  const handle = await fsp.open(file, 'r')
  try {
    const buffer = Buffer.alloc(SNIFF_BYTES)
    const { bytesRead } = await handle.read(buffer, 0, SNIFF_BYTES, 0)
    return buffer.subarray(0, bytesRead)
  } finally {
    await handle.close()
  }
}

function checkContentLooksLike(format: ImportFormat, head: Buffer, sourceName: string, options: ImportOptions): void {
  if (format === 'parquet') {
    if (head.subarray(0, 4).toString('latin1') !== 'PAR1') {
      throw new LatheError('bad_request', `${sourceName} is not a Parquet file (it does not start with the PAR1 marker)`, { field: 'path' })
    }
    return
  }
  // UTF-16 text is full of zero bytes; any other text is not.
  if (options.encoding !== 'utf-16' && head.includes(0)) {
    throw new LatheError('bad_request', `${sourceName} looks like a binary file (it contains zero bytes), not ${format.toUpperCase()} text`, {
      field: 'path',
    })
  }
  if (head.toString('utf8').trim() === '') {
    throw new LatheError('bad_request', `${sourceName} contains only whitespace: there is nothing to import`, { field: 'path' })
  }
}

/** The DuckDB table function call that reads the file, with type overrides applied. */
async function readerSql(
  connection: DuckDBConnection,
  file: string,
  sourceName: string,
  format: ImportFormat,
  options: ImportOptions,
  types: Record<string, string>,
): Promise<string> {
  const f = quoteString(file)
  let reader: string
  if (format === 'parquet') {
    reader = `read_parquet(${f})`
  } else if (format === 'json' || format === 'ndjson') {
    const jsonFormat = format === 'ndjson' ? 'newline_delimited' : 'auto'
    reader = `read_json(${f}, format = ${quoteString(jsonFormat)}, records = true)`
  } else {
    // The CSV path checks its overrides against the sniffed columns already.
    return csvReaderSql(connection, file, sourceName, format, options, types)
  }
  checkOverridesExist(types, await describeRelation(connection, reader, sourceName), sourceName)
  if (Object.keys(types).length === 0) return reader
  // JSON and Parquet readers take no per-column types, so overrides are casts.
  const casts = Object.entries(types).map(([c, t]) => `CAST(${quoteIdent(c)} AS ${t}) AS ${quoteIdent(c)}`)
  return `(SELECT * REPLACE (${casts.join(', ')}) FROM ${reader})`
}

function checkOverridesExist(types: Record<string, string>, columns: Array<{ name: string }>, sourceName: string): void {
  for (const column of Object.keys(types)) {
    if (!columns.some((c) => c.name === column)) {
      throw new LatheError(
        'bad_request',
        `--type names column "${column}", which ${sourceName} does not have (its columns: ${columns.map((c) => c.name).join(', ')})`,
        { field: `types.${column}` },
      )
    }
  }
}

async function csvReaderSql(
  connection: DuckDBConnection,
  file: string,
  sourceName: string,
  format: 'csv' | 'tsv',
  options: ImportOptions,
  types: Record<string, string>,
): Promise<string> {
  const delimiter = options.delimiter ?? (format === 'tsv' ? '\t' : undefined)
  // A standard double quote unless told otherwise: DuckDB's sniffer otherwise
  // settles for "no quoting" on a file with a broken quote and imports it garbled.
  const dialect: string[] = [`quote = ${quoteString(options.quote ?? '"')}`, `escape = ${quoteString(options.escape ?? options.quote ?? '"')}`]
  if (delimiter) dialect.push(`delim = ${quoteString(delimiter)}`)
  if (options.header !== undefined) dialect.push(`header = ${options.header}`)
  if (options.encoding) dialect.push(`encoding = ${quoteString(options.encoding)}`)
  const f = quoteString(file)
  const sniffed = await connection
    .runAndReadAll(`SELECT Delimiter, HasHeader, Columns FROM sniff_csv(${f}, ${dialect.join(', ')})`)
    .then((r) => plainRows(r)[0]!)
    .catch(async (error) => {
      await diagnoseCsv(connection, file, sourceName, delimiter, options)
      throw importError(error, sourceName)
    })
  const sniffedColumns = sniffed.Columns as Array<{ name: string }>
  // The sniffer settles on whatever layout most of its sample fits: one column when
  // rows disagree, or as many columns as the widest row. When that does not match the
  // first line, read the file strictly with the first line's layout to get DuckDB's
  // error with its line number (ragged rows, a broken quote).
  const firstLine = (await readHead(file)).toString('utf8').split(/\r?\n/)[0] ?? ''
  const quote = options.quote ?? '"'
  const delim = delimiter ?? (sniffedColumns.length > 1 ? String(sniffed.Delimiter) : DELIMITER_CANDIDATES.find((d) => firstLine.includes(d)))
  if (delim && countFields(firstLine, delim, quote) !== sniffedColumns.length) {
    await diagnoseCsv(connection, file, sourceName, delim, options)
  }
  checkOverridesExist(types, sniffedColumns, sourceName)
  const parts = [...dialect, 'strict_mode = true']
  if (Object.keys(types).length) {
    parts.push(
      `types = {${Object.entries(types)
        .map(([c, t]) => `${quoteString(c)}: ${quoteString(t)}`)
        .join(', ')}}`,
    )
  }
  return `read_csv(${f}, ${parts.join(', ')})`
}

async function diagnoseCsv(
  connection: DuckDBConnection,
  file: string,
  sourceName: string,
  delimiter: string | undefined,
  options: ImportOptions,
): Promise<void> {
  const firstLine = (await readHead(file)).toString('utf8').split(/\r?\n/)[0] ?? ''
  const delim = delimiter ?? DELIMITER_CANDIDATES.find((d) => firstLine.includes(d))
  if (!delim) return
  const quote = options.quote ?? '"'
  const width = countFields(firstLine, delim, quote)
  const columns = Array.from({ length: width }, (_, i) => `${quoteString(`c${i}`)}: 'VARCHAR'`).join(', ')
  const sql = `SELECT count(*) FROM read_csv(${quoteString(file)}, auto_detect = false, delim = ${quoteString(delim)},
    quote = ${quoteString(quote)}, escape = ${quoteString(options.escape ?? quote)}, header = ${options.header ?? true},
    columns = {${columns}}, strict_mode = true, null_padding = false${options.encoding ? `, encoding = ${quoteString(options.encoding)}` : ''})`
  try {
    await connection.runAndReadAll(sql)
  } catch (error) {
    throw importError(error, sourceName)
  }
}

/** Fields in one CSV line, honouring quotes (only the first line is ever counted). */
function countFields(line: string, delimiter: string, quote: string): number {
  let fields = 1
  let quoted = false
  for (let i = 0; i < line.length; i++) {
    if (line[i] === quote) quoted = !quoted
    else if (!quoted && line.startsWith(delimiter, i)) {
      fields++
      i += delimiter.length - 1
    }
  }
  return fields
}

async function describeRelation(connection: DuckDBConnection, reader: string, sourceName: string): Promise<ColumnInfo[]> {
  try {
    const rows = plainRows(await connection.runAndReadAll(`DESCRIBE SELECT * FROM ${reader}`))
    return rows.map((r) => ({ name: String(r.column_name), type: String(r.column_type) }))
  } catch (error) {
    throw importError(error, sourceName)
  }
}

/** DuckDB's reader errors, turned into one sentence that says what and where. */
export function importError(error: unknown, sourceName: string): LatheError {
  if (error instanceof LatheError) return error
  const message = error instanceof Error ? error.message : String(error)
  const lineMatch = /\bLine:\s*(\d+)/i.exec(message)
  const line = lineMatch ? Number(lineMatch[1]) : undefined
  const at = line !== undefined ? ` at line ${line}` : ''
  let reason: string
  if (/Expected Number of Columns:\s*(\d+)\s*Found:\s*(\d+)/i.test(message)) {
    const [, expected, found] = /Expected Number of Columns:\s*(\d+)\s*Found:\s*(\d+)/i.exec(message)!
    reason = `a row has ${found} fields where the header has ${expected}${at}`
  } else if (/unterminated quote/i.test(message)) {
    reason = `a quoted value is never closed${at}`
  } else if (/Invalid unicode|not utf-8/i.test(message)) {
    reason = `the text is not valid UTF-8${at} (pass encoding latin-1 or utf-16 if that is what the file is)`
  } else if (/expected records|non-record JSON/i.test(message)) {
    reason = 'the JSON is not records: expected an array of objects, or one object per line'
  } else if (/Malformed JSON|JSON parse error|Invalid Input Error: .*JSON/i.test(message)) {
    reason = `the JSON is malformed${at}: ${message.split('\n')[0]!.replace(/^[\w ]+Error:\s*/, '')}`
  } else if (/not possible to automatically detect the CSV/i.test(message)) {
    reason = 'its rows do not share one CSV layout (different numbers of fields or unbalanced quotes); set --delimiter or fix the file'
  } else if (/Could not convert|Conversion Error/i.test(message)) {
    reason = `a value does not fit its column type${at}: ${
      message
        .split('\n')
        .find((l) => /convert/i.test(l))
        ?.trim() ?? ''
    }`
  } else {
    reason = message.split('\n')[0]!.replace(/^[\w ]+Error:\s*/, '')
  }
  return new LatheError('bad_request', `cannot import ${path.basename(sourceName)}: ${reason}`, { field: 'path', line })
}
