import { useState } from 'react'
import { api, type Output } from '../../api.js'
import { ErrorBanner, FieldError, notify } from '../common/index.js'
import './models.css'

type Gate = Output<'registry.gate.get'>
type Threshold = Gate['thresholds'][number]

function describeGate(gate: Gate): string[] {
  return [
    ...gate.thresholds.map((t) => `${t.metric} ${t.op} ${t.value}`),
    ...(gate.noWorseThan
      ? [
          `no worse than the current version on ${gate.noWorseThan.metric}${gate.noWorseThan.tolerance ? ` (within ${gate.noWorseThan.tolerance})` : ''} (re-evaluated on the candidate's test split)`,
        ]
      : []),
    ...(gate.signatureCompatible ? ['signature compatible with the current version'] : []),
    ...(gate.dataValidation ? ['training data passed validation'] : []),
  ]
}

/** `test.accuracy >= 0.8`, one per line; a metric the model's versions never recorded is refused. */
export function parseThresholds(text: string, known: string[]): Threshold[] | string {
  const out: Threshold[] = []
  const lines = text.split('\n').map((l) => l.trim())
  for (const [i, line] of lines.entries()) {
    if (!line) continue
    const m = /^(\S+?)\s*(>=|<=|>|<)\s*(\S+)$/.exec(line)
    if (!m) return `Line ${i + 1} ("${line}") is not "metric >= number", for example "test.accuracy >= 0.8".`
    if (!Number.isFinite(Number(m[3]))) return `Line ${i + 1}: "${m[3]}" is not a number.`
    if (known.length && !known.includes(m[1]!)) return unknownMetric(m[1]!, known, `Line ${i + 1}`)
    out.push({ metric: m[1]!, op: m[2] as Threshold['op'], value: Number(m[3]) })
  }
  return out
}

function unknownMetric(metric: string, known: string[], where: string): string {
  return `${where}: this model has no metric "${metric}". Known metrics: ${known.join(', ')}.`
}

/** The gate of each alias of a model, and a form to set one. */
export function GateEditor({
  model,
  gates,
  knownMetrics,
  onSaved,
}: {
  model: string
  gates: Record<string, Gate>
  knownMetrics: string[]
  onSaved: () => void
}) {
  const [alias, setAlias] = useState('production')
  const current = gates[alias]
  const [thresholds, setThresholds] = useState('')
  const [noWorse, setNoWorse] = useState('')
  const [tolerance, setTolerance] = useState('0')
  const [problems, setProblems] = useState<{ thresholds?: string; noWorse?: string; tolerance?: string }>({})
  const [signature, setSignature] = useState(true)
  const [data, setData] = useState(true)
  const [editing, setEditing] = useState(false)
  const [error, setError] = useState<unknown>(null)

  const startEditing = () => {
    const gate = current ?? { thresholds: [], noWorseThan: null, signatureCompatible: true, dataValidation: true }
    setThresholds(gate.thresholds.map((t) => `${t.metric} ${t.op} ${t.value}`).join('\n'))
    setNoWorse(gate.noWorseThan?.metric ?? '')
    setTolerance(String(gate.noWorseThan?.tolerance ?? 0))
    setProblems({})
    setSignature(gate.signatureCompatible)
    setData(gate.dataValidation)
    setEditing(true)
  }

  const save = async () => {
    const parsed = parseThresholds(thresholds, knownMetrics)
    const tol = Number(tolerance.trim() || '0')
    const found = {
      thresholds: typeof parsed === 'string' ? parsed : undefined,
      noWorse: noWorse && knownMetrics.length && !knownMetrics.includes(noWorse) ? unknownMetric(noWorse, knownMetrics, 'No worse than') : undefined,
      tolerance: !Number.isFinite(tol) || tol < 0 ? 'The tolerance is a number of 0 or more (0.02 allows the candidate to be 0.02 worse).' : undefined,
    }
    setProblems(found)
    if (found.thresholds || found.noWorse || found.tolerance || typeof parsed === 'string') return
    try {
      await api.call('registry.gate.set', {
        model,
        alias,
        gate: { thresholds: parsed, noWorseThan: noWorse ? { metric: noWorse, tolerance: tol } : null, signatureCompatible: signature, dataValidation: data },
      })
      notify(`Gate for ${model}:${alias} saved`, { kind: 'success' })
      setEditing(false)
      setError(null)
      onSaved()
    } catch (e) {
      setError(e)
    }
  }

  return (
    <div role="group" aria-label="Promotion gates">
      {Object.keys(gates).length === 0 ? (
        <p className="muted">No gate set: every alias checks signature compatibility and training data validation.</p>
      ) : (
        <ul>
          {Object.entries(gates).map(([name, gate]) => (
            <li key={name}>
              <strong>{name}</strong>: {describeGate(gate).join('; ') || 'no checks'}
            </li>
          ))}
        </ul>
      )}
      <div className="toolbar">
        <label className="field">
          <span>Alias</span>
          <input aria-label="Gate alias" value={alias} onChange={(e) => setAlias(e.target.value.trim())} />
        </label>
        {!editing && (
          <button type="button" className="btn" onClick={startEditing} disabled={!alias}>
            Edit gate
          </button>
        )}
      </div>
      {editing && (
        <div>
          <label className="field">
            <span>Metric thresholds, one per line (e.g. test.accuracy &gt;= 0.8)</span>
            <textarea aria-label="Metric thresholds" rows={3} value={thresholds} onChange={(e) => setThresholds(e.target.value)} />
            <FieldError message={problems.thresholds} />
          </label>
          <label className="field">
            <span>No worse than the current version on (metric, blank for none)</span>
            <input aria-label="No worse than metric" value={noWorse} list="gate-known-metrics" onChange={(e) => setNoWorse(e.target.value.trim())} />
            <FieldError message={problems.noWorse} />
          </label>
          <datalist id="gate-known-metrics">
            {knownMetrics.map((m) => (
              <option key={m} value={m} />
            ))}
          </datalist>
          <label className="field">
            <span>Tolerance (how much worse is still fine)</span>
            <input aria-label="Tolerance" value={tolerance} inputMode="decimal" size={6} onChange={(e) => setTolerance(e.target.value)} disabled={!noWorse} />
            <FieldError message={problems.tolerance} />
          </label>
          <label>
            <input type="checkbox" checked={signature} onChange={(e) => setSignature(e.target.checked)} /> Signature compatible with the current version
          </label>{' '}
          <label>
            <input type="checkbox" checked={data} onChange={(e) => setData(e.target.checked)} /> Training data passed validation
          </label>
          <ErrorBanner error={error} />
          <div className="toolbar">
            <button type="button" className="btn btn-primary" onClick={save}>
              Save gate
            </button>
            <button type="button" className="btn btn-ghost" onClick={() => setEditing(false)}>
              Cancel
            </button>
          </div>
        </div>
      )}
    </div>
  )
}
