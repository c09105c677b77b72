/**
 * Numbers as people read them: four significant digits for measurements (a metric,
 * a statistic), exponent form only where a fixed form would be unreadable, integers
 * grouped. Tooltips and tables go through here so nothing shows 16 digits.
 */
export function formatNumber(value: number | null | undefined, digits = 4): string {
  if (value === null || value === undefined) return ''
  if (Number.isNaN(value)) return 'NaN'
  if (!Number.isFinite(value)) return value > 0 ? '∞' : '−∞'
  if (Number.isInteger(value) && Math.abs(value) < 1e15) return String(value)
  if (value === 0) return '0'
  const magnitude = Math.abs(value)
  if (magnitude >= 1e15 || magnitude < 1e-4) return value.toExponential(digits - 1).replace(/\.?0+e/, 'e')
  // Past `digits` integer digits, fractions say nothing more: 4499994.5 -> 4499995, not 4.5e+6.
  if (magnitude >= 10 ** digits) return String(Math.round(value))
  return String(Number(value.toPrecision(digits)))
}

/** A short local date and time ("Dec 1 10:42:07"). */
export function formatTime(iso: string | number | Date): string {
  const d = new Date(iso)
  return `${d.toLocaleDateString(undefined, { month: 'short', day: 'numeric' })} ${d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' })}`
}
