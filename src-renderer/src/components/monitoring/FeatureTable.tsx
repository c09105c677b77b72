import { DataTable, type Column } from '../common/index.js'
import { formatStat, palette, type FeatureDrift } from './format.js'

/** A tiny distribution: bars of the shares, drawn inline (no chart library per row). */
function Sparkline({ shares, color, label }: { shares: number[]; color: string; label: string }) {
  const max = Math.max(...shares, 1e-9)
  const w = 64
  const h = 18
  const bar = w / Math.max(shares.length, 1)
  return (
    <svg width={w} height={h} role="img" aria-label={label} className="sparkline">
      {shares.map((s, i) => (
        <rect key={i} x={i * bar} y={h - (s / max) * h} width={Math.max(bar - 1, 1)} height={(s / max) * h} fill={color} />
      ))}
    </svg>
  )
}

function shares(f: FeatureDrift, side: 'reference' | 'current'): number[] {
  return f.chart.kind === 'histogram' ? f.chart.bins.map((b) => b[side]) : f.chart.categories.map((c) => c[side])
}

const columns: Array<Column<FeatureDrift>> = [
  { key: 'name', header: 'Column', render: (f) => <strong>{f.name}</strong> },
  { key: 'kind', header: 'Type' },
  {
    key: 'reference',
    header: 'Reference',
    sortable: false,
    render: (f) => <Sparkline shares={shares(f, 'reference')} color={palette.reference} label={`reference distribution of ${f.name}`} />,
  },
  {
    key: 'current',
    header: 'Current',
    sortable: false,
    render: (f) => <Sparkline shares={shares(f, 'current')} color={palette.current} label={`current distribution of ${f.name}`} />,
  },
  { key: 'method', header: 'Test' },
  { key: 'statistic', header: 'Statistic', align: 'right', render: (f) => formatStat(f.statistic) },
  { key: 'p_value', header: 'p-value', align: 'right', render: (f) => (f.p_value === null ? '—' : formatStat(f.p_value)) },
  { key: 'threshold', header: 'Threshold', align: 'right', render: (f) => formatStat(f.threshold) },
  {
    key: 'drifted',
    header: 'Verdict',
    sortValue: (f) => (f.drifted ? 0 : 1),
    render: (f) => <span className={f.drifted ? 'badge badge-bad' : 'badge badge-ok'}>{f.drifted ? 'drifted' : 'stable'}</span>,
  },
]

/** Every column of a drift report in one sortable table, in the manner of Evidently's. */
export function FeatureTable({ features }: { features: FeatureDrift[] }) {
  return <DataTable label="Drift by column" columns={columns} rows={features} rowKey={(f) => f.name} />
}
