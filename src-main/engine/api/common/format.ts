/**
 * How numbers and times read in the CLI and the UI alike. Pure module: the renderer
 * imports it too.
 */

/** A statistic or metric: four decimals in the readable range, else two significant digits in exponent form. */
export function formatStatistic(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return ''
  if (x === 0) return '0'
  return Math.abs(x) >= 1e-3 && Math.abs(x) < 1e5 ? x.toFixed(4) : x.toExponential(2)
}

/** A number to a fixed number of decimals, or `n/a` when there is none. */
export function formatFixed(value: unknown, digits = 3): string {
  return typeof value === 'number' && Number.isFinite(value) ? value.toFixed(digits) : 'n/a'
}

/** An ISO time to the minute, as stored (UTC): `2026-11-23 14:06`. Stable output for tables and logs. */
export function isoMinute(iso: string): string {
  return iso.replace('T', ' ').slice(0, 16)
}
