import { useEffect, useMemo, useState, type FormEvent } from 'react'
import { isNumericType } from '../../../../src-main/engine/api/common/column-types.js'
import { api } from '../../api.js'
import { Card, ErrorBanner, FieldError, formErrors, useAction, useOperation } from '../common/index.js'
import type { RunRecord } from './format.js'

/** "0.001 | 0.01" -> the values to try; one value -> a list of one. */
function choices(text: string): string[] {
  return text
    .split('|')
    .map((v) => v.trim())
    .filter(Boolean)
}

const capitalized = (text: string | undefined) => (text ? `${text[0]!.toUpperCase()}${text.slice(1)}` : text)

const hiddenOf = (text: string) =>
  text
    .split(',')
    .filter((s) => s.trim())
    .map(Number)

/**
 * Start a run: dataset, target, model family and parameters, with sensible defaults.
 * With “Sweep” ticked, the parameter fields take several values separated by “|” and
 * the form starts a grid or random search (`training.sweep.start`, as `lathe sweep`).
 */
export function StartRunForm({ onStarted, onSweep }: { onStarted: (run: RunRecord) => void; onSweep?: (sweepId: string) => void }) {
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
  const [allowManyClasses, setAllowManyClasses] = useState(false)
  const [sweeping, setSweeping] = useState(false)
  const [method, setMethod] = useState<'grid' | 'random'>('grid')
  const [trials, setTrials] = useState('6')
  const [sweepMetric, setSweepMetric] = useState('loss')

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
        allowManyClasses,
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
  // Each field with more than one value is a dimension of the search.
  const space: Record<string, unknown[]> = {}
  const dimension = (key: string, text: string, parse: (v: string) => unknown) => {
    const values = choices(text)
    if (values.length > 1) space[key] = values.map(parse)
  }
  dimension('learningRate', lr, Number)
  dimension('batchSize', batch, Number)
  dimension('epochs', epochs, Number)
  if (model === 'mlp') dimension('hidden', hidden, hiddenOf)
  const combinations = Object.values(space).reduce((n, v) => n * v.length, 1)
  const first = (text: string) => choices(text)[0] ?? text
  const sweep = useAction(
    () =>
      api.call('training.sweep.start', {
        base: {
          dataset,
          target,
          modelFamily: model,
          seed: Number(seed),
          allowManyClasses,
          params: {
            epochs: Number(first(epochs)),
            batchSize: Number(first(batch)),
            learningRate: Number(first(lr)),
            hidden: model === 'mlp' ? hiddenOf(first(hidden)) : [],
          },
        },
        space,
        method,
        trials: Number(trials),
        metric: sweepMetric,
      }),
    { success: (r) => `Sweep ${r.sweepId} queued: ${r.runs.length} runs` },
  )
  const submit = async (event: FormEvent) => {
    event.preventDefault()
    if (sweeping) {
      const started = await sweep.run()
      if (started) onSweep?.(started.sweepId)
      return
    }
    const run = await start.run()
    if (run) onStarted(run)
  }
  const errors = formErrors(sweeping ? sweep.error : start.error, [
    'dataset',
    'target',
    'modelFamily',
    'seed',
    'registerAs',
    'allowManyClasses',
    'params.epochs',
    'params.batchSize',
    'params.learningRate',
    'params.hidden',
    'space',
    'trials',
    'metric',
  ])
  // The engine's refusal names the CLI flag; on this form the flag is the checkbox.
  const fieldError = (field: string) =>
    capitalized(errors.byField[field] ?? errors.byField[`base.${field}`])?.replace(
      /pass --allow-many-classes \(allowManyClasses: true in the spec\)/,
      'tick “Allow many classes”',
    )

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
            <select value={target} onChange={(e) => setTarget(e.target.value)} aria-invalid={fieldError('target') ? true : undefined}>
              {columns.map((c) => (
                <option key={c.name} value={c.name}>
                  {c.name} ({c.type})
                </option>
              ))}
            </select>
            <FieldError message={fieldError('target')} />
          </label>
          <label className="checkbox" title="Train a classifier on a target with more than 100 distinct values (a date or time type is still refused)">
            <input type="checkbox" checked={allowManyClasses} onChange={(e) => setAllowManyClasses(e.target.checked)} /> Allow many classes
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
            <input value={hidden} onChange={(e) => setHidden(e.target.value)} disabled={model === 'linear'} size={sweeping ? 14 : 8} />
            <FieldError message={fieldError('params.hidden')} />
          </label>
          <CountField label="Epochs" value={epochs} onChange={setEpochs} sweeping={sweeping} error={fieldError('params.epochs')} />
          <CountField label="Batch size" value={batch} onChange={setBatch} sweeping={sweeping} error={fieldError('params.batchSize')} />
          <label className="field">
            Learning rate
            <input value={lr} onChange={(e) => setLr(e.target.value)} size={sweeping ? 16 : 7} />
            <FieldError message={fieldError('params.learningRate')} />
          </label>
          <label className="field">
            Seed
            <input type="number" min={0} value={seed} onChange={(e) => setSeed(e.target.value)} className="input-short" />
            <FieldError message={fieldError('seed')} />
          </label>
          {!sweeping && (
            <label className="field">
              Register as
              <input value={registerAs} onChange={(e) => setRegisterAs(e.target.value)} placeholder="model name (optional)" size={16} />
              <FieldError message={fieldError('registerAs')} />
            </label>
          )}
          <label className="checkbox" title="Try several values: separate them with | in Learning rate, Batch size, Epochs or Hidden layers">
            <input type="checkbox" checked={sweeping} onChange={(e) => setSweeping(e.target.checked)} /> Sweep
          </label>
          {sweeping && (
            <fieldset className="sweep-options toolbar" aria-label="Sweep">
              <label className="field">
                Search
                <select value={method} onChange={(e) => setMethod(e.target.value as 'grid' | 'random')}>
                  <option value="grid">grid (every combination)</option>
                  <option value="random">random</option>
                </select>
              </label>
              {method === 'random' && (
                <label className="field">
                  Trials
                  <input type="number" min={1} max={200} value={trials} onChange={(e) => setTrials(e.target.value)} className="input-short" />
                  <FieldError message={fieldError('trials')} />
                </label>
              )}
              <label className="field">
                Rank by (validation)
                <select value={sweepMetric} onChange={(e) => setSweepMetric(e.target.value)}>
                  {['loss', 'accuracy', 'f1', 'rmse', 'mae', 'r2'].map((m) => (
                    <option key={m}>{m}</option>
                  ))}
                </select>
              </label>
              <span className="muted sweep-count" role="status">
                {Object.keys(space).length === 0
                  ? 'Separate values with | (e.g. learning rate 0.001 | 0.01) to sweep over them.'
                  : `${method === 'grid' ? combinations : Number(trials) || 0} runs over ${Object.entries(space)
                      .map(([k, v]) => `${k} (${v.length})`)
                      .join(', ')}`}
              </span>
              <FieldError message={fieldError('space')} />
            </fieldset>
          )}
          {sweeping ? (
            <button className="btn btn-primary" type="submit" disabled={sweep.busy || !dataset || !target || Object.keys(space).length === 0}>
              Start sweep
            </button>
          ) : (
            <button className="btn btn-primary" type="submit" disabled={start.busy || !dataset || !target}>
              Train
            </button>
          )}
        </form>
      )}
    </Card>
  )
}

/** A whole number of at least 1; while sweeping, text with several values ("8 | 32"). */
function CountField(props: { label: string; value: string; onChange: (v: string) => void; sweeping: boolean; error?: string }) {
  return (
    <label className="field">
      {props.label}
      <input
        type={props.sweeping ? 'text' : 'number'}
        min={1}
        value={props.value}
        onChange={(e) => props.onChange(e.target.value)}
        className={props.sweeping ? undefined : 'input-short'}
        size={props.sweeping ? 8 : undefined}
      />
      <FieldError message={props.error} />
    </label>
  )
}
