import { useState } from 'react'
import { api, type Output } from '../../api.js'
import { ErrorBanner, notify } from '../common/index.js'
import './models.css'

type Check = Output<'registry.promote.check'>

/**
 * Promote in two steps: run the alias's gate and show every check, then confirm.
 * A failed gate can still be forced, with a reason that goes into the audit log.
 */
export function PromotePanel({ model, version, onPromoted }: { model: string; version: number; onPromoted: () => void }) {
  const [alias, setAlias] = useState('production')
  const [check, setCheck] = useState<Check | null>(null)
  const [checking, setChecking] = useState(false)
  const [force, setForce] = useState(false)
  const [reason, setReason] = useState('')
  const [error, setError] = useState<unknown>(null)

  const runCheck = async () => {
    setChecking(true)
    setError(null)
    setCheck(null)
    try {
      setCheck(await api.call('registry.promote.check', { model, version, alias }))
    } catch (e) {
      setError(e)
    } finally {
      setChecking(false)
    }
  }

  const confirm = async () => {
    setError(null)
    try {
      const result = await api.call('registry.promote', { model, version, alias, force, reason: reason || undefined })
      notify(`${model}:${result.alias} → v${result.version}`, { kind: 'success', detail: result.forced ? 'forced past a failed gate' : undefined })
      setCheck(null)
      setForce(false)
      setReason('')
      onPromoted()
    } catch (e) {
      setError(e)
    }
  }

  return (
    <div aria-label="Promote" role="group">
      <div className="toolbar">
        <label className="field">
          <span>Alias</span>
          <input
            list="alias-suggestions"
            value={alias}
            aria-label="Alias"
            onChange={(e) => {
              setAlias(e.target.value.trim())
              setCheck(null)
            }}
          />
          <datalist id="alias-suggestions">
            <option value="production" />
            <option value="staging" />
            <option value="champion" />
          </datalist>
        </label>
        <button type="button" className="btn" disabled={!alias || checking} onClick={runCheck}>
          {checking ? 'Checking…' : 'Check gate'}
        </button>
      </div>
      <ErrorBanner error={error} />
      {check && (
        <div>
          <p>
            Move <strong>{alias}</strong> from {check.previous === null ? 'nothing' : `v${check.previous}`} to <strong>v{check.version}</strong>:{' '}
            {check.gate.passed ? <span className="badge badge-ok">gate passes</span> : <span className="badge badge-bad">gate fails</span>}
          </p>
          <ul aria-label="Gate checks" className="gate-checks">
            {check.gate.checks.map((c) => (
              <li key={c.name}>
                <span className={`badge ${c.passed ? 'badge-ok' : 'badge-bad'}`}>{c.passed ? 'pass' : 'fail'}</span> <strong>{c.name}</strong>
                <div className="muted">{c.detail}</div>
              </li>
            ))}
          </ul>
          {!check.gate.passed && (
            <div className="toolbar">
              <label>
                <input type="checkbox" checked={force} onChange={(e) => setForce(e.target.checked)} /> Force past the failed gate (recorded in the audit log)
              </label>
              <label className="field">
                <span>Reason</span>
                <input
                  value={reason}
                  aria-label="Reason"
                  onChange={(e) => setReason(e.target.value)}
                  disabled={!force}
                  placeholder={force ? 'required: why force it' : ''}
                />
                {force && !reason.trim() && <span className="field-error">Say why the gate is overridden: it goes into the audit log.</span>}
              </label>
            </div>
          )}
          {alias === 'production' && (
            <p className="muted">
              Everything that serves {model}:production switches to v{check.version} as soon as you promote.
            </p>
          )}
          <button type="button" className="btn btn-primary" disabled={!check.gate.passed && (!force || !reason.trim())} onClick={confirm}>
            {`Promote v${check.version} to ${alias}`}
          </button>
        </div>
      )}
    </div>
  )
}
