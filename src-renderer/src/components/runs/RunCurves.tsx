import { CartesianGrid, Legend, Line, LineChart, Tooltip, XAxis, YAxis } from 'recharts'
import { formatNumber } from '../common/index.js'
import type { MetricSeries } from './format.js'
import './runs.css'

const palette = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2']

/**
 * Curves by epoch. `series` maps a line's label to its points; several runs can be
 * overlaid by prefixing labels with the run id.
 */
export function RunCurves({ title, series, names }: { title: string; series: MetricSeries; names: string[] }) {
  const shown = names.filter((n) => (series[n]?.length ?? 0) > 0)
  const steps = [...new Set(shown.flatMap((n) => series[n]!.map((p) => p.step)))].sort((a, b) => a - b)
  const data = steps.map((step) => {
    const row: Record<string, number> = { step }
    for (const n of shown) {
      const point = series[n]!.find((p) => p.step === step)
      if (point) row[n] = point.value
    }
    return row
  })
  return (
    <figure className="run-curves" aria-label={title} data-points={data.length}>
      <figcaption className="muted">
        {title} {data.length > 0 ? `(${data.length} epochs)` : '(waiting for the first epoch)'}
      </figcaption>
      <LineChart width={560} height={240} data={data} margin={{ top: 8, right: 16, bottom: 8, left: 0 }}>
        <CartesianGrid strokeDasharray="3 3" stroke="var(--border)" />
        <XAxis
          dataKey="step"
          type="number"
          domain={['dataMin', 'dataMax']}
          allowDecimals={false}
          stroke="var(--muted)"
          label={{ value: 'epoch', position: 'insideBottomRight', offset: -4, fontSize: 11 }}
        />
        <YAxis stroke="var(--muted)" width={56} tickFormatter={(v: number) => formatNumber(v, 3)} />
        <Tooltip formatter={(v) => formatNumber(Number(v))} labelFormatter={(step) => `epoch ${step}`} />
        <Legend />
        {shown.map((n, i) => (
          <Line key={n} dataKey={n} stroke={palette[i % palette.length]} dot={data.length < 40} isAnimationActive={false} connectNulls />
        ))}
      </LineChart>
    </figure>
  )
}
