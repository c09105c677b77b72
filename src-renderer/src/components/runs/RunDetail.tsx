import { useState } from 'react'
import { api } from '../../api.js'
import { Card, DataTable, ErrorBanner, Facts, notify, useOperation } from '../common/index.js'
import { ConfusionMatrix } from './ConfusionMatrix.js'
import { useNavigation } from '../../state/navigation.js'
import { ArchiveRun, DeleteRun, RegisterRun, RunLabels } from './RunActions.js'
import { formatMetric, statusBadge, type RunRecord } from './format.js'
import { RunCurves } from './RunCurves.js'
import { SyncMark, useSyncMarks } from '../team/SyncMark.js'
import { useLiveSeries } from './useLiveSeries.js'

/** One run: live curves while it trains, then its metrics and confusion matrix. */
export function RunDetail({ run, onChanged }: { run: RunRecord; onChanged: () => void }) {
  const series = useLiveSeries(run.id)
  // The list leaves confusion matrices out: the finished run's full record has it.
  const detail = useOperation('training.runs.show', { run: run.id }, { enabled: run.status === 'finished' })
  const confusion = run.status === 'finished' && detail.data?.run.id === run.id ? detail.data.run.metrics?.confusion : null
  const [error, setError] = useState<unknown>(null)
  const { go } = useNavigation()
  const active = run.status === 'queued' || run.status === 'running'
  const lastEpoch = series.loss?.at(-1)?.step ?? 0
  const valNames = Object.keys(series).filter((n) => n.startsWith('val_') && n !== 'val_loss')
  const marks = useSyncMarks({ runs: [run.id] })

  const cancel = async () => {
    try {
      await api.call('training.runs.cancel', { run: run.id })
      notify(`Run ${run.id} cancelled`)
      onChanged()
    } catch (failure) {
      setError(failure)
    }
  }

  const metricNames = run.metrics ? [...new Set([...Object.keys(run.metrics.validation), ...Object.keys(run.metrics.test)])] : []
  return (
    <Card
      title={
        <>
          Run {run.name && <strong>{run.name} </strong>}
          <span className="mono">{run.id}</span> <span className={statusBadge(run.status)}>{run.status}</span>
          <SyncMark marks={marks} kind="runs" id={run.id} />
        </>
      }
      actions={
        active ? (
          <button className="btn" onClick={cancel}>
            Cancel run
          </button>
        ) : (
          <span className="toolbar">
            <ArchiveRun run={run} onChanged={onChanged} />
            <DeleteRun
              run={run}
              onDeleted={(archived) => {
                onChanged()
                if (!archived) go('runs')
              }}
            />
          </span>
        )
      }
    >
      <ErrorBanner error={error} />
      {run.error && (
        <p className="badge badge-bad" role="alert">
          {run.error}
        </p>
      )}
      {(run.warnings ?? []).map((w) => (
        <p key={w} className="badge badge-warn run-warning" role="note">
          Warning: {w}
        </p>
      ))}
      <p aria-live="polite">{active ? `Training: epoch ${lastEpoch}/${run.params.epochs}` : `Epochs run: ${run.epochsRun}`}</p>
      <div className="run-charts">
        <RunCurves title="Loss" series={series} names={['loss', 'val_loss']} />
        <RunCurves title="Validation metrics" series={series} names={valNames} />
      </div>
      <RegisterRun run={run} />
      <Facts
        items={[
          ['Dataset', `${run.dataset.name}@${run.dataset.version}`],
          ['Task', `${run.task} of ${run.target}`],
          ['Features', run.features.map((f) => f.name).join(', ')],
          ['Model', `${run.modelFamily} ${JSON.stringify(run.params.hidden)} ${run.params.activation}, dropout ${run.params.dropout}`],
          ['Optimizer', `${run.params.optimizer}, lr ${run.params.learningRate}, batch ${run.params.batchSize}`],
          ['Seed', run.seed],
          ['Backend', run.backend ? `${run.backend.name} (${run.backend.device ?? ''})` : run.requestedBackend],
          ['Model object', run.model ? <span className="mono">{run.model.onnxSha256.slice(0, 16)}…</span> : '—'],
        ]}
      />
      {run.metrics && (
        <DataTable
          label="Metrics"
          columns={[
            { key: 'name', header: 'Metric' },
            { key: 'validation', header: 'Validation', align: 'right', render: (r) => formatMetric(r.validation) },
            { key: 'test', header: 'Test', align: 'right', render: (r) => formatMetric(r.test) },
          ]}
          rows={metricNames.map((name) => ({ name, validation: run.metrics!.validation[name], test: run.metrics!.test[name] }))}
          rowKey={(r) => r.name}
        />
      )}
      <RunLabels key={`${run.name}|${run.tags?.join(',')}|${run.notes}`} run={run} onChanged={onChanged} />
      {confusion && <ConfusionMatrix labels={confusion.labels} matrix={confusion.test} caption="Confusion matrix (test split)" />}
    </Card>
  )
}
