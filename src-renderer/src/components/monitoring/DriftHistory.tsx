import { CartesianGrid, Legend, Line, LineChart, ReferenceLine, Tooltip, XAxis, YAxis } from 'recharts'
import { featureNames, formatStat, palette, shortTime, type ReportSummary } from './format.js'

/** Dataset drift share over time against its threshold, and each feature's decision value (p-value or distance) against its own. */
export function DriftHistory({ reports }: { reports: ReportSummary[] }) {
  const withDrift = reports.filter((r) => r.values.drift_share !== undefined)
  const threshold = 0.5
  const shareData = withDrift.map((r) => ({ time: shortTime(r.time), drift_share: r.values.drift_share, drifted: r.values.dataset_drift }))
  const features = featureNames(withDrift)
  return (
    <div className="monitoring-charts">
      <figure aria-label="Dataset drift share over time" data-points={shareData.length}>
        <figcaption className="muted">Share of drifted features ({shareData.length} reports; dataset drift at {threshold})</figcaption>
        <LineChart width={520} height={220} data={shareData} margin={{ top: 8, right: 16, bottom: 8, left: 0 }}>
          <CartesianGrid strokeDasharray="3 3" stroke="var(--border)" />
          <XAxis dataKey="time" stroke="var(--muted)" tick={{ fontSize: 11 }} />
          <YAxis domain={[0, 1]} stroke="var(--muted)" width={40} />
          <Tooltip />
          <ReferenceLine y={threshold} stroke={palette.threshold} strokeDasharray="4 4" label={{ value: 'threshold', fill: 'var(--muted)', fontSize: 11 }} />
          <Line dataKey="drift_share" name="drift share" stroke={palette.current} isAnimationActive={false} dot />
        </LineChart>
      </figure>
      {features.map((name, i) => {
        const data = withDrift
          .filter((r) => r.values[`feature.${name}.statistic`] !== undefined)
          .map((r) => {
            // Tests (KS, chi-square) decide on their p-value, distances on the statistic itself:
            // plot whichever the threshold applies to.
            const pValue = r.values[`feature.${name}.p_value`]
            return {
              time: shortTime(r.time),
              value: pValue ?? r.values[`feature.${name}.statistic`],
              threshold: r.values[`feature.${name}.threshold`],
              byPValue: pValue !== undefined,
            }
          })
        const last = data[data.length - 1]
        const label = last?.byPValue ? 'p-value' : 'statistic'
        return (
          <figure key={name} aria-label={`Drift of ${name} over time`} data-points={data.length}>
            <figcaption className="muted">
              {name}: {label} {formatStat(last?.value)} (drifted {last?.byPValue ? 'below' : 'above'} {formatStat(last?.threshold)})
            </figcaption>
            <LineChart width={340} height={160} data={data} margin={{ top: 8, right: 12, bottom: 4, left: 0 }}>
              <CartesianGrid strokeDasharray="3 3" stroke="var(--border)" />
              <XAxis dataKey="time" hide />
              <YAxis stroke="var(--muted)" width={48} tickFormatter={(v: number) => v.toPrecision(2)} />
              <Tooltip />
              <Legend />
              <Line dataKey="value" name={label} stroke={palette.lines[i % palette.lines.length]} isAnimationActive={false} dot={data.length < 30} />
              <Line dataKey="threshold" stroke={palette.threshold} strokeDasharray="4 4" isAnimationActive={false} dot={false} />
            </LineChart>
          </figure>
        )
      })}
    </div>
  )
}

/** Quality metrics over time, once labels have arrived for logged predictions. */
export function QualityHistory({ reports }: { reports: ReportSummary[] }) {
  const names = [...new Set(reports.flatMap((r) => Object.keys(r.values).filter((k) => k.startsWith('quality.') && k !== 'quality.labelled')))].sort()
  const data = reports
    .filter((r) => names.some((n) => r.values[n] !== undefined))
    .map((r) => ({ time: shortTime(r.time), ...Object.fromEntries(names.map((n) => [n.slice(8), r.values[n]])) }))
  if (data.length === 0) return <p className="muted">No quality yet: it appears once enough predictions have true labels (POST /v2/models/NAME/feedback or `lathe feedback`).</p>
  return (
    <figure aria-label="Quality over time" data-points={data.length}>
      <figcaption className="muted">Quality of labelled predictions per report</figcaption>
      <LineChart width={560} height={220} data={data} margin={{ top: 8, right: 16, bottom: 8, left: 0 }}>
        <CartesianGrid strokeDasharray="3 3" stroke="var(--border)" />
        <XAxis dataKey="time" stroke="var(--muted)" tick={{ fontSize: 11 }} />
        <YAxis stroke="var(--muted)" width={48} tickFormatter={(v: number) => v.toPrecision(3)} />
        <Tooltip />
        <Legend />
        {names.map((n, i) => (
          <Line key={n} dataKey={n.slice(8)} stroke={palette.lines[i % palette.lines.length]} isAnimationActive={false} dot={data.length < 30} />
        ))}
      </LineChart>
    </figure>
  )
}
