/**
 * What kind of column a DuckDB type is, decided once for the profile, training, drift
 * and the UI. Numeric means a number that has a size: integers of any width, floats
 * and decimals. BOOLEAN is categorical everywhere (two categories, not 0 and 1): a
 * model one-hot encodes it and drift compares its categories with chi-square.
 *
 * Pure module: the renderer imports it too.
 */
const NUMERIC =
  /^(TINYINT|SMALLINT|INTEGER|INT\d*|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT\d*|REAL|DOUBLE|DECIMAL(\s*\(.*\))?|NUMERIC(\s*\(.*\))?)$/i

export function isNumericType(type: string): boolean {
  return NUMERIC.test(type.trim())
}

export function isTemporalType(type: string): boolean {
  return /^(DATE|TIME|TIMESTAMP.*|TIMESTAMP WITH TIME ZONE)$/i.test(type.trim())
}
