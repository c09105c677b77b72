/**
 * Which of a Parquet file's columns the counting threads read themselves (parquet.ts
 * decodes them), from DuckDB's own reading of the file's footer.
 */
import type { DuckDBConnection } from '@duckdb/node-api'
import { literal, queryRows } from '../monitorDb.js'
import type { ParquetChunk, ParquetColumn, ParquetPlan } from './parquet.js'

/**
 * A Snappy chunk at least this share of its raw size is mostly literals, which this reader
 * copies as bytes. One that compressed well is mostly short back references, about 2 a
 * value, and a JavaScript loop takes 10-30 ns each (measured), while DuckDB's native
 * decoder undoes them in its pass: such columns are left to DuckDB. Real-valued columns
 * (measurements, model inputs) barely compress; prices with two decimals, small integers
 * and the like do.
 */
export const MOSTLY_LITERAL = 0.9

const READABLE_ENCODINGS = new Set(['PLAIN', 'RLE', 'BIT_PACKED', 'PLAIN_DICTIONARY', 'RLE_DICTIONARY'])

/** Stored type and DuckDB's type for it, as `parquet_schema()` gives them: the plain numbers (no DECIMAL, DATE, TIMESTAMP or unsigned ones). */
const READABLE_TYPES: Record<string, ParquetChunk['physical'] | undefined> = {
  'DOUBLE DOUBLE': 'DOUBLE',
  'FLOAT FLOAT': 'FLOAT',
  'INT32 INTEGER': 'INT32',
  'INT32 SMALLINT': 'INT32',
  'INT32 TINYINT': 'INT32',
  'INT64 BIGINT': 'INT64',
}

/** A Parquet file's footer as DuckDB reads it: its schema, and every column chunk in row-group order. */
export interface ParquetLayout {
  schema: Array<{ name: string; type: string | null; duckdb_type: string | null; repetition_type: string | null; num_children: number | null }>
  chunks: Array<{
    file_name: string
    row_group_id: number
    row_group_num_rows: number
    path_in_schema: string
    type: string | null
    compression: string | null
    encodings: string | null
    num_values: number
    dictionary_page_offset: number | null
    data_page_offset: number
    total_compressed_size: number
    total_uncompressed_size: number
  }>
}

/** `parquet_schema()` and `parquet_metadata()` of the file: read once, then planned for each pass's columns. */
export async function readParquetLayout(conn: DuckDBConnection, file: string): Promise<ParquetLayout> {
  const at = literal(file)
  const schema = await queryRows<ParquetLayout['schema'][number]>(
    conn,
    `SELECT name, type, duckdb_type, repetition_type, num_children FROM parquet_schema(${at})`,
  )
  const chunks = await queryRows<ParquetLayout['chunks'][number]>(
    conn,
    `SELECT file_name, row_group_id, row_group_num_rows, path_in_schema, type, compression, encodings, num_values, dictionary_page_offset, data_page_offset, total_compressed_size,
            total_uncompressed_size
     FROM parquet_metadata(${at}) ORDER BY row_group_id, column_id`,
  )
  return { schema, chunks }
}

/**
 * Which asked columns this reader takes, with their chunks: flat OPTIONAL columns of
 * DOUBLE, FLOAT or plain integers, stored in every row group uncompressed or in Snappy
 * that found little to compress (`mostlyLiteral`), in the encodings it decodes. Null when it
 * takes none.
 */
export function planParquet(
  { schema, chunks }: ParquetLayout,
  columns: string[],
  { mostlyLiteral = MOSTLY_LITERAL }: { mostlyLiteral?: number } = {},
): ParquetPlan | null {
  if (columns.length === 0) return null
  const files = [...new Set(chunks.map((c) => c.file_name))]
  if (files.length !== 1) return null
  const groups = new Set(chunks.map((c) => Number(c.row_group_id))).size
  const column = (name: string): ParquetColumn | null => {
    const element = schema.filter((s) => s.name === name)
    if (element.length !== 1) return null
    const { type, duckdb_type, repetition_type, num_children } = element[0]!
    const physical = READABLE_TYPES[`${type} ${duckdb_type}`]
    if (!physical || num_children !== null || repetition_type !== 'OPTIONAL') return null
    const own = chunks.filter((c) => c.path_in_schema === name)
    if (own.length !== groups) return null
    const out: ParquetColumn = { name, chunks: [] }
    for (const c of own) {
      const encodings = (c.encodings ?? '').split(/[,\s]+/).filter(Boolean)
      if (c.type !== physical || (c.compression !== 'UNCOMPRESSED' && c.compression !== 'SNAPPY')) return null
      if (encodings.length === 0 || !encodings.every((e) => READABLE_ENCODINGS.has(e))) return null
      if (Number(c.num_values) !== Number(c.row_group_num_rows)) return null
      if (c.compression === 'SNAPPY' && Number(c.total_compressed_size) < mostlyLiteral * Number(c.total_uncompressed_size)) return null
      const data = Number(c.data_page_offset)
      const dictionary = c.dictionary_page_offset === null ? null : Number(c.dictionary_page_offset)
      const offset = dictionary !== null && dictionary > 0 && dictionary < data ? dictionary : data
      out.chunks.push({ offset, length: Number(c.total_compressed_size), values: Number(c.num_values), codec: c.compression, physical })
    }
    return out
  }
  const plan: ParquetPlan = { file: files[0]!, columns: columns.map(column) }
  return plan.columns.some((c) => c !== null) ? plan : null
}
