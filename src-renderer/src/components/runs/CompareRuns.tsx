import { Card, ErrorBanner, useOperation } from '../common/index.js'
import { formatMetric, type MetricSeries } from './format.js'
import { RunCurves } from './RunCurves.js'

/** Two or more runs: the parameters that differ, metrics side by side, overlaid curves. */
export function CompareRuns({ runIds }: { runIds: string[] }) {
  const compared = useOperation('training.runs.compare', { runs: runIds })
  const data = compared.data
  const overlaid: MetricSeries = {}
  if (data) for (const [id, s] of Object.entries(data.series)) if (s.val_loss) overlaid[`${id} val_loss`] = s.val_loss
  const metricNames = data ? [...new Set(data.runs.flatMap((r) => Object.keys(r.metrics?.test ?? {})))] : []
  const paramOf = (run: NonNullable<typeof data>['runs'][number], key: string): string => {
    if (key in run.params) return JSON.stringify((run.params as Record<string, unknown>)[key])
    if (key === 'dataset') return `${run.dataset.name}@${run.dataset.version}`
    if (key === 'backend') return run.backend?.name ?? run.requestedBackend
    return String((run as unknown as Record<string, unknown>)[key] ?? '')
  }
  return (
    <Card title={`Compare ${runIds.length} runs`}>
      <ErrorBanner error={compared.error} onRetry={compared.reload} />
      {data && (
        <>
          <table className="metrics-table" aria-label="Run comparison">
            <thead>
              <tr>
                <th />
                {data.runs.map((r) => (
                  <th key={r.id} className="mono">
                    {r.id}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {data.differingParams.map((k) => (
                <tr key={k} className="differs">
                  <td>{k}</td>
                  {data.runs.map((r) => (
                    <td key={r.id}>{paramOf(r, k)}</td>
                  ))}
                </tr>
              ))}
              {metricNames.map((m) => (
                <tr key={m}>
                  <td>test {m}</td>
                  {data.runs.map((r) => (
                    <td key={r.id}>{formatMetric(r.metrics?.test[m])}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
          <RunCurves title="Validation loss, overlaid" series={overlaid} names={Object.keys(overlaid)} />
        </>
      )}
    </Card>
  )
}
