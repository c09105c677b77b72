/** Quoting for SQL that Lathe builds for DuckDB. Every name and path goes through these. */

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`
}

export function quoteString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`
}

export function readParquetSql(path: string): string {
  return `read_parquet(${quoteString(path)})`
}

/** A JS value as a DuckDB literal (for rule values and filters). */
export function literal(value: string | number | boolean | null): string {
  if (value === null) return 'NULL'
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE'
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`not a finite number: ${value}`)
    return String(value)
  }
  return quoteString(value)
}

// One rule for what a numeric column is, shared with training, drift and the UI.
export { isNumericType, isTemporalType } from '../api/common/column-types.js'
