import { useState } from 'react'
import { api } from '../api.js'
import { Card, EmptyState, ErrorBanner, Facts, notify, useAction, useEngineEvents, useOperation } from '../components/common/index.js'
import { AlertsList } from '../components/monitoring/AlertsList.js'
import { DriftHistory, QualityHistory } from '../components/monitoring/DriftHistory.js'
import { FeatureOverlay } from '../components/monitoring/FeatureOverlay.js'
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
  const [model, setModel] = useState<string>('')
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
      {chosen && <ModelMonitoring key={chosen} model={chosen} />}
    </section>
  )
}

function ModelMonitoring({ model }: { model: string }) {
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
      {latestId && <LatestReport key={latestId} id={latestId} />}
      <Card title="Quality over time">
        <QualityHistory reports={reports.data ?? []} />
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

/** The newest drift report: its facts and every feature's reference-vs-current overlay. */
function LatestReport({ id }: { id: string }) {
  const latest = useOperation('monitoring.reports.get', { id })
  const drift = latest.data?.report.drift ?? null
  if (!latest.data || !drift) return <ErrorBanner error={latest.error} onRetry={latest.reload} />
  return (
    <Card title={`Latest report: ${shortTime(latest.data.time)}`}>
      <Facts
        items={[
          ['Model', `${drift.model} v${drift.version}`],
          ['Reference', `${drift.reference.label} (${drift.reference.rows} rows)`],
          ['Current', `${drift.current.label} (${drift.current.rows} rows)`],
          ['Dataset drift', <span key="d" className={drift.dataset_drift ? 'badge badge-bad' : 'badge badge-ok'}>{drift.dataset_drift ? 'yes' : 'no'}</span>],
          ['Drifted features', `${drift.drifted_features} of ${drift.features.length} (share ${formatStat(drift.drift_share)})`],
        ]}
      />
      <div className="feature-overlays">
        {drift.features.map((f) => (
          <FeatureOverlay key={f.name} feature={f} />
        ))}
        {drift.prediction && <FeatureOverlay feature={drift.prediction} />}
      </div>
    </Card>
  )
}
