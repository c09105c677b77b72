import { CartesianGrid, Legend, Line, LineChart, ReferenceLine, Tooltip, XAxis, YAxis } from 'recharts'
import { featureNames, formatStat, palette, shortTime, type ReportSummary } from './format.js'

type Series = { key: string; label: string; points: Array<{ t: number; value: number; threshold?: number }> }

/** One series per monitor (each has its own window); reports run by hand are their own series. */
function seriesBy(reports: ReportSummary[], value: (r: ReportSummary) => { value: number; threshold?: number } | null): Series[] {
  const groups = new Map<string, Series>()
  for (const r of reports) {
    const v = value(r)
    if (!v) continue
    const key = r.monitorId ?? 'on-demand'
    const series = groups.get(key) ?? { key, label: r.monitorId ? `monitor ${r.monitorId.slice(0, 8)}` : 'checked by hand', points: [] }
    series.points.push({ t: Date.parse(r.time), ...v })
    groups.set(key, series)
  }
  return [...groups.values()]
}

// p-values of 0 (a certain drift) sit at the floor of the log axis instead of off it.
const P_FLOOR = 1e-12
const timeAxis = (
  <XAxis
    dataKey="t"
    type="number"
    scale="time"
    domain={['dataMin', 'dataMax']}
    tickFormatter={(t: number) => shortTime(new Date(t).toISOString())}
    stroke="var(--muted)"
    tick={{ fontSize: 10 }}
    minTickGap={40}
    allowDuplicatedCategory={false}
  />
)

/** Dataset drift share over time against its threshold, and each feature's test (p-values on a log axis) against its own, per monitor. */
export function DriftHistory({ reports }: { reports: ReportSummary[] }) {
  const withDrift = reports.filter((r) => r.values.drift_share !== undefined)
  const threshold = 0.5
  const share = seriesBy(withDrift, (r) => ({ value: r.values.drift_share! }))
  const features = featureNames(withDrift)
  return (
    <div className="monitoring-charts">
      <figure aria-label="Dataset drift share over time" data-points={withDrift.length} data-series={share.length}>
        <figcaption className="muted">
          Share of drifted features ({withDrift.length} reports; dataset drift at {threshold})
        </figcaption>
        <LineChart width={520} height={230} margin={{ top: 8, right: 16, bottom: 8, left: 0 }}>
          <CartesianGrid strokeDasharray="3 3" stroke="var(--border)" />
          {timeAxis}
          <YAxis domain={[0, 1]} stroke="var(--muted)" width={40} />
          <Tooltip labelFormatter={(t) => shortTime(new Date(Number(t)).toISOString())} formatter={(v) => formatStat(Number(v))} />
          <Legend />
          <ReferenceLine y={threshold} stroke={palette.threshold} strokeDasharray="4 4" label={{ value: 'threshold', fill: 'var(--muted)', fontSize: 11 }} />
          {share.map((s, i) => (
            <Line key={s.key} data={s.points} dataKey="value" name={s.label} stroke={palette.lines[i % palette.lines.length]} isAnimationActive={false} dot />
          ))}
        </LineChart>
      </figure>
      {features.map((name) => {
        const byPValue = withDrift.some((r) => r.values[`feature.${name}.p_value`] !== undefined)
        const series = seriesBy(withDrift, (r) => {
          // Tests (KS, chi-square) decide on their p-value, distances on the statistic itself.
          const v = byPValue ? r.values[`feature.${name}.p_value`] : r.values[`feature.${name}.statistic`]
          if (v === undefined) return null
          return { value: byPValue ? Math.max(v, P_FLOOR) : v, threshold: r.values[`feature.${name}.threshold`] }
        })
        const last = series
          .flatMap((s) => s.points)
          .sort((a, b) => a.t - b.t)
          .at(-1)
        const label = byPValue ? 'p-value' : 'statistic'
        return (
          <figure
            key={name}
            aria-label={`Drift of ${name} over time`}
            data-points={series.reduce((n, s) => n + s.points.length, 0)}
            data-scale={byPValue ? 'log' : 'linear'}
          >
            <figcaption className="muted">
              {name}: {label} {formatStat(last?.value)} (drifted {byPValue ? 'below' : 'above'} {formatStat(last?.threshold)})
            </figcaption>
            <LineChart width={360} height={190} margin={{ top: 8, right: 12, bottom: 4, left: 0 }}>
              <CartesianGrid strokeDasharray="3 3" stroke="var(--border)" />
              {timeAxis}
              {byPValue ? (
                <YAxis
                  scale="log"
                  domain={[P_FLOOR, 1]}
                  allowDataOverflow
                  stroke="var(--muted)"
                  width={52}
                  tickFormatter={(v: number) => v.toExponential(0)}
                  ticks={[1e-12, 1e-9, 1e-6, 1e-3, 1]}
                />
              ) : (
                <YAxis stroke="var(--muted)" width={60} tickFormatter={(v: number) => String(Number(v.toPrecision(3)))} />
              )}
              <Tooltip labelFormatter={(t) => shortTime(new Date(Number(t)).toISOString())} formatter={(v) => formatStat(Number(v))} />
              <Legend />
              {last?.threshold !== undefined && (
                <ReferenceLine
                  y={last.threshold}
                  stroke={palette.threshold}
                  strokeDasharray="4 4"
                  label={{ value: 'threshold', fill: 'var(--muted)', fontSize: 10 }}
                />
              )}
              {series.map((s, i) => (
                <Line
                  key={s.key}
                  data={s.points}
                  dataKey="value"
                  name={`${label}, ${s.label}`}
                  stroke={palette.lines[i % palette.lines.length]}
                  isAnimationActive={false}
                  dot={s.points.length < 30}
                />
              ))}
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
    .map((r) => ({ t: Date.parse(r.time), ...Object.fromEntries(names.map((n) => [n.slice(8), r.values[n]])) }))
  if (data.length === 0)
    return (
      <p className="muted">
        No quality yet: it appears once enough predictions have true labels (upload a labels file under Late labels, POST /v2/models/NAME/feedback or `lathe
        feedback`) and a monitor has run.
      </p>
    )
  return (
    <figure aria-label="Quality over time" data-points={data.length}>
      <figcaption className="muted">Quality of labelled predictions per report</figcaption>
      <LineChart width={560} height={220} data={data} margin={{ top: 8, right: 16, bottom: 8, left: 0 }}>
        <CartesianGrid strokeDasharray="3 3" stroke="var(--border)" />
        {timeAxis}
        <YAxis stroke="var(--muted)" width={48} tickFormatter={(v: number) => formatStat(v)} />
        <Tooltip labelFormatter={(t) => shortTime(new Date(Number(t)).toISOString())} formatter={(v) => formatStat(Number(v))} />
        <Legend />
        {names.map((n, i) => (
          <Line key={n} dataKey={n.slice(8)} stroke={palette.lines[i % palette.lines.length]} isAnimationActive={false} dot={data.length < 30} />
        ))}
      </LineChart>
    </figure>
  )
}
