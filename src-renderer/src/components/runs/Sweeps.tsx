import { Card, DataTable, ErrorBanner, formatTime, ProgressBar, useOperation, type Column } from '../common/index.js'
import { hashOf } from '../../state/navigation.js'
import { isLowerBetter, ParallelCoordinates, ParamScatter, type AxisValue, type ChartAxis, type ChartRun } from './charts.js'
import { formatMetric, statusBadge, type RunRecord } from './format.js'
import { RunId } from './RunId.js'

type Sweep = NonNullable<ReturnType<typeof useOperation<'training.sweep.show'>>['data']>
type SweepRun = Sweep['runs'][number]

/** The sweeps the runs belong to, newest first, with how far each has got. */
export function SweepList({ runs, selected, onSelect }: { runs: RunRecord[]; selected: string | null; onSelect: (id: string) => void }) {
  const sweeps = new Map<string, RunRecord[]>()
  for (const r of runs) if (r.sweepId) sweeps.set(r.sweepId, [...(sweeps.get(r.sweepId) ?? []), r])
  if (sweeps.size === 0) return null
  const rows = [...sweeps.entries()].map(([id, members]) => ({
    id,
    runs: members.length,
    done: members.filter((r) => r.status !== 'queued' && r.status !== 'running').length,
    createdAt: members.map((r) => r.createdAt).sort()[0]!,
  }))
  const columns: Array<Column<(typeof rows)[number]>> = [
    { key: 'id', header: 'Sweep', render: (s) => <span className="mono">{s.id}</span> },
    { key: 'runs', header: 'Runs', align: 'right' },
    { key: 'done', header: 'Done', align: 'right', render: (s) => `${s.done} of ${s.runs}` },
    { key: 'createdAt', header: 'Started', render: (s) => formatTime(s.createdAt) },
  ]
  return (
    <Card title="Sweeps">
      <DataTable label="Sweeps" columns={columns} rows={rows} rowKey={(s) => s.id} selectedKey={selected} onRowClick={(s) => onSelect(s.id)} />
      {selected && sweeps.has(selected) && <SweepResults key={selected} sweepId={selected} />}
    </Card>
  )
}

/** The parameters that vary across a sweep's runs (what the search was over). */
function variedParams(runs: SweepRun[]): string[] {
  const keys = [...new Set(runs.flatMap((r) => Object.keys(r.params)))]
  const vary = keys.filter((k) => new Set(runs.map((r) => JSON.stringify((r.params as Record<string, unknown>)[k]))).size > 1)
  for (const k of ['modelFamily', 'seed'] as const) if (new Set(runs.map((r) => r[k])).size > 1) vary.push(k)
  return vary
}

function paramValue(run: SweepRun, key: string): AxisValue {
  const v = key in run.params ? (run.params as Record<string, unknown>)[key] : (run as unknown as Record<string, unknown>)[key]
  return typeof v === 'number' || typeof v === 'string' ? v : JSON.stringify(v)
}

/** One sweep: progress while its runs train, then its results as a table and charts, the best run marked. */
function SweepResults({ sweepId }: { sweepId: string }) {
  const shown = useOperation('training.sweep.show', { sweep: sweepId })
  if (shown.error) return <ErrorBanner error={shown.error} onRetry={shown.reload} />
  const sweep = shown.data
  if (!sweep) return <p className="muted">Loading sweep {sweepId}…</p>
  const metric = sweep.metric.replace(/^val_/, '')
  const finished = sweep.runs.filter((r) => r.status === 'finished').length
  const ended = sweep.runs.filter((r) => r.status !== 'queued' && r.status !== 'running').length
  const params = variedParams(sweep.runs)
  const metricAxis: ChartAxis = { key: `val:${metric}`, label: `validation ${metric}`, lowerIsBetter: isLowerBetter(metric) }
  const chartRuns: ChartRun[] = sweep.runs.map((r, i) => ({
    id: r.id,
    label: `#${i + 1} ${params.map((p) => `${p}=${show(paramValue(r, p))}`).join(' ')}`,
    values: { ...Object.fromEntries(params.map((p) => [`param:${p}`, paramValue(r, p)])), [metricAxis.key]: r.metrics?.validation[metric] },
  }))
  const paramAxes = params.map((p) => ({ key: `param:${p}`, label: p }))
  const columns: Array<Column<SweepRun>> = [
    {
      key: 'id',
      header: 'Run',
      render: (r) => (
        <a href={hashOf('runs', r.id)}>
          <RunId id={r.id} />
        </a>
      ),
    },
    { key: 'status', header: 'Status', render: (r) => <span className={statusBadge(r.status)}>{r.status}</span> },
    ...params.map((p): Column<SweepRun> => ({
      key: `param:${p}`,
      header: p,
      align: 'right',
      sortValue: (r) => String(paramValue(r, p)),
      render: (r) => show(paramValue(r, p)),
    })),
    {
      key: 'metric',
      header: `validation ${metric}`,
      align: 'right',
      sortValue: (r) => r.metrics?.validation[metric] ?? null,
      render: (r) =>
        r.id === sweep.bestRunId ? (
          <strong title="best of the sweep">{formatMetric(r.metrics?.validation[metric])} ★</strong>
        ) : (
          formatMetric(r.metrics?.validation[metric])
        ),
    },
  ]
  return (
    <section aria-label={`Sweep ${sweep.id}`} className="sweep-results">
      <h3>
        {sweep.id}: {sweep.method} search, ranked by validation {metric}
      </h3>
      <ProgressBar
        value={ended / Math.max(1, sweep.runs.length)}
        label="Sweep progress"
        detail={`${ended} of ${sweep.runs.length} runs done, ${finished} finished`}
      />
      {sweep.bestRunId && (
        <p role="status">
          Best:{' '}
          <a href={hashOf('runs', sweep.bestRunId)} className="mono">
            {sweep.bestRunId}
          </a>{' '}
          (validation {metric} {formatMetric(sweep.runs.find((r) => r.id === sweep.bestRunId)?.metrics?.validation[metric])})
        </p>
      )}
      <DataTable
        label="Sweep results"
        columns={columns}
        rows={sweep.runs}
        rowKey={(r) => r.id}
        rowData={(r) => ({ 'data-best': String(r.id === sweep.bestRunId) })}
      />
      {finished > 0 && paramAxes.length > 0 && (
        <div className="run-charts">
          <ParamScatter title={`validation ${metric} against ${paramAxes[0]!.label}`} runs={chartRuns} x={paramAxes[0]!} y={metricAxis} />
          <ParallelCoordinates title="Sweep: parameters and metric" axes={[...paramAxes, metricAxis]} runs={chartRuns} bestBy={metricAxis} />
        </div>
      )}
    </section>
  )
}

function show(v: AxisValue): string {
  return typeof v === 'number' ? String(Number(v.toPrecision(4))) : (v ?? '')
}
