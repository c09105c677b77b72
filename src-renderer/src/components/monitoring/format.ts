import type { Output } from '../../api.js'

export type StoredReport = Output<'monitoring.reports.get'>
export type ReportSummary = Output<'monitoring.reports.list'>[number]
export type FeatureDrift = NonNullable<StoredReport['report']['drift']>['features'][number]
export type Alert = Output<'monitoring.alerts.list'>[number]
export type MonitorWithRules = Output<'monitoring.monitors.list'>[number]

export const palette = {
  reference: '#64748b',
  current: '#2f6fde',
  threshold: '#c9372c',
  lines: ['#2563eb', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#db2777'],
}

// Statistics read the same in the CLI and here.
export { formatStatistic as formatStat } from '../../../../src-main/engine/api/common/format.js'

export function shortTime(iso: string): string {
  const d = new Date(iso)
  return `${d.toLocaleDateString(undefined, { month: 'short', day: 'numeric' })} ${d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' })}`
}

/** Feature names seen across a model's report history, from the flat values. */
export function featureNames(reports: ReportSummary[]): string[] {
  const names = new Set<string>()
  for (const r of reports)
    for (const key of Object.keys(r.values)) {
      const m = /^feature\.(.+)\.statistic$/.exec(key)
      if (m) names.add(m[1]!)
    }
  return [...names].sort()
}
