import { LatheError } from '../api/common/errors.js'
import { quoteIdent, quoteString } from './sql.js'
import type { SplitSpec } from './types.js'

const FRACTION_TOLERANCE = 1e-9

/** Throws a LatheError when a spec cannot be applied (fractions, missing column). */
export function checkSplitSpec(spec: SplitSpec, columns?: ReadonlyArray<{ name: string }>): void {
  const sum = spec.train + spec.validation + spec.test
  if (Math.abs(sum - 1) > FRACTION_TOLERANCE) {
    throw new LatheError('bad_request', `split fractions must add up to 1: train ${spec.train} + validation ${spec.validation} + test ${spec.test} = ${sum}`, {
      field: 'split',
    })
  }
  if ((spec.method === 'stratified' || spec.method === 'time') && !spec.column) {
    throw new LatheError('bad_request', `a ${spec.method} split needs a column (split.column)`, { field: 'split.column' })
  }
  if (spec.column && columns && !columns.some((c) => c.name === spec.column)) {
    throw new LatheError('bad_request', `split column "${spec.column}" is not a column of this dataset version`, {
      field: 'split.column',
    })
  }
}

/**
 * A DuckDB SELECT returning every column of the version plus `__row` (BIGINT, the
 * row number in the Parquet file) and `__split` ('train' | 'validation' | 'test'),
 * ordered by `__row`.
 *
 * Rows are ranked by an md5 of (seed, row number) rather than DuckDB's random() or
 * hash(): md5 is the same in every DuckDB release, so a split recorded with a run
 * can be recomputed exactly later. Ranking (not thresholding a hash) gives exact
 * fractions: part sizes are floor(fraction * n) within each stratum, the test part
 * taking the remainder. `time` orders by the column (ties by row number) so the
 * test part is the latest rows.
 */
export function splitSelectSql(spec: SplitSpec, parquetPath: string): string {
  checkSplitSpec(spec)
  const source = `(SELECT * EXCLUDE (file_row_number), file_row_number::BIGINT AS __row
    FROM read_parquet(${quoteString(parquetPath)}, file_row_number = true))`
  const shuffle = `md5_number(${quoteString(`${spec.seed}:`)} || __row::VARCHAR), __row`
  const partition = spec.method === 'stratified' ? `PARTITION BY ${quoteIdent(spec.column!)}` : ''
  const order = spec.method === 'time' ? `${quoteIdent(spec.column!)} NULLS FIRST, __row` : shuffle
  const trainEnd = `floor(${spec.train} * __n)`
  const validationEnd = `floor(${spec.train + spec.validation} * __n)`
  return `SELECT * EXCLUDE (__pos, __n),
    CASE WHEN __pos < ${trainEnd} THEN 'train' WHEN __pos < ${validationEnd} THEN 'validation' ELSE 'test' END AS __split
  FROM (
    SELECT *, row_number() OVER (${partition} ORDER BY ${order}) - 1 AS __pos, count(*) OVER (${partition}) AS __n
    FROM ${source}
  )
  ORDER BY __row`
}
