import { useState } from 'react'
import { api, type Input, type Output } from '../../api.js'
import { ErrorBanner, FieldError, formErrors, useAction } from '../common/index.js'

type Rule = Input<'data.rules.set'>['rules'][number]
type Kind = Rule['kind']
type Validation = Output<'data.validate'>

/** A rule as the form holds it: every field as typed text. */
interface Draft {
  kind: Kind
  column: string
  type: string
  min: string
  max: string
  values: string
  name: string
  predicate: string
}

const kinds: Array<[Kind, string]> = [
  ['not_null', 'never null'],
  ['range', 'within a range'],
  ['allowed_values', 'one of listed values'],
  ['unique', 'unique'],
  ['column', 'column exists (with type)'],
  ['row_count', 'row count within'],
  ['sql', 'SQL condition on every row'],
]

function draftOf(rule: Rule): Draft {
  const blank: Draft = { kind: rule.kind, column: '', type: '', min: '', max: '', values: '', name: '', predicate: '' }
  switch (rule.kind) {
    case 'column':
      return { ...blank, column: rule.column, type: rule.type ?? '' }
    case 'not_null':
    case 'unique':
      return { ...blank, column: rule.column }
    case 'range':
      return { ...blank, column: rule.column, min: rule.min?.toString() ?? '', max: rule.max?.toString() ?? '' }
    case 'allowed_values':
      return { ...blank, column: rule.column, values: rule.values.map(String).join(', ') }
    case 'row_count':
      return { ...blank, min: rule.min?.toString() ?? '', max: rule.max?.toString() ?? '' }
    case 'sql':
      return { ...blank, name: rule.name, predicate: rule.predicate }
  }
}

const num = (text: string) => (text.trim() === '' ? undefined : Number(text))

/** Values typed as `sun, rain` or `1, 2`: numbers stay numbers when the column is numeric. */
function ruleOf(d: Draft, numeric: boolean): Rule {
  switch (d.kind) {
    case 'column':
      return { kind: 'column', column: d.column, ...(d.type.trim() ? { type: d.type.trim() } : {}) }
    case 'not_null':
    case 'unique':
      return { kind: d.kind, column: d.column }
    case 'range':
      return { kind: 'range', column: d.column, min: num(d.min), max: num(d.max) }
    case 'allowed_values': {
      const values = d.values
        .split(',')
        .map((v) => v.trim())
        .filter(Boolean)
      return { kind: 'allowed_values', column: d.column, values: numeric ? values.map((v) => (Number.isFinite(Number(v)) ? Number(v) : v)) : values }
    }
    case 'row_count':
      return { kind: 'row_count', min: num(d.min), max: num(d.max) }
    case 'sql':
      return { kind: 'sql', name: d.name, predicate: d.predicate }
  }
}

/**
 * The dataset's validation rules, edited in place: add, change, remove; "Save and
 * validate" stores them (checked at every import from then on) and checks this version,
 * showing each rule's outcome. A rule the engine refuses shows why under that rule.
 */
export function RulesEditor(props: {
  dataset: string
  dataRef: string
  rules: Rule[]
  columns: Array<{ name: string; type: string }>
  onValidated: (result: Validation) => void
}) {
  const [drafts, setDrafts] = useState<Draft[]>(() => props.rules.map(draftOf))
  const [dirty, setDirty] = useState(false)
  const numeric = (column: string) => /INT|DOUBLE|FLOAT|DECIMAL|REAL|NUMERIC/.test(props.columns.find((c) => c.name === column)?.type ?? '')
  const save = useAction(
    async () => {
      const rules = drafts.map((d) => ruleOf(d, numeric(d.column)))
      await api.call('data.rules.set', { dataset: props.dataset, rules })
      setDirty(false)
      const result = await api.call('data.validate', { dataset: props.dataRef })
      props.onValidated(result)
      return result
    },
    {
      success: (r) =>
        r.status === 'none'
          ? 'Rules saved: none to check'
          : `Validation ${r.status}: ${r.results.filter((x) => x.passed).length} of ${r.results.length} rules pass`,
    },
  )
  const fields = drafts.map((_d, i) => `rules.${i}`)
  const errors = formErrors(save.error, fields)
  const update = (i: number, change: Partial<Draft>) => {
    setDirty(true)
    setDrafts(drafts.map((d, j) => (j === i ? { ...d, ...change } : d)))
  }

  return (
    <div className="rules-editor" aria-label="Validation rules">
      {drafts.length === 0 && <p className="muted">No rules yet. Add one: it is checked on this version now and on every import after.</p>}
      <ol className="rule-list">
        {drafts.map((d, i) => (
          <li key={i} className="rule-row" aria-label={`Rule ${i + 1}`}>
            <div className="toolbar">
              <label className="field">
                Rule
                <select aria-label="Rule" value={d.kind} onChange={(e) => update(i, { kind: e.target.value as Kind })}>
                  {kinds.map(([k, label]) => (
                    <option key={k} value={k}>
                      {label}
                    </option>
                  ))}
                </select>
              </label>
              {d.kind !== 'row_count' && d.kind !== 'sql' && (
                <label className="field">
                  Column
                  <select aria-label="Column" value={d.column} onChange={(e) => update(i, { column: e.target.value })}>
                    <option value="">choose…</option>
                    {props.columns.map((c) => (
                      <option key={c.name} value={c.name}>
                        {c.name}
                      </option>
                    ))}
                    {d.column && !props.columns.some((c) => c.name === d.column) && <option value={d.column}>{d.column} (not in this version)</option>}
                  </select>
                </label>
              )}
              {d.kind === 'column' && (
                <label className="field">
                  Type (optional)
                  <input value={d.type} placeholder="e.g. DOUBLE" onChange={(e) => update(i, { type: e.target.value })} />
                </label>
              )}
              {(d.kind === 'range' || d.kind === 'row_count') && (
                <>
                  <label className="field narrow">
                    Min
                    <input type="number" value={d.min} onChange={(e) => update(i, { min: e.target.value })} />
                  </label>
                  <label className="field narrow">
                    Max
                    <input type="number" value={d.max} onChange={(e) => update(i, { max: e.target.value })} />
                  </label>
                </>
              )}
              {d.kind === 'allowed_values' && (
                <label className="field grow">
                  Values (comma-separated)
                  <input value={d.values} placeholder="sun, rain" onChange={(e) => update(i, { values: e.target.value })} />
                </label>
              )}
              {d.kind === 'sql' && (
                <>
                  <label className="field">
                    Name
                    <input value={d.name} placeholder="e.g. min below max" onChange={(e) => update(i, { name: e.target.value })} />
                  </label>
                  <label className="field grow">
                    Condition (DuckDB, true for a good row)
                    <input className="mono" value={d.predicate} placeholder="temp_min <= temp_max" onChange={(e) => update(i, { predicate: e.target.value })} />
                  </label>
                </>
              )}
              <button
                type="button"
                className="btn btn-ghost"
                aria-label={`Remove rule ${i + 1}`}
                onClick={() => {
                  setDirty(true)
                  setDrafts(drafts.filter((_x, j) => j !== i))
                }}
              >
                Remove
              </button>
            </div>
            <FieldError message={errors.byField[`rules.${i}`]} />
          </li>
        ))}
      </ol>
      <ErrorBanner error={errors.rest} />
      <div className="toolbar">
        <button
          type="button"
          className="btn"
          onClick={() => {
            setDirty(true)
            setDrafts([...drafts, { kind: 'not_null', column: props.columns[0]?.name ?? '', type: '', min: '', max: '', values: '', name: '', predicate: '' }])
          }}
        >
          Add rule
        </button>
        <button type="button" className="btn btn-primary" disabled={save.busy} onClick={() => void save.run()}>
          {save.busy ? 'Checking…' : dirty ? 'Save rules and validate' : 'Validate this version'}
        </button>
      </div>
    </div>
  )
}
