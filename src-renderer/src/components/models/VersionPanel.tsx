import { useState, type ReactNode } from 'react'
import { api } from '../../api.js'
import { Card, DataTable, ErrorBanner, Facts, formatNumber, notify, notifyError, useOperation, type Column } from '../common/index.js'
import { useNavigation } from '../../state/navigation.js'
import { SyncMark, useSyncMarks } from '../team/SyncMark.js'
import { LineageGraph } from './LineageGraph.js'
import { Markdown } from './Markdown.js'
import { PromotePanel } from './PromotePanel.js'
import { RemoveFromRegistry } from './RemoveFromRegistry.js'
import { VersionDetails } from './VersionDetails.js'
import './models.css'

function tensorText(t: { name: string; dtype: string; shape: Array<number | null> }): string {
  return `${t.name}: ${t.dtype}${t.shape.length ? ` [${t.shape.map((d) => d ?? 'N').join(', ')}]` : ''}`
}

/** One version: facts, metrics, model card (editable), lineage graph, promote. */
export function VersionPanel({ model, version, onChanged }: { model: string; version: number; onChanged: () => void }) {
  const shown = useOperation('registry.versions.show', { model, version: String(version) })
  const lineage = useOperation('registry.lineage', { model, version: String(version) })
  const [editing, setEditing] = useState<string | null>(null)
  const [saveError, setSaveError] = useState<unknown>(null)
  const { go } = useNavigation()
  const marks = useSyncMarks({ modelVersions: shown.data ? [shown.data.version.versionId] : [] })

  if (shown.error) return <ErrorBanner error={shown.error} onRetry={shown.reload} />
  if (!shown.data) return <p className="muted">Loading v{version}…</p>
  const v = shown.data.version
  const metrics = Object.keys(v.metrics)

  const saveCard = async () => {
    try {
      await api.call('registry.versions.edit', { model, version: String(version), card: editing })
      notify(`Model card of ${model} v${version} saved`, { kind: 'success' })
      setEditing(null)
      setSaveError(null)
      shown.reload()
    } catch (e) {
      setSaveError(e)
    }
  }

  return (
    <div aria-label={`Version ${version}`} role="region">
      <Card
        title={`${model} v${v.version}`}
        actions={
          <>
            {v.archivedAt && <span className="badge badge-warn">archived</span>}
            {v.aliases.map((a) => (
              <span key={a} className="badge badge-ok">
                {a}
              </span>
            ))}
          </>
        }
      >
        <Facts
          items={[
            ['Source', v.source === 'run' ? `run ${v.runId}` : v.source === 'import' ? 'imported ONNX' : 'imported package'],
            ['Dataset', v.dataset ? `${v.dataset.name}@${v.dataset.version}` : '—'],
            ['Task', v.signature.task ? `${v.signature.task}${v.signature.target ? ` of ${v.signature.target}` : ''}` : '—'],
            ['Inputs', v.signature.inputs.map(tensorText).join(', ')],
            ['Outputs', v.signature.outputs.map(tensorText).join(', ')],
            ['ONNX', <span className="mono">{v.onnxSha256.slice(0, 16)}…</span>],
            ['Registered', `${new Date(v.createdAt).toLocaleString()} by ${v.createdBy}`],
            ...(marks?.connected ? [['Team', <SyncMark marks={marks} kind="modelVersions" id={v.versionId} />] as [string, ReactNode]] : []),
          ]}
        />
      </Card>
      <Card
        title="Details"
        actions={
          <>
            <DownloadPackage model={model} version={v.version} format="package" />
            <DownloadPackage model={model} version={v.version} format="onnx" />
            <RemoveFromRegistry
              model={model}
              version={v.version}
              archived={Boolean(v.archivedAt)}
              onRemoved={() => {
                onChanged()
                shown.reload()
                go('models', model)
              }}
            />
          </>
        }
      >
        <VersionDetails key={`${v.description}|${v.intendedUse}|${JSON.stringify(v.tags)}`} model={model} version={v} onSaved={shown.reload} />
      </Card>
      <Card title="Metrics">{metrics.length ? <MetricsTable metrics={v.metrics} /> : <p className="muted">No metrics recorded for this version.</p>}</Card>
      <Card title="Promote">
        <PromotePanel model={model} version={v.version} onPromoted={onChanged} />
      </Card>
      <Card title="Lineage">
        <ErrorBanner error={lineage.error} />
        {lineage.data && <LineageGraph lineage={lineage.data} />}
      </Card>
      <Card
        title={`Model card${shown.data.card.generated ? ' (generated)' : ''}`}
        actions={
          editing === null ? (
            <button type="button" className="btn" onClick={() => setEditing(shown.data!.card.markdown)}>
              Edit
            </button>
          ) : (
            <>
              <button type="button" className="btn btn-primary" onClick={saveCard}>
                Save card
              </button>
              <button type="button" className="btn btn-ghost" onClick={() => setEditing(null)}>
                Cancel
              </button>
            </>
          )
        }
      >
        <ErrorBanner error={saveError} />
        {editing === null ? (
          <Markdown text={shown.data.card.markdown} />
        ) : (
          <textarea aria-label="Model card markdown" value={editing} onChange={(e) => setEditing(e.target.value)} rows={20} className="card-editor" />
        )}
      </Card>
    </div>
  )
}

/** Metrics pivoted: one row per metric, one column per split (`test.accuracy` -> row accuracy, column test). */
function MetricsTable({ metrics }: { metrics: Record<string, number> }) {
  const parts = new Set<string>()
  const rows = new Map<string, Record<string, number>>()
  for (const [key, value] of Object.entries(metrics)) {
    const dot = key.indexOf('.')
    const part = dot > 0 ? key.slice(0, dot) : 'value'
    const name = dot > 0 ? key.slice(dot + 1) : key
    parts.add(part)
    rows.set(name, { ...rows.get(name), [part]: value })
  }
  const splits = [...parts].sort((a, b) => (a === 'test' ? -1 : b === 'test' ? 1 : a.localeCompare(b)))
  const columns: Array<Column<{ name: string; values: Record<string, number> }>> = [
    { key: 'name', header: 'metric' },
    ...splits.map((c) => ({
      key: c,
      header: c,
      align: 'right' as const,
      sortValue: (r: { values: Record<string, number> }) => r.values[c],
      render: (r: { values: Record<string, number> }) => formatNumber(r.values[c]),
    })),
  ]
  const lines = [...rows.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([name, values]) => ({ name, values }))
  return <DataTable label="Version metrics" columns={columns} rows={lines} rowKey={(r) => r.name} />
}

/** The portable package (zip) of this version, or its bare ONNX graph, as a browser download. */
function DownloadPackage({ model, version, format }: { model: string; version: number; format: 'package' | 'onnx' }) {
  const download = async () => {
    try {
      const pkg = await api.call('registry.export', { model, version: String(version), format })
      const bytes = Uint8Array.from(atob(pkg.content ?? ''), (c) => c.charCodeAt(0))
      const url = URL.createObjectURL(new Blob([bytes], { type: format === 'onnx' ? 'application/octet-stream' : 'application/zip' }))
      const link = document.createElement('a')
      link.href = url
      link.download = pkg.fileName
      link.click()
      setTimeout(() => URL.revokeObjectURL(url), 1000)
    } catch (e) {
      notifyError(e)
    }
  }
  return (
    <button type="button" className="btn" onClick={download}>
      {format === 'onnx' ? 'Download ONNX' : 'Download package'}
    </button>
  )
}
