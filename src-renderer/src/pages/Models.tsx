import { useCallback, useEffect, useState } from 'react'
import { api, type Output } from '../api.js'
import { Card, DataTable, EmptyState, ErrorBanner, notify, notifyError, useEngineEvents, useOperation, type Column } from '../components/common/index.js'
import { GateEditor } from '../components/models/GateEditor.js'
import { AuditList, HistoryTimeline } from '../components/models/HistoryTimeline.js'
import { ImportModel } from '../components/models/ImportModel.js'
import { VersionPanel } from '../components/models/VersionPanel.js'

type ModelSummary = Output<'registry.models.list'>[number]
type Version = Output<'registry.models.show'>['versions'][number]

const modelColumns: Array<Column<ModelSummary>> = [
  { key: 'name', header: 'Model', render: (m) => <strong>{m.name}</strong> },
  { key: 'versionCount', header: 'Versions', align: 'right' },
  {
    key: 'aliases',
    header: 'Aliases',
    sortable: false,
    render: (m) => m.aliases.map((a) => <span key={a.alias} className="badge">{`${a.alias} v${a.version}`}</span>),
  },
]

function headline(v: Version): string {
  const preferred = ['test.accuracy', 'test.r2', 'test.rmse']
  const name = preferred.find((k) => k in v.metrics) ?? Object.keys(v.metrics)[0]
  return name ? `${name} ${v.metrics[name]!.toFixed(4)}` : ''
}

const versionColumns: Array<Column<Version>> = [
  { key: 'version', header: 'Version', render: (v) => `v${v.version}` },
  { key: 'source', header: 'Source' },
  { key: 'dataset', header: 'Dataset', sortValue: (v) => v.dataset?.name ?? '', render: (v) => (v.dataset ? `${v.dataset.name}@${v.dataset.version}` : '—') },
  { key: 'metrics', header: 'Metric', sortable: false, render: headline },
  {
    key: 'aliases',
    header: 'Aliases',
    sortable: false,
    render: (v) => v.aliases.map((a) => <span key={a} className="badge badge-ok">{a}</span>),
  },
  { key: 'createdAt', header: 'Registered', render: (v) => new Date(v.createdAt).toLocaleString() },
]

/** Models, their versions and aliases; a version page with metrics, card, lineage and promote; alias history. */
export default function ModelsPage() {
  const models = useOperation('registry.models.list', {})
  const [selected, setSelected] = useState<string | null>(null)
  const [version, setVersion] = useState<number | null>(null)
  const [generation, setGeneration] = useState(0)
  const refresh = useCallback(() => setGeneration((g) => g + 1), [])

  // Changes from anywhere (the CLI, continuous training, auto-registration) show up at once.
  useEngineEvents(['registry.*'], refresh)
  useEffect(() => models.reload(), [generation, models.reload])

  const current = selected ?? models.data?.[0]?.name ?? null

  return (
    <section aria-labelledby="page-title" className="page">
      <h1 id="page-title">Models</h1>
      <Card title="Import">
        <ImportModel
          onImported={(name) => {
            setSelected(name)
            setVersion(null)
            refresh()
          }}
        />
      </Card>
      <ErrorBanner error={models.error} onRetry={models.reload} />
      {models.data && models.data.length === 0 && (
        <EmptyState title="No models yet">
          Register a finished run (<span className="mono">lathe models register RUN --name M</span>, or train with “register as”), or import an
          ONNX file with <span className="mono">lathe models import FILE.onnx --name M</span>.
        </EmptyState>
      )}
      {models.data && models.data.length > 0 && (
        <Card title="Registered models">
          <DataTable
            label="Models"
            columns={modelColumns}
            rows={models.data}
            rowKey={(m) => m.name}
            selectedKey={current}
            onRowClick={(m) => {
              setSelected(m.name)
              setVersion(null)
            }}
          />
        </Card>
      )}
      {current && <ModelDetail key={current} model={current} version={version} onVersion={setVersion} generation={generation} onChanged={refresh} />}
    </section>
  )
}

function ModelDetail(props: { model: string; version: number | null; onVersion: (v: number) => void; generation: number; onChanged: () => void }) {
  const { model, generation, onChanged } = props
  const shown = useOperation('registry.models.show', { model })
  const history = useOperation('registry.history', { model })
  useEffect(() => {
    shown.reload()
    history.reload()
  }, [generation, shown.reload, history.reload])

  const rollback = async (alias: string) => {
    try {
      const r = await api.call('registry.rollback', { model, alias })
      notify(`${model}:${alias} rolled back to v${r.version}`, { kind: 'success', detail: `was v${r.previous}` })
      onChanged()
    } catch (e) {
      notifyError(e)
    }
  }

  if (shown.error) return <ErrorBanner error={shown.error} onRetry={shown.reload} />
  if (!shown.data) return null
  const versions = shown.data.versions
  const version = props.version ?? versions.at(-1)?.version ?? null
  return (
    <>
      <Card title={`Aliases of ${model}`}>
        {shown.data.model.aliases.length === 0 ? (
          <p className="muted">No alias yet: open a version below and promote it.</p>
        ) : (
          <table className="data-table" aria-label="Aliases">
            <thead>
              <tr>
                <th>alias</th>
                <th>version</th>
                <th>since</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {shown.data.model.aliases.map((a) => (
                <tr key={a.alias} data-alias={a.alias}>
                  <td>
                    <strong>{a.alias}</strong>
                  </td>
                  <td className="alias-version">v{a.version}</td>
                  <td>{new Date(a.since).toLocaleString()}</td>
                  <td>
                    <button type="button" className="btn btn-ghost" onClick={() => rollback(a.alias)}>
                      Roll back {a.alias}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
      <Card title="Promotion gates">
        <GateEditor model={model} gates={shown.data.gates} onSaved={onChanged} />
      </Card>
      <Card title="Versions">
        <DataTable label="Versions" columns={versionColumns} rows={versions} rowKey={(v) => String(v.version)} selectedKey={version === null ? null : String(version)} onRowClick={(v) => props.onVersion(v.version)} />
      </Card>
      {version !== null && <VersionPanel key={version} model={model} version={version} generation={generation} onChanged={onChanged} />}
      <Card title="History">
        <ErrorBanner error={history.error} />
        {history.data && (
          <>
            <HistoryTimeline moves={history.data.moves} />
            <AuditList entries={history.data.audit} />
          </>
        )}
      </Card>
    </>
  )
}
