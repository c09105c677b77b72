import { useState } from 'react'
import { api, type Output } from '../api.js'
import { Card, DataTable, EmptyState, ErrorBanner, formatNumber, formatTime, useAction, useOperation, type Column } from '../components/common/index.js'
import { hashOf, useNavigation, useRoutePath } from '../state/navigation.js'
import { GateEditor } from '../components/models/GateEditor.js'
import { AuditList, HistoryTimeline } from '../components/models/HistoryTimeline.js'
import { ImportModel } from '../components/models/ImportModel.js'
import { RemoveFromRegistry } from '../components/models/RemoveFromRegistry.js'
import { VersionPanel } from '../components/models/VersionPanel.js'
import { SyncMark, useSyncMarks, type Marks } from '../components/team/SyncMark.js'

type ModelSummary = Output<'registry.models.list'>[number]
type Version = Output<'registry.models.show'>['versions'][number]

const modelColumns = (marks: Marks | null): Array<Column<ModelSummary>> => [
  {
    key: 'name',
    header: 'Model',
    render: (m) => (
      <>
        <strong>{m.name}</strong>
        {m.archivedAt && <span className="badge badge-warn"> archived</span>}
        <SyncMark marks={marks} kind="models" id={m.name} />
      </>
    ),
  },
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
  return name ? `${name} ${formatNumber(v.metrics[name])}` : ''
}

const versionColumns = (marks: Marks | null): Array<Column<Version>> => [
  {
    key: 'version',
    header: 'Version',
    render: (v) => (
      <>
        v{v.version}
        {v.archivedAt && <span className="badge badge-warn"> archived</span>}
        <SyncMark marks={marks} kind="modelVersions" id={v.versionId} />
      </>
    ),
  },
  { key: 'source', header: 'Source' },
  { key: 'dataset', header: 'Dataset', sortValue: (v) => v.dataset?.name ?? '', render: (v) => (v.dataset ? `${v.dataset.name}@${v.dataset.version}` : '—') },
  { key: 'metrics', header: 'Metric', sortable: false, render: headline },
  {
    key: 'aliases',
    header: 'Aliases',
    sortable: false,
    render: (v) =>
      v.aliases.map((a) => (
        <span key={a} className="badge badge-ok">
          {a}
        </span>
      )),
  },
  { key: 'createdAt', header: 'Registered', render: (v) => new Date(v.createdAt).toLocaleString() },
]

/** Models, their versions and aliases; a version page with metrics, card, lineage and promote; alias history. */
export default function ModelsPage() {
  const [showArchived, setShowArchived] = useState(false)
  const models = useOperation('registry.models.list', { includeArchived: showArchived })
  // The URL says what is open: #/models/<name>/<version>.
  const [routeModel, routeVersion] = useRoutePath()
  const { go } = useNavigation()
  const selected = routeModel ?? null
  const version = routeVersion && /^\d+$/.test(routeVersion) ? Number(routeVersion) : null
  const setSelected = (name: string) => go('models', name)
  const setVersion = (v: number | null) => go('models', current, v)
  const refresh = models.reload

  const current = selected ?? models.data?.[0]?.name ?? null
  const marks = useSyncMarks({ models: (models.data ?? []).map((m) => m.name) })

  return (
    <section aria-labelledby="page-title" className="page">
      <h1 id="page-title">Models</h1>
      <Card title="Import">
        <ImportModel
          onImported={(name) => {
            setSelected(name)
            refresh()
          }}
        />
      </Card>
      <ErrorBanner error={models.error} onRetry={models.reload} />
      {models.loading && <p className="muted">Loading models…</p>}
      {models.data && models.data.length === 0 && (
        <EmptyState title="No models yet">
          Register a finished run (<span className="mono">lathe models register RUN --name M</span>, or train with “register as”), or import an ONNX file with{' '}
          <span className="mono">lathe models import FILE.onnx --name M</span>.
        </EmptyState>
      )}
      {models.data && models.data.length > 0 && (
        <Card
          title="Registered models"
          actions={
            <label className="checkbox">
              <input type="checkbox" checked={showArchived} onChange={(e) => setShowArchived(e.target.checked)} /> Show archived
            </label>
          }
        >
          <DataTable
            label="Models"
            columns={modelColumns(marks)}
            rows={models.data}
            rowKey={(m) => m.name}
            selectedKey={current}
            onRowClick={(m) => setSelected(m.name)}
          />
        </Card>
      )}
      {current && <ModelDetail key={current} model={current} version={version} onVersion={setVersion} onChanged={refresh} />}
    </section>
  )
}

function ModelDetail(props: { model: string; version: number | null; onVersion: (v: number) => void; onChanged: () => void }) {
  const { model } = props
  const { go } = useNavigation()
  const shown = useOperation('registry.models.show', { model })
  const history = useOperation('registry.history', { model })
  // Gate edits send no event: read again after this page changes something.
  const onChanged = () => {
    shown.reload()
    history.reload()
    props.onChanged()
  }

  const [confirming, setConfirming] = useState<string | null>(null)
  const marks = useSyncMarks({ modelVersions: (shown.data?.versions ?? []).map((v) => v.versionId) })
  const rollingBack = useAction((alias: string) => api.call('registry.rollback', { model, alias }), {
    success: (r) => `${model}:${r.alias} rolled back to v${r.version} (was v${r.previous})`,
  })
  const rollback = async (alias: string) => {
    if (await rollingBack.run(alias)) {
      setConfirming(null)
      onChanged()
    }
  }
  const aliasColumns: Array<Column<ModelSummary['aliases'][number]>> = [
    { key: 'alias', header: 'alias', render: (a) => <strong>{a.alias}</strong> },
    {
      key: 'version',
      header: 'version',
      render: (a) => (
        <a className="alias-version" href={hashOf('models', model, a.version)}>
          v{a.version}
        </a>
      ),
    },
    { key: 'since', header: 'since', render: (a) => formatTime(a.since) },
    {
      key: 'actions',
      header: '',
      sortable: false,
      render: (a) => (
        <button type="button" className="btn btn-ghost" onClick={() => setConfirming(a.alias)}>
          Roll back {a.alias}…
        </button>
      ),
    },
  ]

  if (shown.error) return <ErrorBanner error={shown.error} onRetry={shown.reload} />
  if (!shown.data) return <p className="muted">Loading {model}…</p>
  const versions = shown.data.versions
  const knownMetrics = [...new Set(versions.flatMap((v) => Object.keys(v.metrics)))].sort()
  const version = props.version ?? versions.at(-1)?.version ?? null
  return (
    <>
      <Card title={`Aliases of ${model}`}>
        {shown.data.model.aliases.length === 0 ? (
          <p className="muted">No alias yet: open a version below and promote it.</p>
        ) : (
          <DataTable
            label="Aliases"
            columns={aliasColumns}
            rows={shown.data.model.aliases}
            rowKey={(a) => a.alias}
            rowData={(a) => ({ 'data-alias': a.alias })}
          />
        )}
        {confirming && (
          <div className="confirm" role="alertdialog" aria-label={`Roll back ${confirming}`}>
            <p>
              Roll back{' '}
              <strong>
                {model}:{confirming}
              </strong>
              ? It moves back to the version it pointed at before, and everything that follows {confirming} (the endpoint, monitors) switches at once. The move
              is recorded in the history.
            </p>
            <ErrorBanner error={rollingBack.error} />
            <div className="toolbar">
              <button type="button" className="btn btn-primary" disabled={rollingBack.busy} onClick={() => void rollback(confirming)}>
                Roll back {confirming}
              </button>
              <button type="button" className="btn btn-ghost" onClick={() => setConfirming(null)}>
                Keep it
              </button>
            </div>
          </div>
        )}
      </Card>
      <Card title="Promotion gates">
        <GateEditor model={model} gates={shown.data.gates} knownMetrics={knownMetrics} onSaved={onChanged} />
      </Card>
      <Card
        title="Versions"
        actions={
          <RemoveFromRegistry
            model={model}
            archived={Boolean(shown.data.model.archivedAt)}
            onRemoved={() => {
              props.onChanged()
              go('models')
            }}
          />
        }
      >
        <DataTable
          label="Versions"
          columns={versionColumns(marks)}
          rows={versions}
          rowKey={(v) => String(v.version)}
          selectedKey={version === null ? null : String(version)}
          onRowClick={(v) => props.onVersion(v.version)}
        />
      </Card>
      {version !== null && <VersionPanel key={version} model={model} version={version} onChanged={onChanged} />}
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
