import { api } from '../api.js'
import { Card, EmptyState, ErrorBanner, Facts, notify, useAction, useEngineEvents, useOperation } from '../components/common/index.js'
import { AlertsList } from '../components/monitoring/AlertsList.js'
import { DriftHistory, QualityHistory } from '../components/monitoring/DriftHistory.js'
import { FeatureOverlay } from '../components/monitoring/FeatureOverlay.js'
import { FeatureTable } from '../components/monitoring/FeatureTable.js'
import { LabelUpload } from '../components/monitoring/LabelUpload.js'
import { hashOf, useNavigation, useRoutePath } from '../state/navigation.js'
import { formatStat, shortTime } from '../components/monitoring/format.js'
import { MonitorEditor } from '../components/monitoring/MonitorEditor.js'
import '../components/monitoring/monitoring.css'

/**
 * Monitoring, per model: drift over time (dataset share and each feature against its
 * threshold), the latest report's distribution overlays, quality once labels arrive,
 * alerts with acknowledge, and the monitor and rule editor.
 */
export default function MonitoringPage() {
  const models = useOperation('registry.models.list', {})
  // The URL names the model and, optionally, a report: #/monitoring/<model>/reports/<id>.
  const [model = '', , reportId] = useRoutePath()
  const { go } = useNavigation()
  const setModel = (name: string) => go('monitoring', name)
  const chosen = model || models.data?.[0]?.name || ''
  return (
    <section aria-labelledby="page-title" className="page">
      <h1 id="page-title">Monitoring</h1>
      <ErrorBanner error={models.error} onRetry={models.reload} />
      {models.data && models.data.length === 0 && (
        <EmptyState title="No models to monitor yet">Register and serve a model; its traffic is compared with its training data here.</EmptyState>
      )}
      {models.data && models.data.length > 0 && (
        <div className="toolbar">
          <label className="field">
            Model
            <select value={chosen} onChange={(e) => setModel(e.target.value)} aria-label="Model to monitor">
              {models.data.map((m) => (
                <option key={m.name}>{m.name}</option>
              ))}
            </select>
          </label>
        </div>
      )}
      {chosen && <ModelMonitoring key={chosen} model={chosen} reportId={reportId ?? null} />}
    </section>
  )
}

function ModelMonitoring({ model, reportId }: { model: string; reportId: string | null }) {
  const reports = useOperation('monitoring.reports.list', { model })
  const alerts = useOperation('monitoring.alerts.list', { model })
  const monitors = useOperation('monitoring.monitors.list', { model })
  const latestId = reports.data?.filter((r) => r.values.drift_share !== undefined).at(-1)?.id ?? null
  const reloadAll = () => {
    reports.reload()
    alerts.reload()
    monitors.reload()
  }
  useEngineEvents(['monitoring.alert'], (event) => {
    if (event.payload?.alert?.model === model) notify(event.payload.alert.message, 'error')
  })

  const check = useAction(() => api.call('monitoring.drift', { model }))
  const checkNow = async () => {
    if (await check.run()) reloadAll()
  }
  const openAlerts = (alerts.data ?? []).filter((a) => a.status === 'open').length

  return (
    <>
      <Card
        title="Drift over time"
        actions={
          <button type="button" className="btn" onClick={() => void checkNow()} disabled={check.busy}>
            {check.busy ? 'Checking…' : 'Check drift now'}
          </button>
        }
      >
        <ErrorBanner error={reports.error ?? check.error} onRetry={reports.error ? reports.reload : undefined} />
        {reports.loading ? (
          <p className="muted">Loading reports…</p>
        ) : reports.data && reports.data.length === 0 ? (
          <EmptyState title="No drift reports yet">Send traffic to the endpoint, then check drift now or add a monitor below.</EmptyState>
        ) : (
          <DriftHistory reports={reports.data ?? []} />
        )}
      </Card>
      {(reportId ?? latestId) && <LatestReport key={reportId ?? latestId} id={(reportId ?? latestId)!} latest={!reportId || reportId === latestId} />}
      <Card title="Quality over time">
        <QualityHistory reports={reports.data ?? []} />
      </Card>
      <Card title="Late labels">
        <LabelUpload model={model} onRecorded={reports.reload} />
      </Card>
      <Card title={`Alerts${openAlerts ? ` (${openAlerts} open)` : ''}`}>
        <ErrorBanner error={alerts.error} onRetry={alerts.reload} />
        <AlertsList alerts={alerts.data ?? []} onChanged={alerts.reload} />
      </Card>
      <Card title="Monitors and alert rules">
        <ErrorBanner error={monitors.error} onRetry={monitors.reload} />
        <MonitorEditor model={model} monitors={monitors.data ?? []} onChanged={reloadAll} />
      </Card>
    </>
  )
}

/** A drift report (the newest by default): its facts, a sortable table of every column, overlays, export. */
function LatestReport({ id, latest: isLatest }: { id: string; latest: boolean }) {
  const latest = useOperation('monitoring.reports.get', { id })
  const drift = latest.data?.report.drift ?? null
  const exporting = useAction(async (format: 'html' | 'json') => {
    const file = await api.call('monitoring.reports.export', { id, format })
    const url = URL.createObjectURL(new Blob([file.content], { type: file.mediaType }))
    const link = document.createElement('a')
    link.href = url
    link.download = file.fileName
    link.click()
    setTimeout(() => URL.revokeObjectURL(url), 1000)
    return file
  })
  if (latest.loading) return <p className="muted">Loading report…</p>
  if (!latest.data || !drift) return <ErrorBanner error={latest.error} onRetry={latest.reload} />
  return (
    <Card
      title={
        <>
          {isLatest ? 'Latest report' : 'Report'}: {shortTime(latest.data.time)}{' '}
          <a className="muted report-link" href={hashOf('monitoring', latest.data.model, 'reports', id)}>
            link
          </a>
        </>
      }
      actions={
        <>
          <button type="button" className="btn" disabled={exporting.busy} onClick={() => void exporting.run('html')}>
            Export HTML
          </button>
          <button type="button" className="btn btn-ghost" disabled={exporting.busy} onClick={() => void exporting.run('json')}>
            Export JSON
          </button>
        </>
      }
    >
      <ErrorBanner error={exporting.error} />
      <Facts
        items={[
          ['Model', `${drift.model} v${drift.version}`],
          ['Reference', `${drift.reference.label} (${drift.reference.rows} rows)`],
          ['Current', `${drift.current.label} (${drift.current.rows} rows)`],
          [
            'Dataset drift',
            <span key="d" className={drift.dataset_drift ? 'badge badge-bad' : 'badge badge-ok'}>
              {drift.dataset_drift ? 'yes' : 'no'}
            </span>,
          ],
          ['Drifted features', `${drift.drifted_features} of ${drift.features.length} (share ${formatStat(drift.drift_share)})`],
        ]}
      />
      <FeatureTable features={[...drift.features, ...(drift.prediction ? [drift.prediction] : [])]} />
      <div className="feature-overlays">
        {drift.features.map((f) => (
          <FeatureOverlay key={f.name} feature={f} />
        ))}
        {drift.prediction && <FeatureOverlay feature={drift.prediction} />}
      </div>
    </Card>
  )
}
