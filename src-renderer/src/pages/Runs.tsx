import { useMemo, useState } from 'react'
import { Card, DataTable, EmptyState, ErrorBanner, FieldError, formatTime, useEngineEvents, useOperation, type Column } from '../components/common/index.js'
import { CompareRuns } from '../components/runs/CompareRuns.js'
import { formatMetric, headlineMetric, statusBadge, type RunRecord } from '../components/runs/format.js'
import { matchesRun, parseRunQuery, QueryError, unknownMetrics, type RunQuery } from '../components/runs/query.js'
import { RunDetail } from '../components/runs/RunDetail.js'
import { RunId } from '../components/runs/RunId.js'
import { ScriptRuns } from '../components/runs/ScriptRuns.js'
import '../components/runs/runs.css'
import { StartRunForm } from '../components/runs/StartRunForm.js'
import { SweepList } from '../components/runs/Sweeps.js'
import { SyncMark, useSyncMarks } from '../components/team/SyncMark.js'
import { useNavigation, useRoutePath } from '../state/navigation.js'

// Columns a person may hide. The default fits a 1024 px window without scrolling sideways.
const optionalColumns: Array<{ key: string; label: string; shown: boolean }> = [
  { key: 'status', label: 'Status', shown: true },
  { key: 'dataset', label: 'Dataset', shown: true },
  { key: 'target', label: 'Target', shown: true },
  { key: 'modelFamily', label: 'Model', shown: false },
  { key: 'epochsRun', label: 'Epochs', shown: false },
  { key: 'metric', label: 'Test metric', shown: true },
  { key: 'createdAt', label: 'Created', shown: true },
]
const columnsKey = 'lathe.runs.columns'

function savedColumns(): Set<string> {
  try {
    const saved = JSON.parse(localStorage.getItem(columnsKey) ?? 'null') as string[] | null
    if (Array.isArray(saved)) return new Set(saved)
  } catch {
    // A damaged setting falls back to the defaults.
  }
  return new Set(optionalColumns.filter((c) => c.shown).map((c) => c.key))
}

/** Runs: start one or a sweep, watch it train, filter with a query, compare, name and tag, register, archive, delete. */
export default function RunsPage() {
  const [showArchived, setShowArchived] = useState(false)
  const runs = useOperation('training.runs.list', { includeArchived: showArchived })
  // The URL names the open run: #/runs/<run id>.
  const [selected = null] = useRoutePath()
  const { go } = useNavigation()
  const [compare, setCompare] = useState<string[]>([])
  const [query, setQuery] = useState('')
  const [liveEpochs, setLiveEpochs] = useState<Record<string, number>>({})
  const [visible, setVisible] = useState(savedColumns)
  const [sweep, setSweep] = useState<string | null>(null)
  const toggleColumn = (key: string) =>
    setVisible((v) => {
      const next = new Set(v)
      if (next.has(key)) next.delete(key)
      else next.add(key)
      localStorage.setItem(columnsKey, JSON.stringify([...next]))
      return next
    })
  useEngineEvents(['training.progress'], (event) => {
    const p = event.payload as { runId: string; epoch: number; batch?: number }
    if (p.batch === undefined) setLiveEpochs((e) => ({ ...e, [p.runId]: p.epoch }))
  })

  const all = runs.data?.runs ?? []
  const { parsed, problem } = useMemo((): { parsed: RunQuery | null; problem: string | null } => {
    try {
      const q = parseRunQuery(query)
      return { parsed: q, problem: unknownMetrics(all, q) }
    } catch (error) {
      if (error instanceof QueryError) return { parsed: null, problem: error.message }
      throw error
    }
  }, [query, all])
  const rows = useMemo(() => (parsed ? all.filter((r) => matchesRun(r, parsed)) : all), [all, parsed])
  const selectedRun = all.find((r) => r.id === selected) ?? null
  const marks = useSyncMarks({ runs: all.slice(0, 5000).map((r) => r.id) })

  const toggleCompare = (id: string) => setCompare((c) => (c.includes(id) ? c.filter((x) => x !== id) : [...c, id]))
  const allColumns: Array<Column<RunRecord>> = [
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
    {
      key: 'id',
      header: 'Run',
      sortValue: (r) => r.name ?? r.id,
      render: (r) => (
        <span className="run-cell">
          {r.name && <strong>{r.name} </strong>}
          <RunId id={r.id} />
          {(r.tags ?? []).map((t) => (
            <span key={t} className="badge">
              {t}
            </span>
          ))}
          {r.archivedAt && <span className="badge badge-warn">archived</span>}
        </span>
      ),
    },
    {
      key: 'status',
      header: 'Status',
      render: (r) => (
        <>
          <span className={statusBadge(r.status)}>{r.status}</span>
          <SyncMark marks={marks} kind="runs" id={r.id} />
        </>
      ),
    },
    { key: 'dataset', header: 'Dataset', sortValue: (r) => `${r.dataset.name}@${r.dataset.version}`, render: (r) => `${r.dataset.name}@${r.dataset.version}` },
    { key: 'target', header: 'Target' },
    { key: 'modelFamily', header: 'Model', render: (r) => `${r.modelFamily}${r.modelFamily === 'mlp' ? ` ${r.params.hidden.join('×')}` : ''}` },
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
    { key: 'createdAt', header: 'Created', render: (r) => formatTime(r.createdAt) },
  ]
  const columns = allColumns.filter((c) => c.key === 'compare' || c.key === 'id' || visible.has(c.key))

  return (
    <section aria-labelledby="page-title" className="page">
      <h1 id="page-title">Runs</h1>
      <StartRunForm onStarted={(run) => go('runs', run.id)} onSweep={setSweep} />
      <Card
        title="Runs"
        actions={
          <span className="toolbar">
            <details className="column-chooser">
              <summary className="btn btn-ghost">Columns</summary>
              <fieldset aria-label="Columns shown">
                {optionalColumns.map((c) => (
                  <label key={c.key} className="checkbox">
                    <input type="checkbox" checked={visible.has(c.key)} onChange={() => toggleColumn(c.key)} /> {c.label}
                  </label>
                ))}
              </fieldset>
            </details>
            <label className="checkbox">
              <input type="checkbox" checked={showArchived} onChange={(e) => setShowArchived(e.target.checked)} /> Show archived
            </label>
          </span>
        }
      >
        <div className="run-filter">
          <label className="field run-filter-field">
            Filter
            <input
              value={query}
              onChange={(e) => setQuery(e.target.value)}
              placeholder="metrics.accuracy > 0.8 and params.lr = 0.01 and tag = baseline"
              aria-label="Filter runs"
              spellCheck={false}
            />
            <FieldError message={problem ?? undefined} />
          </label>
          <span className="muted query-help">
            Fields: metrics.NAME, params.NAME, tag, status, dataset, target, model, name. Operators: = != &gt; &gt;= &lt; &lt;= ~. Join with “and”.
            {runs.data && ` ${rows.length} of ${all.length} runs.`}
          </span>
        </div>
        <ErrorBanner error={runs.error} onRetry={runs.reload} />
        {runs.loading ? (
          <p className="muted">Loading runs…</p>
        ) : (
          <DataTable
            label="Runs"
            columns={columns}
            rows={rows}
            rowKey={(r) => r.id}
            onRowClick={(r) => go('runs', r.id)}
            selectedKey={selected}
            empty={
              all.length === 0 ? (
                <EmptyState title="No runs yet">Start one above, or run `lathe train --dataset NAME --target COLUMN`.</EmptyState>
              ) : (
                'No run matches the filter.'
              )
            }
          />
        )}
      </Card>
      <SweepList runs={all} selected={sweep} onSelect={setSweep} />
      {compare.length >= 2 && <CompareRuns runIds={compare} />}
      {selected && !selectedRun && !runs.loading && runs.data && <MissingRun id={selected} />}
      {selectedRun && <RunDetail key={selectedRun.id} run={selectedRun} onChanged={runs.reload} />}
      <ScriptRuns />
    </section>
  )
}

/** A link to a run that this list does not have (archived, or from another workspace). */
function MissingRun({ id }: { id: string }) {
  const shown = useOperation('training.runs.show', { run: id })
  if (shown.error) return <ErrorBanner error={shown.error} />
  if (!shown.data) return <p className="muted">Loading run {id}…</p>
  return <RunDetail run={shown.data.run} onChanged={shown.reload} />
}
