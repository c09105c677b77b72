import { useState } from 'react'
import { api, type Output } from '../../api.js'
import { DataTable, EmptyState, ErrorBanner, FieldError, formErrors, useAction, useOperation, type Column } from '../common/index.js'

type Split = Output<'data.splits.list'>['splits'][number]
type Method = 'random' | 'stratified' | 'time'

/**
 * The seeded train/validation/test splits recorded for a version, and a form for a new
 * one with the options `lathe data split` takes: name, method (random, stratified by a
 * class column, or by time with the latest rows in test), seed and the three fractions.
 */
export function SplitsPanel({ dataRef, columns }: { dataRef: string; columns: Array<{ name: string; type: string }> }) {
  const splits = useOperation('data.splits.list', { dataset: dataRef })
  const [name, setName] = useState('default')
  const [method, setMethod] = useState<Method>('random')
  const [column, setColumn] = useState('')
  const [seed, setSeed] = useState('42')
  const [fractions, setFractions] = useState({ train: '0.7', validation: '0.15', test: '0.15' })
  const create = useAction(
    () =>
      api.call('data.splits.create', {
        dataset: dataRef,
        name,
        spec: {
          method,
          seed: Number(seed),
          train: Number(fractions.train),
          validation: Number(fractions.validation),
          test: Number(fractions.test),
          ...(method !== 'random' && column ? { column } : {}),
        },
      }),
    { success: (s) => `Split "${s.name}": train ${s.counts.train}, validation ${s.counts.validation}, test ${s.counts.test}` },
  )
  const errors = formErrors(create.error, ['name', 'spec.column', 'split.column', 'spec.seed', 'spec.train', 'spec.validation', 'spec.test', 'split'])
  const sum = Number(fractions.train) + Number(fractions.validation) + Number(fractions.test)
  const sumProblem = Number.isFinite(sum) && Math.abs(sum - 1) > 1e-9 ? `The fractions add up to ${+sum.toFixed(6)}; they must add up to 1.` : undefined
  const candidates = method === 'time' ? columns.filter((c) => /DATE|TIME/.test(c.type)) : columns

  const part = (key: 'train' | 'validation' | 'test', header: string): Column<Split> => ({
    key,
    header,
    title: `rows in ${key} (fraction asked)`,
    render: (s) => (
      <span title={`${s.spec[key]} of the rows`}>
        {s.counts[key].toLocaleString()}
        <span className="muted"> ({s.spec[key]})</span>
      </span>
    ),
    align: 'right',
  })
  const tableColumns: Array<Column<Split>> = [
    { key: 'name', header: 'Split', render: (s) => s.name },
    { key: 'method', header: 'Method', render: (s) => `${s.spec.method}${s.spec.column ? ` by ${s.spec.column}` : ''}, seed ${s.spec.seed}` },
    part('train', 'Train'),
    part('validation', 'Valid.'),
    part('test', 'Test'),
  ]
  const fraction = (key: keyof typeof fractions, label: string) => (
    <label className="field narrow">
      {label}
      <input type="number" min={0} max={1} step={0.05} value={fractions[key]} onChange={(e) => setFractions({ ...fractions, [key]: e.target.value })} />
      <FieldError message={errors.byField[`spec.${key}`]} />
    </label>
  )

  return (
    <div className="splits-panel">
      <ErrorBanner error={splits.error} onRetry={splits.reload} />
      {splits.loading ? (
        <p className="muted">Loading splits…</p>
      ) : splits.data && splits.data.splits.length === 0 ? (
        <EmptyState title="No splits recorded for this version">A run makes one from its own spec; record a named one here to reuse it.</EmptyState>
      ) : (
        <DataTable label="Splits" columns={tableColumns} rows={splits.data?.splits ?? []} rowKey={(s) => s.name} />
      )}
      <form
        className="split-form"
        aria-label="New split"
        onSubmit={(e) => {
          e.preventDefault()
          void create.run()
        }}
      >
        <div className="toolbar">
          <label className="field">
            Name
            <input value={name} onChange={(e) => setName(e.target.value)} />
            <FieldError message={errors.byField.name} />
          </label>
          <label className="field">
            Method
            <select aria-label="Method" value={method} onChange={(e) => setMethod(e.target.value as Method)}>
              <option value="random">random</option>
              <option value="stratified">stratified by a class column</option>
              <option value="time">by time (latest rows in test)</option>
            </select>
          </label>
          {method !== 'random' && (
            <label className="field">
              {method === 'time' ? 'Time column' : 'Class column'}
              <select aria-label={method === 'time' ? 'Time column' : 'Class column'} value={column} onChange={(e) => setColumn(e.target.value)}>
                <option value="">choose…</option>
                {candidates.map((c) => (
                  <option key={c.name} value={c.name}>
                    {c.name}
                  </option>
                ))}
              </select>
              <FieldError message={errors.byField['split.column'] ?? errors.byField['spec.column']} />
            </label>
          )}
          <label className="field narrow">
            Seed
            <input type="number" step={1} value={seed} onChange={(e) => setSeed(e.target.value)} />
            <FieldError message={errors.byField['spec.seed']} />
          </label>
          {fraction('train', 'Train')}
          {fraction('validation', 'Validation')}
          {fraction('test', 'Test')}
        </div>
        <FieldError message={sumProblem ?? errors.byField.split} />
        <ErrorBanner error={errors.rest} />
        <button type="submit" className="btn btn-primary" disabled={create.busy || sumProblem !== undefined}>
          {create.busy ? 'Counting rows…' : 'Create split'}
        </button>
      </form>
    </div>
  )
}
