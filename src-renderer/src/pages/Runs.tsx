import { useMemo, useState } from 'react'
import { Card, DataTable, EmptyState, ErrorBanner, useEngineEvents, useOperation, type Column } from '../components/common/index.js'
import { CompareRuns } from '../components/runs/CompareRuns.js'
import { formatMetric, headlineMetric, statusBadge, type RunRecord } from '../components/runs/format.js'
import { RunDetail } from '../components/runs/RunDetail.js'
import { ScriptRuns } from '../components/runs/ScriptRuns.js'
import { StartRunForm } from '../components/runs/StartRunForm.js'

const statuses = ['queued', 'running', 'finished', 'failed', 'cancelled'] as const

/** Runs: start one, watch it train, sort and filter the table, compare, cancel. */
export default function RunsPage() {
  const runs = useOperation('training.runs.list', {})
  const [selected, setSelected] = useState<string | null>(null)
  const [compare, setCompare] = useState<string[]>([])
  const [status, setStatus] = useState<string>('')
  const [query, setQuery] = useState('')
  const [liveEpochs, setLiveEpochs] = useState<Record<string, number>>({})
  // A status change anywhere (this page, the CLI, a sweep) refreshes the table.
  useEngineEvents(['training.status'], () => runs.reload())
  useEngineEvents(['training.progress'], (event) => {
    const p = event.payload as { runId: string; epoch: number; batch?: number }
    if (p.batch === undefined) setLiveEpochs((e) => ({ ...e, [p.runId]: p.epoch }))
  })

  const rows = useMemo(() => {
    const q = query.trim().toLowerCase()
    return (runs.data?.runs ?? []).filter(
      (r) =>
        (!status || r.status === status) &&
        (!q || `${r.id} ${r.dataset.name} ${r.target} ${r.modelFamily}`.toLowerCase().includes(q)),
    )
  }, [runs.data, status, query])
  const selectedRun = runs.data?.runs.find((r) => r.id === selected) ?? null

  const toggleCompare = (id: string) => setCompare((c) => (c.includes(id) ? c.filter((x) => x !== id) : [...c, id]))
  const columns: Array<Column<RunRecord>> = [
    {
      key: 'compare',
      header: 'Compare',
      sortable: false,
      render: (r) => (
        <input
          type="checkbox"
          aria-label={`compare ${r.id}`}
          checked={compare.includes(r.id)}
          onClick={(e) => e.stopPropagation()}
          onChange={() => toggleCompare(r.id)}
        />
      ),
    },
    { key: 'id', header: 'Run', render: (r) => <span className="mono">{r.id}</span> },
    { key: 'status', header: 'Status', render: (r) => <span className={statusBadge(r.status)}>{r.status}</span> },
    { key: 'dataset', header: 'Dataset', sortValue: (r) => `${r.dataset.name}@${r.dataset.version}`, render: (r) => `${r.dataset.name}@${r.dataset.version}` },
    { key: 'target', header: 'Target' },
    { key: 'modelFamily', header: 'Model', render: (r) => `${r.modelFamily} ${r.modelFamily === 'mlp' ? JSON.stringify(r.params.hidden) : ''}` },
    {
      key: 'epochsRun',
      header: 'Epochs',
      align: 'right',
      render: (r) => Math.max(r.epochsRun, r.status === 'running' ? (liveEpochs[r.id] ?? 0) : 0),
    },
    {
      key: 'metric',
      header: 'Test metric',
      align: 'right',
      sortValue: (r) => r.metrics?.test[headlineMetric(r)] ?? null,
      render: (r) => (r.metrics ? `${headlineMetric(r)} ${formatMetric(r.metrics.test[headlineMetric(r)])}` : ''),
    },
    { key: 'createdAt', header: 'Created', render: (r) => new Date(r.createdAt).toLocaleString() },
  ]

  return (
    <section aria-labelledby="page-title" className="page">
      <h1 id="page-title">Runs</h1>
      <StartRunForm
        onStarted={(run) => {
          setSelected(run.id)
          runs.reload()
        }}
      />
      <Card
        title="Runs"
        actions={
          <div className="toolbar">
            <label className="field">
              Status
              <select value={status} onChange={(e) => setStatus(e.target.value)} aria-label="Filter by status">
                <option value="">all</option>
                {statuses.map((s) => (
                  <option key={s}>{s}</option>
                ))}
              </select>
            </label>
            <label className="field">
              Search
              <input value={query} onChange={(e) => setQuery(e.target.value)} placeholder="run, dataset, target" aria-label="Filter runs" />
            </label>
          </div>
        }
      >
        <ErrorBanner error={runs.error} onRetry={runs.reload} />
        <DataTable
          label="Runs"
          columns={columns}
          rows={rows}
          rowKey={(r) => r.id}
          onRowClick={(r) => setSelected(r.id)}
          selectedKey={selected}
          empty={<EmptyState title="No runs yet">Start one above, or run `lathe train --dataset NAME --target COLUMN`.</EmptyState>}
        />
      </Card>
      {compare.length >= 2 && <CompareRuns runIds={compare} />}
      {selectedRun && <RunDetail key={selectedRun.id} run={selectedRun} onChanged={runs.reload} />}
      <ScriptRuns />
    </section>
  )
}
