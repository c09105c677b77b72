import { useEffect, useState } from 'react'
import type { Output } from '../../api.js'
import { Card, DataTable, EmptyState, ErrorBanner, Facts, useOperation, type Column } from '../common/index.js'
import { ArtifactBrowser } from './ArtifactBrowser.js'
import type { MetricSeries } from './format.js'
import { RunCurves } from './RunCurves.js'

type ScriptRun = Output<'mlflow.runs.list'>['runs'][number]

const showValue = (v: number | string) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toPrecision(4)) : v)
const systemTag = (key: string) => key.startsWith('mlflow.')

/** Runs logged from scripts through the MLflow API: the table, and the chosen run's detail. */
export function ScriptRuns() {
  const runs = useOperation('mlflow.runs.list', {})
  const [selected, setSelected] = useState<string | null>(null)
  // Scripts log from outside the app: refresh while the page is open.
  useEffect(() => {
    const timer = setInterval(runs.reload, 5000)
    return () => clearInterval(timer)
  }, [runs.reload])
  const rows = runs.data?.runs ?? []
  const columns: Array<Column<ScriptRun>> = [
    { key: 'runName', header: 'Run', render: (r) => <span title={r.runId}>{r.runName}</span> },
    { key: 'experimentName', header: 'Experiment' },
    {
      key: 'status',
      header: 'Status',
      render: (r) => (
        <span className={r.status === 'FINISHED' ? 'badge badge-ok' : r.status === 'FAILED' ? 'badge badge-bad' : 'badge badge-warn'}>{r.status}</span>
      ),
    },
    { key: 'userId', header: 'User' },
    { key: 'sourceName', header: 'Source', render: (r) => r.sourceName ?? '' },
    {
      key: 'metrics',
      header: 'Metrics',
      sortable: false,
      render: (r) =>
        Object.entries(r.metrics)
          .slice(0, 3)
          .map(([k, v]) => `${k} ${showValue(v)}`)
          .join(', '),
    },
    { key: 'startTime', header: 'Started', render: (r) => new Date(r.startTime).toLocaleString() },
  ]
  if (!runs.data?.runs.length && !runs.error) return null
  const run = rows.find((r) => r.runId === selected) ?? null
  return (
    <>
      <Card title="Runs from scripts (MLflow API)">
        <ErrorBanner error={runs.error} onRetry={runs.reload} />
        <DataTable
          label="Runs from scripts"
          columns={columns}
          rows={rows}
          rowKey={(r) => r.runId}
          onRowClick={(r) => setSelected(r.runId)}
          selectedKey={selected}
          empty={<EmptyState title="No script runs">Run `lathe mlflow-env` and log from Python with MLflow.</EmptyState>}
        />
      </Card>
      {run && <ScriptRunDetail key={run.runId} runId={run.runId} />}
    </>
  )
}

function ScriptRunDetail({ runId }: { runId: string }) {
  const shown = useOperation('mlflow.runs.show', { run: runId })
  if (shown.error) return <ErrorBanner error={shown.error} onRetry={shown.reload} />
  if (!shown.data) return null
  const { run, series } = shown.data
  const curves: MetricSeries = {}
  for (const [key, points] of Object.entries(series)) {
    const finite = points.filter((p): p is typeof p & { value: number } => typeof p.value === 'number')
    // A chart of 10k points draws no better than one of 1000: keep every n-th.
    const every = Math.max(1, Math.ceil(finite.length / 1000))
    if (finite.length > 1) curves[key] = finite.filter((_, i) => i % every === 0 || i === finite.length - 1).map((p) => ({ step: p.step, value: p.value }))
  }
  const userTags = Object.entries(run.tags).filter(([k]) => !systemTag(k))
  return (
    <Card
      title={
        <>
          Run <span className="mono">{run.runName}</span> <span className="badge">{run.status}</span>
        </>
      }
    >
      <Facts
        items={[
          ['Run id', <span className="mono">{run.runId}</span>],
          ['Experiment', `${run.experimentName} (${run.experimentId})`],
          ['Source', `${run.sourceName ?? '?'} (${run.sourceType ?? '?'}), by ${run.userId}`],
          ['Client', run.client],
          ['Started', new Date(run.startTime).toLocaleString()],
          ['Ended', run.endTime ? new Date(run.endTime).toLocaleString() : '—'],
        ]}
      />
      {Object.keys(curves).length > 0 && (
        <div className="run-charts" style={{ display: 'flex', flexWrap: 'wrap', gap: 16 }}>
          {Object.keys(curves).map((key) => (
            <RunCurves key={key} title={key} series={curves} names={[key]} />
          ))}
        </div>
      )}
      <KeyValues label="Metrics" rows={Object.entries(run.metrics).map(([k, v]) => [k, `${showValue(v)} (${series[k]?.length ?? 0} points)`])} />
      <KeyValues label="Params" rows={Object.entries(run.params)} />
      <KeyValues label="Tags" rows={userTags.length ? userTags : Object.entries(run.tags)} />
      <ArtifactBrowser runId={run.runId} />
    </Card>
  )
}

function KeyValues({ label, rows }: { label: string; rows: Array<[string, string]> }) {
  if (rows.length === 0) return null
  return (
    <table className="metrics-table" aria-label={label}>
      <thead>
        <tr>
          <th>{label}</th>
          <th>Value</th>
        </tr>
      </thead>
      <tbody>
        {rows.map(([k, v]) => (
          <tr key={k}>
            <td>{k}</td>
            <td className="mono">{v.length > 200 ? `${v.slice(0, 197)}...` : v}</td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}
