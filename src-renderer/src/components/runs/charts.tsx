import { CartesianGrid, Cell, Scatter, ScatterChart, Tooltip, XAxis, YAxis, ZAxis } from 'recharts'
import { formatNumber } from '../common/index.js'
import './runs.css'

/** A value of one run on one axis: a number, a category (text), or nothing. */
export type AxisValue = number | string | null | undefined

export interface ChartRun {
  id: string
  label: string
  values: Record<string, AxisValue>
}

export interface ChartAxis {
  key: string
  label: string
  /** Metrics: which way is better (marks the best run); absent for parameters. */
  lowerIsBetter?: boolean
}

// Lower is better for these; higher for the rest (accuracy, f1, r2, ...).
const lowerIsBetterName = /(loss|rmse|mae|mse|error)$/i
export const isLowerBetter = (metric: string) => lowerIsBetterName.test(metric)

/** The id of the run with the best value on `axis`, or null when fewer than two runs have one. */
export function bestRun(runs: ChartRun[], axis: ChartAxis): string | null {
  const scored = runs.filter((r) => typeof r.values[axis.key] === 'number' && Number.isFinite(r.values[axis.key]))
  if (scored.length < 2) return null
  return scored.reduce((a, b) => {
    const va = a.values[axis.key] as number
    const vb = b.values[axis.key] as number
    return (axis.lowerIsBetter ? vb < va : vb > va) ? b : a
  }).id
}

interface Scale {
  /** 0 (bottom) .. 1 (top). */
  at(v: AxisValue): number | null
  ticks: Array<{ at: number; text: string }>
}

/** Numbers on a linear scale (log when they span two decades or more, all positive); text as evenly spaced categories. */
function scaleOf(values: AxisValue[]): Scale {
  const numbers = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v))
  if (numbers.length === values.filter((v) => v !== null && v !== undefined).length && numbers.length > 0) {
    let lo = Math.min(...numbers)
    let hi = Math.max(...numbers)
    const log = lo > 0 && hi / lo >= 100
    const f = log ? Math.log10 : (v: number) => v
    if (lo === hi) {
      lo -= Math.abs(lo) * 0.1 || 1
      hi += Math.abs(hi) * 0.1 || 1
    }
    const [a, b] = [f(lo), f(hi)]
    const at = (v: AxisValue) => (typeof v === 'number' && Number.isFinite(v) ? (f(v) - a) / (b - a) : null)
    const ticks = [0, 0.5, 1].map((t) => ({ at: t, text: formatNumber(log ? 10 ** (a + t * (b - a)) : a + t * (b - a), 3) }))
    return { at, ticks }
  }
  const categories = [...new Set(values.filter((v) => v !== null && v !== undefined).map(String))].sort()
  const at = (v: AxisValue) => {
    if (v === null || v === undefined) return null
    const i = categories.indexOf(String(v))
    return categories.length === 1 ? 0.5 : i / (categories.length - 1)
  }
  return { at, ticks: categories.map((c) => ({ at: at(c)!, text: c })) }
}

const palette = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#ca8a04', '#db2777']

/**
 * Parallel coordinates: one vertical axis per parameter and metric, one line per run;
 * the best run (by `bestBy`) drawn thick and starred in the legend. Plain SVG: a few
 * dozen runs at most, and every element is in the DOM for tests and screen readers.
 */
export function ParallelCoordinates({ title, axes, runs, bestBy }: { title: string; axes: ChartAxis[]; runs: ChartRun[]; bestBy?: ChartAxis }) {
  const width = Math.max(420, Math.min(880, axes.length * 140))
  const height = 260
  const pad = { top: 24, bottom: 40, left: 48, right: 48 }
  const x = (i: number) => pad.left + (axes.length === 1 ? 0 : (i * (width - pad.left - pad.right)) / (axes.length - 1))
  const y = (t: number) => pad.top + (1 - t) * (height - pad.top - pad.bottom)
  const scales = axes.map((a) => scaleOf(runs.map((r) => r.values[a.key])))
  const best = bestBy ? bestRun(runs, bestBy) : null
  return (
    <figure className="run-curves parallel" aria-label={title} data-lines={runs.length} data-axes={axes.length}>
      <figcaption className="muted">{title}</figcaption>
      <svg width={width} height={height} role="img" aria-label={`${title}: ${axes.map((a) => a.label).join(', ')}`}>
        {runs.map((r, k) => {
          const points = axes.map((a, i) => [x(i), scales[i]!.at(r.values[a.key])] as const).filter(([, t]) => t !== null)
          const d = points.map(([px, t], i) => `${i ? 'L' : 'M'}${px.toFixed(1)},${y(t!).toFixed(1)}`).join(' ')
          return (
            <path
              key={r.id}
              d={d}
              fill="none"
              stroke={palette[k % palette.length]}
              strokeWidth={r.id === best ? 3.5 : 1.5}
              strokeOpacity={best && r.id !== best ? 0.55 : 1}
              data-run={r.id}
              data-best={r.id === best ? 'true' : undefined}
            >
              <title>{`${r.label}: ${axes.map((a) => `${a.label} ${show(r.values[a.key])}`).join(', ')}`}</title>
            </path>
          )
        })}
        {axes.map((a, i) => (
          <g key={a.key} className="pc-axis">
            <line x1={x(i)} x2={x(i)} y1={y(0)} y2={y(1)} stroke="var(--muted)" />
            {scales[i]!.ticks.map((t) => (
              <text
                key={t.text + t.at}
                x={x(i) - 4}
                y={y(t.at) + 4}
                fontSize={10}
                fill="var(--muted)"
                textAnchor="end"
                stroke="var(--panel)"
                strokeWidth={3}
                paintOrder="stroke"
              >
                {t.text}
              </text>
            ))}
            <text x={x(i)} y={height - 14} fontSize={11} textAnchor="middle" fill="var(--text)">
              {a.label}
              {a.lowerIsBetter !== undefined ? (a.lowerIsBetter ? ' ↓' : ' ↑') : ''}
            </text>
          </g>
        ))}
      </svg>
      <ul className="pc-legend">
        {runs.map((r, k) => (
          <li key={r.id}>
            <span className="swatch" style={{ background: palette[k % palette.length] }} /> {r.label}
            {r.id === best && bestBy && <strong title={`best ${bestBy.label}`}> ★ best {bestBy.label}</strong>}
          </li>
        ))}
      </ul>
    </figure>
  )
}

function show(v: AxisValue): string {
  return typeof v === 'number' ? formatNumber(v) : (v ?? '—')
}

/** One parameter against one metric, a point per run; the best run's point is larger and starred. */
export function ParamScatter({ title, runs, x, y }: { title: string; runs: ChartRun[]; x: ChartAxis; y: ChartAxis }) {
  const numericX = runs.every((r) => typeof r.values[x.key] === 'number' || r.values[x.key] === null || r.values[x.key] === undefined)
  const categories = numericX ? [] : [...new Set(runs.map((r) => String(r.values[x.key] ?? '')))].sort()
  const best = bestRun(runs, y)
  const data = runs
    .filter((r) => typeof r.values[y.key] === 'number' && r.values[x.key] !== null && r.values[x.key] !== undefined)
    .map((r) => ({
      id: r.id,
      label: r.label,
      x: numericX ? (r.values[x.key] as number) : categories.indexOf(String(r.values[x.key])),
      y: r.values[y.key] as number,
      best: r.id === best,
    }))
  const xs = data.map((d) => d.x)
  const log = numericX && xs.length > 0 && Math.min(...xs) > 0 && Math.max(...xs) / Math.min(...xs) >= 100
  return (
    <figure className="run-curves" aria-label={title} data-points={data.length} data-best={best ?? undefined}>
      <figcaption className="muted">
        {title}
        {best ? `: best ${y.label} ${formatNumber(data.find((d) => d.best)!.y)} (★)` : ''}
      </figcaption>
      <ScatterChart width={460} height={240} margin={{ top: 8, right: 16, bottom: 16, left: 0 }}>
        <CartesianGrid strokeDasharray="3 3" stroke="var(--border)" />
        <XAxis
          dataKey="x"
          type="number"
          name={x.label}
          scale={log ? 'log' : 'auto'}
          domain={log ? ['dataMin', 'dataMax'] : numericX ? ['auto', 'auto'] : [-0.5, categories.length - 0.5]}
          ticks={numericX ? undefined : categories.map((_, i) => i)}
          tickFormatter={(v: number) => (numericX ? formatNumber(v, 3) : (categories[v] ?? ''))}
          stroke="var(--muted)"
          padding={{ left: 16, right: 16 }}
          label={{ value: x.label, position: 'insideBottom', offset: -8, fontSize: 11 }}
        />
        <YAxis
          dataKey="y"
          type="number"
          name={y.label}
          domain={['auto', 'auto']}
          stroke="var(--muted)"
          width={60}
          tickFormatter={(v: number) => formatNumber(v, 3)}
        />
        <ZAxis range={[60, 60]} />
        <Tooltip
          cursor={{ strokeDasharray: '3 3' }}
          formatter={(v, name) => [name === x.label && !numericX ? (categories[Number(v)] ?? '') : formatNumber(Number(v)), String(name)]}
        />
        <Scatter data={data} isAnimationActive={false}>
          {data.map((d) => (
            <Cell key={d.id} fill={d.best ? '#dc2626' : '#2563eb'} stroke={d.best ? '#7f1d1d' : undefined} strokeWidth={d.best ? 3 : 0} r={d.best ? 8 : 5} />
          ))}
        </Scatter>
      </ScatterChart>
    </figure>
  )
}
