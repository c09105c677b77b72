import { useState } from 'react'
import { Card, DataTable, ErrorBanner, useOperation, type Column } from '../common/index.js'
import { isLowerBetter, ParallelCoordinates, ParamScatter, type AxisValue, type ChartAxis, type ChartRun } from './charts.js'
import { formatMetric, type MetricSeries } from './format.js'
import { RunCurves } from './RunCurves.js'
import { RunId, shortRunId } from './RunId.js'

type Compared = NonNullable<ReturnType<typeof useOperation<'training.runs.compare'>>['data']>
type Run = Compared['runs'][number]
interface Line {
  key: string
  label: string
  differs: boolean
  values: Record<string, string>
  best?: string
}

/**
 * Chosen runs side by side: the parameters that differ, every test metric with the
 * best run marked, and any metric's curve across the runs (picked from what they logged).
 */
export function CompareRuns({ runIds }: { runIds: string[] }) {
  const compared = useOperation('training.runs.compare', { runs: runIds })
  const data = compared.data
  const curveNames = data ? [...new Set(Object.values(data.series).flatMap((s) => Object.keys(s)))].sort() : []
  const [picked, setPicked] = useState('val_loss')
  const metric = curveNames.includes(picked) ? picked : (curveNames[0] ?? picked)

  const overlaid: MetricSeries = {}
  if (data) for (const [id, s] of Object.entries(data.series)) if (s[metric]) overlaid[`${nameOf(data.runs, id)} ${metric}`] = s[metric]
  const lines = data ? comparisonLines(data) : []
  const chart = data ? chartOf(data) : null
  const [xPicked, setX] = useState<string | null>(null)
  const [yPicked, setY] = useState<string | null>(null)
  const xAxis = chart?.params.find((a) => a.key === xPicked) ?? chart?.params[0]
  const yAxis = chart?.metrics.find((a) => a.key === yPicked) ?? chart?.metrics.find((a) => /accuracy|rmse/.test(a.key)) ?? chart?.metrics[0]
  const columns: Array<Column<Line>> = [
    { key: 'label', header: '', sortable: false, render: (l) => l.label },
    ...(data?.runs ?? []).map((r): Column<Line> => ({
      key: r.id,
      header: r.name ? <span className="mono">{r.name}</span> : <RunId id={r.id} />,
      sortable: false,
      align: 'right',
      render: (l) => (l.best === r.id ? <strong title="best of these runs">{l.values[r.id]} ★</strong> : l.values[r.id]),
    })),
  ]
  return (
    <Card title={`Compare ${runIds.length} runs`}>
      <ErrorBanner error={compared.error} onRetry={compared.reload} />
      {compared.loading && <p className="muted">Loading the runs…</p>}
      {data && (
        <>
          <DataTable label="Run comparison" columns={columns} rows={lines} rowKey={(l) => l.key} rowClassName={(l) => (l.differs ? 'differs' : undefined)} />
          <div className="metric-picker">
            <label className="field">
              Metric
              <select aria-label="Metric to compare" value={metric} onChange={(e) => setPicked(e.target.value)}>
                {curveNames.map((n) => (
                  <option key={n}>{n}</option>
                ))}
              </select>
            </label>
          </div>
          <RunCurves title={`${metric} by epoch, overlaid`} series={overlaid} names={Object.keys(overlaid)} />
          {chart && yAxis && (
            <>
              <ParallelCoordinates
                title="Parameters and metrics, one line per run"
                axes={[...chart.params, ...chart.metrics.slice(0, 4)]}
                runs={chart.runs}
                bestBy={yAxis}
              />
              {xAxis && (
                <>
                  <div className="metric-picker">
                    <label className="field">
                      Parameter
                      <select aria-label="Scatter parameter" value={xAxis.key} onChange={(e) => setX(e.target.value)}>
                        {chart.params.map((a) => (
                          <option key={a.key} value={a.key}>
                            {a.label}
                          </option>
                        ))}
                      </select>
                    </label>
                    <label className="field">
                      Against
                      <select aria-label="Scatter metric" value={yAxis.key} onChange={(e) => setY(e.target.value)}>
                        {chart.metrics.map((a) => (
                          <option key={a.key} value={a.key}>
                            {a.label}
                          </option>
                        ))}
                      </select>
                    </label>
                  </div>
                  <ParamScatter title={`${yAxis.label} against ${xAxis.label}`} runs={chart.runs} x={xAxis} y={yAxis} />
                </>
              )}
            </>
          )}
        </>
      )}
    </Card>
  )
}

function nameOf(runs: Run[], id: string): string {
  return runs.find((r) => r.id === id)?.name ?? shortRunId(id)
}

function comparisonLines(data: Compared): Line[] {
  const paramOf = (run: Run, key: string): string => {
    if (key in run.params) return JSON.stringify((run.params as Record<string, unknown>)[key])
    if (key === 'dataset') return `${run.dataset.name}@${run.dataset.version}`
    if (key === 'backend') return run.backend?.name ?? run.requestedBackend
    return String((run as unknown as Record<string, unknown>)[key] ?? '')
  }
  const params: Line[] = data.differingParams.map((k) => ({
    key: `param:${k}`,
    label: k,
    differs: true,
    values: Object.fromEntries(data.runs.map((r) => [r.id, paramOf(r, k)])),
  }))
  const metricNames = [...new Set(data.runs.flatMap((r) => Object.keys(r.metrics?.test ?? {})))].filter((m) => m !== 'confusion')
  const metrics: Line[] = metricNames.map((m) => {
    const scored = data.runs.filter((r) => Number.isFinite(r.metrics?.test[m]))
    const best =
      scored.length > 1
        ? scored.reduce((a, b) => (isLowerBetter(m) ? (b.metrics!.test[m]! < a.metrics!.test[m]! ? b : a) : b.metrics!.test[m]! > a.metrics!.test[m]! ? b : a))
        : undefined
    return {
      key: `metric:${m}`,
      label: `test ${m}`,
      differs: false,
      best: best?.id,
      values: Object.fromEntries(data.runs.map((r) => [r.id, formatMetric(r.metrics?.test[m])])),
    }
  })
  return [...params, ...metrics]
}

/** What the charts draw: the parameters that differ (params first) and the test metrics, per run. */
function chartOf(data: Compared): { params: ChartAxis[]; metrics: ChartAxis[]; runs: ChartRun[] } {
  const paramKeys = data.differingParams.filter((k) => k !== 'dataset' && k !== 'backend')
  const valueOf = (run: Run, key: string): AxisValue => {
    const v = key in run.params ? (run.params as Record<string, unknown>)[key] : (run as unknown as Record<string, unknown>)[key]
    return typeof v === 'number' || typeof v === 'string' ? v : v === null || v === undefined ? null : JSON.stringify(v)
  }
  // A classifier's `loss` is its log loss: one axis for it is enough.
  const logged = [...new Set(data.runs.flatMap((r) => Object.keys(r.metrics?.test ?? {})))].sort()
  const metricNames = logged.filter((m) => !(m === 'loss' && logged.includes('log_loss')))
  const params = paramKeys.map((k) => ({ key: `param:${k}`, label: k }))
  const metrics = metricNames.map((m) => ({ key: `test:${m}`, label: `test ${m}`, lowerIsBetter: isLowerBetter(m) }))
  const runs = data.runs.map((r) => ({
    id: r.id,
    label: r.name ?? shortRunId(r.id),
    values: {
      ...Object.fromEntries(paramKeys.map((k) => [`param:${k}`, valueOf(r, k)])),
      ...Object.fromEntries(metricNames.map((m) => [`test:${m}`, r.metrics?.test[m]])),
    },
  }))
  return { params, metrics, runs }
}
