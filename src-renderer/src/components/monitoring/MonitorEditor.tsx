import { useState } from 'react'
import { api } from '../../api.js'
import { notify, notifyError } from '../common/index.js'
import type { MonitorWithRules } from './format.js'

const ops = ['>', '>=', '<', '<=', '==', '!='] as const

/** A monitor whose rules can retrain and move an alias: running it by hand asks first. */
function movesAlias(monitor: MonitorWithRules): boolean {
  return monitor.rules.some((r) => r.actions.some((a) => a.type === 'retrain'))
}

/** Add a monitor for the model, and alert rules to a monitor; run one now. */
export function MonitorEditor({ model, monitors, onChanged }: { model: string; monitors: MonitorWithRules[]; onChanged: () => void }) {
  const [name, setName] = useState(`${model}-drift`)
  const [last, setLast] = useState(1000)
  const [everyMinutes, setEveryMinutes] = useState('')
  const [everyRequests, setEveryRequests] = useState('')
  const [monitor, setMonitor] = useState('')
  const [metric, setMetric] = useState('dataset_drift')
  const [op, setOp] = useState<(typeof ops)[number]>('>=')
  const [threshold, setThreshold] = useState('1')
  const [webhook, setWebhook] = useState('')
  const [retrain, setRetrain] = useState(false)
  const [retrainDataset, setRetrainDataset] = useState('')
  const [withTraffic, setWithTraffic] = useState(false)
  const target = monitor || monitors[0]?.name || ''
  const [confirming, setConfirming] = useState<string | null>(null)

  const addMonitor = async () => {
    const schedule =
      everyMinutes || everyRequests
        ? { everyMinutes: everyMinutes ? Number(everyMinutes) : undefined, everyRequests: everyRequests ? Number(everyRequests) : undefined }
        : null
    try {
      await api.call('monitoring.monitors.add', { name, model, spec: { window: { last }, schedule } })
      notify(`Monitor ${name} added`, 'success')
      onChanged()
    } catch (error) {
      notifyError(error)
    }
  }
  const addRule = async () => {
    const actions: Array<Record<string, unknown>> = [{ type: 'notify' }]
    if (webhook) actions.push({ type: 'webhook', url: webhook })
    if (retrain) actions.push({ type: 'retrain', withLabelledTraffic: withTraffic, ...(retrainDataset && !withTraffic ? { dataset: retrainDataset } : {}) })
    try {
      await api.call('monitoring.rules.add', {
        monitor: target,
        name: `${metric} ${op} ${threshold}`,
        metric,
        op,
        threshold: Number(threshold),
        actions: actions as never,
      })
      notify('Alert rule added', 'success')
      onChanged()
    } catch (error) {
      notifyError(error)
    }
  }
  const runNow = async (monitorName: string) => {
    try {
      const result = await api.call('monitoring.monitors.run', { monitor: monitorName })
      notify(
        result.status === 'ran' ? `${monitorName}: ${result.alerts.length} alert(s)` : `${monitorName}: skipped: ${result.reason}`,
        result.alerts.length ? 'error' : 'info',
      )
      onChanged()
    } catch (error) {
      notifyError(error)
    }
  }

  return (
    <div className="monitor-editor">
      {monitors.length > 0 && (
        <ul className="monitor-list">
          {monitors.map((m) => (
            <li key={m.id}>
              <strong>{m.name}</strong>{' '}
              <span className="muted">
                window {m.spec.window.last ? `last ${m.spec.window.last} rows` : `${m.spec.window.minutes} min`};{' '}
                {m.spec.schedule
                  ? [
                      m.spec.schedule.everyMinutes && `every ${m.spec.schedule.everyMinutes} min`,
                      m.spec.schedule.everyRequests && `every ${m.spec.schedule.everyRequests} rows`,
                    ]
                      .filter(Boolean)
                      .join(', ')
                  : 'run by hand'}
                ; last run {m.lastRunAt ? new Date(m.lastRunAt).toLocaleString() : 'never'}
              </span>{' '}
              <button type="button" className="btn" onClick={() => (movesAlias(m) ? setConfirming(m.name) : void runNow(m.name))}>
                Run now{movesAlias(m) ? '…' : ''}
              </button>
              {confirming === m.name && (
                <div className="confirm" role="alertdialog" aria-label={`Run ${m.name}`}>
                  <p>
                    A rule of {m.name} retrains {model} and promotes the new version to{' '}
                    <strong>{[...new Set(m.rules.flatMap((r) => r.actions.flatMap((a) => (a.type === 'retrain' ? [a.alias] : []))))].join(', ')}</strong> if its
                    gate passes, when the rule fires. Run it now?
                  </p>
                  <div className="toolbar">
                    <button
                      type="button"
                      className="btn btn-primary"
                      onClick={() => {
                        setConfirming(null)
                        void runNow(m.name)
                      }}
                    >
                      Run {m.name}
                    </button>
                    <button type="button" className="btn btn-ghost" onClick={() => setConfirming(null)}>
                      Not now
                    </button>
                  </div>
                </div>
              )}
              <ul>
                {m.rules.map((r) => (
                  <li key={r.id} className="muted">
                    {r.metric} {r.op} {r.threshold} → {r.actions.map((a) => a.type).join(' + ')}
                  </li>
                ))}
              </ul>
            </li>
          ))}
        </ul>
      )}
      <form
        className="toolbar"
        aria-label="Add monitor"
        onSubmit={(e) => {
          e.preventDefault()
          void addMonitor()
        }}
      >
        <label className="field">
          Monitor name
          <input value={name} onChange={(e) => setName(e.target.value)} required />
        </label>
        <label className="field">
          Window (last rows)
          <input type="number" min={1} value={last} onChange={(e) => setLast(Number(e.target.value))} />
        </label>
        <label className="field">
          Every N minutes
          <input type="number" min={0} value={everyMinutes} onChange={(e) => setEveryMinutes(e.target.value)} placeholder="off" />
        </label>
        <label className="field">
          Every N rows
          <input type="number" min={0} value={everyRequests} onChange={(e) => setEveryRequests(e.target.value)} placeholder="off" />
        </label>
        <button type="submit" className="btn btn-primary">
          Add monitor
        </button>
      </form>
      {monitors.length > 0 && (
        <form
          className="toolbar"
          aria-label="Add alert rule"
          onSubmit={(e) => {
            e.preventDefault()
            void addRule()
          }}
        >
          <label className="field">
            Monitor
            <select value={target} onChange={(e) => setMonitor(e.target.value)}>
              {monitors.map((m) => (
                <option key={m.id}>{m.name}</option>
              ))}
            </select>
          </label>
          <label className="field">
            Value
            <input value={metric} onChange={(e) => setMetric(e.target.value)} list="monitoring-metrics" aria-label="Rule value" />
            <datalist id="monitoring-metrics">
              {['dataset_drift', 'drift_share', 'quality.accuracy', 'quality.rmse', 'traffic.error_rate', 'traffic.p99_latency_ms', 'prediction.drifted'].map(
                (m) => (
                  <option key={m} value={m} />
                ),
              )}
            </datalist>
          </label>
          <label className="field">
            Comparison
            <select value={op} onChange={(e) => setOp(e.target.value as (typeof ops)[number])}>
              {ops.map((o) => (
                <option key={o}>{o}</option>
              ))}
            </select>
          </label>
          <label className="field">
            Threshold
            <input value={threshold} onChange={(e) => setThreshold(e.target.value)} inputMode="decimal" />
          </label>
          <label className="field">
            Webhook URL
            <input value={webhook} onChange={(e) => setWebhook(e.target.value)} placeholder="optional" />
          </label>
          <label className="field">
            <span>
              <input type="checkbox" checked={retrain} onChange={(e) => setRetrain(e.target.checked)} /> Retrain
            </span>
            <input
              value={retrainDataset}
              onChange={(e) => setRetrainDataset(e.target.value)}
              placeholder="dataset@version (default: latest)"
              disabled={!retrain || withTraffic}
            />
          </label>
          <label className="field">
            <span>
              <input type="checkbox" checked={withTraffic} onChange={(e) => setWithTraffic(e.target.checked)} disabled={!retrain} /> plus labelled traffic
            </span>
          </label>
          <button type="submit" className="btn btn-primary">
            Add rule
          </button>
        </form>
      )}
    </div>
  )
}
