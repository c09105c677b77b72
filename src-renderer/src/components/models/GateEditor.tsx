import { useState } from 'react'
import { api, type Output } from '../../api.js'
import { ErrorBanner, notify } from '../common/index.js'

type Gate = Output<'registry.gate.get'>
type Threshold = Gate['thresholds'][number]

function describeGate(gate: Gate): string[] {
  return [
    ...gate.thresholds.map((t) => `${t.metric} ${t.op} ${t.value}`),
    ...(gate.noWorseThan ? [`no worse than the current version on ${gate.noWorseThan.metric} (re-evaluated on the candidate's test split)`] : []),
    ...(gate.signatureCompatible ? ['signature compatible with the current version'] : []),
    ...(gate.dataValidation ? ['training data passed validation'] : []),
  ]
}

/** `test.accuracy >= 0.8`, one per line. */
function parseThresholds(text: string): Threshold[] | string {
  const out: Threshold[] = []
  for (const line of text.split('\n').map((l) => l.trim()).filter(Boolean)) {
    const m = /^(\S+)\s*(>=|<=|>|<)\s*(-?[\d.eE+-]+)$/.exec(line)
    if (!m || !Number.isFinite(Number(m[3]))) return `"${line}" is not "metric >= number"`
    out.push({ metric: m[1]!, op: m[2] as Threshold['op'], value: Number(m[3]) })
  }
  return out
}

/** The gate of each alias of a model, and a form to set one. */
export function GateEditor({ model, gates, onSaved }: { model: string; gates: Record<string, Gate>; onSaved: () => void }) {
  const [alias, setAlias] = useState('production')
  const current = gates[alias]
  const [thresholds, setThresholds] = useState('')
  const [noWorse, setNoWorse] = useState('')
  const [signature, setSignature] = useState(true)
  const [data, setData] = useState(true)
  const [editing, setEditing] = useState(false)
  const [error, setError] = useState<unknown>(null)

  const startEditing = () => {
    const gate = current ?? { thresholds: [], noWorseThan: null, signatureCompatible: true, dataValidation: true }
    setThresholds(gate.thresholds.map((t) => `${t.metric} ${t.op} ${t.value}`).join('\n'))
    setNoWorse(gate.noWorseThan?.metric ?? '')
    setSignature(gate.signatureCompatible)
    setData(gate.dataValidation)
    setEditing(true)
  }

  const save = async () => {
    const parsed = parseThresholds(thresholds)
    if (typeof parsed === 'string') return setError(new Error(`Thresholds: ${parsed}`))
    try {
      await api.call('registry.gate.set', {
        model,
        alias,
        gate: { thresholds: parsed, noWorseThan: noWorse ? { metric: noWorse, tolerance: 0 } : null, signatureCompatible: signature, dataValidation: data },
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
          </label>
          <label className="field">
            <span>No worse than the current version on (metric, blank for none)</span>
            <input aria-label="No worse than metric" value={noWorse} onChange={(e) => setNoWorse(e.target.value.trim())} />
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
