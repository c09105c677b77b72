import { useEffect, useMemo, useState, type FormEvent } from 'react'
import { isNumericType } from '../../../../src-main/engine/api/common/column-types.js'
import { api } from '../../api.js'
import { Card, ErrorBanner, FieldError, formErrors, useAction, useOperation } from '../common/index.js'
import type { RunRecord } from './format.js'

/** Start a run: dataset, target, model family and parameters, with sensible defaults. */
export function StartRunForm({ onStarted }: { onStarted: (run: RunRecord) => void }) {
  const datasets = useOperation('data.list', {})
  const [dataset, setDataset] = useState('')
  const [target, setTarget] = useState('')
  const [model, setModel] = useState<'mlp' | 'linear'>('mlp')
  const [epochs, setEpochs] = useState('20')
  const [batch, setBatch] = useState('256')
  const [lr, setLr] = useState('0.001')
  const [hidden, setHidden] = useState('64,64')
  const [seed, setSeed] = useState('42')
  const [registerAs, setRegisterAs] = useState('')

  const list = datasets.data?.datasets ?? []
  const columns = useMemo(() => list.find((d) => d.name === dataset)?.latest?.columns ?? [], [list, dataset])
  useEffect(() => {
    if (!dataset && list.length > 0) setDataset(list[0]!.name)
  }, [list, dataset])
  useEffect(() => {
    // Default target: the last text column (a class), else the last column.
    if (columns.length && !columns.some((c) => c.name === target)) {
      const text = columns.filter((c) => !isNumericType(c.type))
      setTarget((text.at(-1) ?? columns.at(-1))!.name)
    }
  }, [columns, target])

  const start = useAction(
    () =>
      api.call('training.start', {
        dataset,
        target,
        modelFamily: model,
        seed: Number(seed),
        registerAs: registerAs.trim() || null,
        params: {
          epochs: Number(epochs),
          batchSize: Number(batch),
          learningRate: Number(lr),
          hidden:
            model === 'mlp'
              ? hidden
                  .split(',')
                  .filter((s) => s.trim())
                  .map(Number)
              : [],
        },
      }),
    { success: (run) => `Run ${run.id} queued${run.registerAs ? `; it registers as ${run.registerAs} when it finishes` : ''}` },
  )
  const submit = async (event: FormEvent) => {
    event.preventDefault()
    const run = await start.run()
    if (run) onStarted(run)
  }
  const errors = formErrors(start.error, [
    'dataset',
    'target',
    'modelFamily',
    'seed',
    'registerAs',
    'params.epochs',
    'params.batchSize',
    'params.learningRate',
    'params.hidden',
  ])
  const fieldError = (field: string) => errors.byField[field]

  return (
    <Card title="Start a run">
      <ErrorBanner error={datasets.error ?? errors.rest} />
      {list.length === 0 && !datasets.loading ? (
        <p className="muted">Import a dataset first (Datasets page, or `lathe data import FILE --name NAME`).</p>
      ) : (
        <form className="toolbar" onSubmit={submit} aria-label="Start a run">
          <label className="field">
            Dataset
            <select value={dataset} onChange={(e) => setDataset(e.target.value)}>
              {list.map((d) => (
                <option key={d.name} value={d.name}>
                  {d.name}@{d.latest?.version}
                </option>
              ))}
            </select>
          </label>
          <label className="field">
            Target
            <select value={target} onChange={(e) => setTarget(e.target.value)}>
              {columns.map((c) => (
                <option key={c.name} value={c.name}>
                  {c.name} ({c.type})
                </option>
              ))}
            </select>
          </label>
          <label className="field">
            Model
            <select value={model} onChange={(e) => setModel(e.target.value as 'mlp' | 'linear')}>
              <option value="mlp">MLP</option>
              <option value="linear">linear / logistic</option>
            </select>
          </label>
          <label className="field">
            Hidden layers
            <input value={hidden} onChange={(e) => setHidden(e.target.value)} disabled={model === 'linear'} size={8} />
            <FieldError message={fieldError('params.hidden')} />
          </label>
          <label className="field">
            Epochs
            <input type="number" min={1} value={epochs} onChange={(e) => setEpochs(e.target.value)} className="input-short" />
            <FieldError message={fieldError('params.epochs')} />
          </label>
          <label className="field">
            Batch size
            <input type="number" min={1} value={batch} onChange={(e) => setBatch(e.target.value)} className="input-short" />
            <FieldError message={fieldError('params.batchSize')} />
          </label>
          <label className="field">
            Learning rate
            <input value={lr} onChange={(e) => setLr(e.target.value)} size={7} />
            <FieldError message={fieldError('params.learningRate')} />
          </label>
          <label className="field">
            Seed
            <input type="number" min={0} value={seed} onChange={(e) => setSeed(e.target.value)} className="input-short" />
            <FieldError message={fieldError('seed')} />
          </label>
          <label className="field">
            Register as
            <input value={registerAs} onChange={(e) => setRegisterAs(e.target.value)} placeholder="model name (optional)" size={16} />
            <FieldError message={fieldError('registerAs')} />
          </label>
          <button className="btn btn-primary" type="submit" disabled={start.busy || !dataset || !target}>
            Train
          </button>
        </form>
      )}
    </Card>
  )
}
