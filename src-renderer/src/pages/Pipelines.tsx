import { useEffect, useMemo, useState } from 'react'
import { api, type Output } from '../api.js'
import { Card, DataTable, EmptyState, ErrorBanner, notify, notifyError, useEngineEvents, useOperation, type Column } from '../components/common/index.js'

type Status = Output<'pipelines.status'>
type StageStatus = Status['stages'][number]
type PipelineRun = Output<'pipelines.runs.get'>
type StageOutput = NonNullable<StageStatus['output']>

const BOX_W = 190
const BOX_H = 86
const GAP_X = 60
const GAP_Y = 18

const stateBadge: Record<string, string> = { 'up-to-date': 'badge badge-ok', stale: 'badge badge-warn', always: 'badge' }
const runBadge: Record<string, string> = {
  passed: 'badge badge-ok',
  ran: 'badge badge-ok',
  skipped: 'badge',
  running: 'badge badge-warn',
  failed: 'badge badge-bad',
  interrupted: 'badge badge-bad',
}

/** Where a stage's output lives in the app: the page that shows it. */
function outputLink(output: StageOutput | null): { href: string; label: string } | null {
  if (!output) return null
  switch (output.type) {
    case 'dataset':
    case 'split':
      return { href: '#/datasets', label: `${output.dataset}@${output.version}` }
    case 'model':
      return output.model ? { href: '#/models', label: `${output.model} v${output.version}` } : { href: '#/runs', label: output.runId }
    case 'promotion':
      return { href: '#/models', label: `${output.model}:${output.alias} v${output.version}` }
    case 'drift':
      return { href: '#/monitoring', label: output.datasetDrift ? 'drifted' : 'no drift' }
  }
}

/** Columns by depth: a stage sits one column right of the deepest stage it reads. */
function layout(stages: StageStatus[]): Map<string, { x: number; y: number }> {
  const depth = new Map<string, number>()
  for (const s of stages) depth.set(s.stage, Math.max(0, ...s.needs.map((n) => (depth.get(n) ?? 0) + 1)))
  const rows = new Map<number, number>()
  const at = new Map<string, { x: number; y: number }>()
  for (const s of stages) {
    const d = depth.get(s.stage)!
    const row = rows.get(d) ?? 0
    rows.set(d, row + 1)
    at.set(s.stage, { x: d * (BOX_W + GAP_X), y: row * (BOX_H + GAP_Y) })
  }
  return at
}

function PipelineGraph({ status, live, onRunFrom, busy }: { status: Status; live: Record<string, string>; onRunFrom: (stage: string) => void; busy: boolean }) {
  const at = layout(status.stages)
  const width = Math.max(...[...at.values()].map((p) => p.x)) + BOX_W
  const height = Math.max(...[...at.values()].map((p) => p.y)) + BOX_H
  return (
    <div className="pipeline-graph" style={{ position: 'relative', width, height, margin: '8px 0' }} role="list" aria-label={`Stages of ${status.pipeline}`}>
      <svg width={width} height={height} style={{ position: 'absolute', inset: 0 }} aria-hidden="true">
        {status.stages.flatMap((s) =>
          s.needs.map((n) => {
            const from = at.get(n)!
            const to = at.get(s.stage)!
            return (
              <line
                key={`${n}-${s.stage}`}
                x1={from.x + BOX_W}
                y1={from.y + BOX_H / 2}
                x2={to.x}
                y2={to.y + BOX_H / 2}
                stroke="currentColor"
                strokeOpacity={0.4}
              />
            )
          }),
        )}
      </svg>
      {status.stages.map((s) => {
        const p = at.get(s.stage)!
        const link = outputLink(s.output)
        const now = live[s.stage]
        return (
          <div
            key={s.stage}
            role="listitem"
            aria-label={`stage ${s.stage}: ${now ?? s.state}`}
            className="card"
            style={{ position: 'absolute', left: p.x, top: p.y, width: BOX_W, height: BOX_H, padding: 6, boxSizing: 'border-box', fontSize: 12 }}
            title={s.reason}
          >
            <div>
              <strong>{s.stage}</strong> <span className="muted">{s.kind}</span>{' '}
              <span className={now ? (runBadge[now] ?? 'badge') : stateBadge[s.state]}>{now ?? s.state}</span>
            </div>
            <div className="muted" style={{ whiteSpace: 'nowrap', overflow: 'hidden', textOverflow: 'ellipsis' }}>
              {link ? <a href={link.href}>{link.label}</a> : s.reason}
            </div>
            <button type="button" className="btn btn-ghost" disabled={busy} onClick={() => onRunFrom(s.stage)} aria-label={`run from ${s.stage}`}>
              Run from here
            </button>
          </div>
        )
      })}
    </div>
  )
}

function RunStages({ run }: { run: PipelineRun }) {
  const columns: Array<Column<PipelineRun['stages'][number]>> = [
    { key: 'stage', header: 'Stage' },
    { key: 'kind', header: 'Kind' },
    { key: 'status', header: 'Status', render: (s) => <span className={runBadge[s.status] ?? 'badge'}>{s.status}</span> },
    {
      key: 'output',
      header: 'Output',
      sortable: false,
      render: (s) => {
        const link = outputLink(s.output)
        const trainingRun = s.output?.type === 'model' ? s.output.runId : null
        return (
          <>
            {link && <a href={link.href}>{link.label}</a>}
            {trainingRun && link?.href !== '#/runs' && (
              <>
                {' · '}
                <a href="#/runs">{trainingRun}</a>
              </>
            )}
            {s.error && <span className="muted"> {s.error}</span>}
          </>
        )
      },
    },
    {
      key: 'startedAt',
      header: 'Time',
      render: (s) => (s.finishedAt && s.status !== 'skipped' ? `${((Date.parse(s.finishedAt) - Date.parse(s.startedAt)) / 1000).toFixed(1)} s` : ''),
    },
  ]
  return <DataTable label={`Stages of run ${run.id}`} columns={columns} rows={run.stages} rowKey={(s) => s.stage} />
}

/** Pipelines: each lathe.yaml's graph with every stage's state, its run history, run and run from here. */
export default function PipelinesPage() {
  const known = useOperation('pipelines.list', {})
  const [file, setFile] = useState<string>('')
  const [typed, setTyped] = useState('')
  const [selectedRun, setSelectedRun] = useState<string | null>(null)
  const [live, setLive] = useState<Record<string, string>>({})
  const [activeRun, setActiveRun] = useState<string | null>(null)
  const [message, setMessage] = useState('')

  useEffect(() => {
    if (!file && known.data?.pipelines[0]) setFile(known.data.pipelines[0].file)
  }, [known.data, file])

  const status = useOperation('pipelines.status', { file: file || '-' })
  const pipeline = status.data?.pipeline
  const history = useOperation('pipelines.runs.list', pipeline ? { pipeline, limit: 50 } : { limit: 50 })
  const shownRun = useMemo(() => history.data?.runs.find((r) => r.id === selectedRun) ?? history.data?.runs[0] ?? null, [history.data, selectedRun])

  useEngineEvents(['pipelines.stage'], (event) => {
    const p = event.payload as { runId: string; stage: string; status: string; message: string }
    if (p.runId !== activeRun) return
    setLive((l) => ({ ...l, [p.stage]: p.status }))
    setMessage(`${p.stage}: ${p.message}`)
  })
  useEngineEvents(['pipelines.run'], (event) => {
    const p = event.payload as { runId: string; status: string; pipeline: string }
    if (p.status === 'running') return
    if (p.runId === activeRun) {
      setActiveRun(null)
      setLive({})
      setMessage('')
      notify(`pipeline ${p.pipeline}: ${p.status}`, p.status === 'passed' ? 'success' : 'error')
    }
    status.reload()
    history.reload()
    known.reload()
  })

  const start = async (force: string[]) => {
    try {
      const run = await api.call('pipelines.run', { file, force, trigger: 'ui' })
      setActiveRun(run.id)
      setSelectedRun(run.id)
      setLive({})
      history.reload()
    } catch (error) {
      notifyError(error)
    }
  }

  const runColumns: Array<Column<PipelineRun>> = [
    { key: 'id', header: 'Run', render: (r) => <span className="mono">{r.id}</span> },
    { key: 'status', header: 'Status', render: (r) => <span className={runBadge[r.status] ?? 'badge'}>{r.status}</span> },
    {
      key: 'stages',
      header: 'Ran / skipped',
      sortable: false,
      render: (r) => `${r.stages.filter((s) => s.status === 'ran').length} / ${r.stages.filter((s) => s.status === 'skipped').length}`,
    },
    { key: 'failedStage', header: 'Failed at', render: (r) => r.failedStage ?? '' },
    { key: 'trigger', header: 'By', render: (r) => (r.cause ? `${r.trigger} (${r.cause})` : r.trigger) },
    { key: 'startedAt', header: 'Started', render: (r) => new Date(r.startedAt).toLocaleString() },
  ]

  return (
    <section aria-labelledby="page-title" className="page">
      <h1 id="page-title">Pipelines</h1>
      <Card
        title={pipeline ? `Pipeline ${pipeline}` : 'Pipeline'}
        actions={
          <div className="toolbar">
            {(known.data?.pipelines.length ?? 0) > 0 && (
              <label className="field">
                Pipeline
                <select value={file} onChange={(e) => setFile(e.target.value)} aria-label="Pipeline">
                  {known.data!.pipelines.map((p) => (
                    <option key={p.file} value={p.file}>
                      {p.pipeline} ({p.file})
                    </option>
                  ))}
                </select>
              </label>
            )}
            <form
              className="toolbar"
              onSubmit={(e) => {
                e.preventDefault()
                if (typed.trim()) setFile(typed.trim())
              }}
            >
              <label className="field">
                File
                <input value={typed} onChange={(e) => setTyped(e.target.value)} placeholder="/path/to/lathe.yaml" aria-label="Pipeline file" />
              </label>
              <button type="submit" className="btn">
                Open
              </button>
            </form>
            <button type="button" className="btn btn-primary" disabled={!status.data || activeRun !== null} onClick={() => void start([])}>
              {activeRun ? 'Running…' : 'Run'}
            </button>
          </div>
        }
      >
        {!file ? (
          <EmptyState title="No pipeline yet">Open a lathe.yaml above, or run `lathe pipeline run` in its folder.</EmptyState>
        ) : (
          <>
            <ErrorBanner error={status.error} onRetry={status.reload} />
            {status.data && (
              <>
                <p className="muted">
                  {status.data.file}:{' '}
                  {status.data.upToDate ? 'every stage up to date' : `${status.data.stages.filter((s) => s.state === 'stale').length} stage(s) stale`}
                  {message && ` · ${message}`}
                </p>
                <PipelineGraph status={status.data} live={live} busy={activeRun !== null} onRunFrom={(stage) => void start([stage])} />
              </>
            )}
          </>
        )}
      </Card>
      <Card title="Runs">
        <ErrorBanner error={history.error} onRetry={history.reload} />
        <DataTable
          label="Pipeline runs"
          columns={runColumns}
          rows={history.data?.runs ?? []}
          rowKey={(r) => r.id}
          onRowClick={(r) => setSelectedRun(r.id)}
          selectedKey={shownRun?.id ?? null}
          empty={<EmptyState title="No runs yet">Press Run, or run `lathe pipeline run`.</EmptyState>}
        />
      </Card>
      {shownRun && (
        <Card title={`Run ${shownRun.id}: ${shownRun.status}`}>
          {shownRun.error && <p className="muted">{shownRun.error}</p>}
          <RunStages run={shownRun} />
        </Card>
      )}
    </section>
  )
}
