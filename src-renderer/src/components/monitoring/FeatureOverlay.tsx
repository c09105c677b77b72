import { Bar, BarChart, CartesianGrid, Legend, Tooltip, XAxis, YAxis } from 'recharts'
import { formatStat, palette, type FeatureDrift } from './format.js'

/** Reference against current for one feature: histogram bins for numbers, category shares otherwise. */
export function FeatureOverlay({ feature }: { feature: FeatureDrift }) {
  const data =
    feature.chart.kind === 'histogram'
      ? feature.chart.bins.map((b) => ({
          label: b.overflow === 'below' ? `< ${formatStat(b.end)}` : b.overflow === 'above' ? `> ${formatStat(b.start)}` : formatStat(b.start),
          reference: b.reference,
          current: b.current,
        }))
      : feature.chart.categories.map((c) => ({ label: c.name, reference: c.reference, current: c.current }))
  return (
    <figure className="feature-overlay" aria-label={`Distribution of ${feature.name}`} data-drifted={feature.drifted ? 'yes' : 'no'}>
      <figcaption>
        <strong>{feature.name}</strong> <span className={feature.drifted ? 'badge badge-bad' : 'badge badge-ok'}>{feature.drifted ? 'drifted' : 'stable'}</span>{' '}
        <span className="muted">
          {feature.method} {formatStat(feature.statistic)}
          {feature.p_value !== null ? ` (p ${formatStat(feature.p_value)})` : ''} vs {feature.threshold}
        </span>
      </figcaption>
      <BarChart width={340} height={180} data={data} margin={{ top: 8, right: 8, bottom: 4, left: 0 }} barGap={0}>
        <CartesianGrid strokeDasharray="3 3" stroke="var(--border)" />
        <XAxis dataKey="label" tick={{ fontSize: 10 }} stroke="var(--muted)" interval="preserveStartEnd" />
        <YAxis stroke="var(--muted)" width={40} tickFormatter={(v: number) => `${Math.round(v * 100)}%`} />
        <Tooltip formatter={(v) => `${(Number(v) * 100).toFixed(1)}%`} />
        <Legend />
        <Bar dataKey="reference" fill={palette.reference} isAnimationActive={false} />
        <Bar dataKey="current" fill={palette.current} isAnimationActive={false} />
      </BarChart>
    </figure>
  )
}
