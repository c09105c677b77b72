import { useState } from 'react'
import { Card, DataTable, ErrorBanner, useOperation, type Column } from '../common/index.js'
import { formatMetric, type MetricSeries } from './format.js'
import { RunCurves } from './RunCurves.js'

type Compared = NonNullable<ReturnType<typeof useOperation<'training.runs.compare'>>['data']>
type Run = Compared['runs'][number]
interface Line {
  key: string
  label: string
  differs: boolean
  values: Record<string, string>
  best?: string
}

// Lower is better for these; higher for the rest (accuracy, f1, r2, ...).
const lowerIsBetter = /(loss|rmse|mae|mse|error)$/i

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
  const columns: Array<Column<Line>> = [
    { key: 'label', header: '', sortable: false, render: (l) => l.label },
    ...(data?.runs ?? []).map((r): Column<Line> => ({
      key: r.id,
      header: <span className="mono">{r.name ?? r.id}</span>,
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
        </>
      )}
    </Card>
  )
}

function nameOf(runs: Run[], id: string): string {
  return runs.find((r) => r.id === id)?.name ?? id
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
        ? scored.reduce((a, b) =>
            lowerIsBetter.test(m) ? (b.metrics!.test[m]! < a.metrics!.test[m]! ? b : a) : b.metrics!.test[m]! > a.metrics!.test[m]! ? b : a,
          )
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
