import { useState } from 'react'
import { api, uploadFile, type Output } from '../../api.js'
import { ErrorBanner, FieldError, formErrors, ProgressBar, useEngineEvents } from '../common/index.js'

type Result = Output<'monitoring.feedback.import'>

/**
 * Late labels: a CSV with a request id column and a label column (and optionally the row
 * of a batch request). The file streams to the engine, DuckDB reads it, the labels join
 * the prediction log by request id; the result says how many joined and which ids the
 * log does not hold. Quality over time reads them.
 */
export function LabelUpload({ model, onRecorded }: { model: string; onRecorded: () => void }) {
  const [file, setFile] = useState<File | null>(null)
  const [idColumn, setIdColumn] = useState('request_id')
  const [labelColumn, setLabelColumn] = useState('label')
  const [rowColumn, setRowColumn] = useState('row_index')
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<unknown>(null)
  const [progress, setProgress] = useState<{ phase: string; fraction: number | null } | null>(null)
  const [result, setResult] = useState<Result | null>(null)
  const [inputKey, setInputKey] = useState(0)

  useEngineEvents(['monitoring.feedback.progress'], (event) => {
    if (busy && event.payload.model === model) {
      setProgress({
        phase: `joined ${event.payload.done.toLocaleString()} of ${event.payload.total.toLocaleString()} labels`,
        fraction: event.payload.done / event.payload.total,
      })
    }
  })

  const submit = async () => {
    if (!file) return
    setBusy(true)
    setError(null)
    setResult(null)
    try {
      setProgress({ phase: `uploading ${file.name}`, fraction: 0 })
      const upload = await uploadFile(file, (fraction) => setProgress({ phase: `uploading ${file.name}`, fraction }))
      setProgress({ phase: 'reading the file and joining labels to the prediction log', fraction: null })
      const recorded = await api.call('monitoring.feedback.import', { model, upload, fileName: file.name, idColumn, labelColumn, rowColumn })
      setResult(recorded)
      setFile(null)
      setInputKey((k) => k + 1)
      onRecorded()
    } catch (failure) {
      setError(failure)
    } finally {
      setBusy(false)
      setProgress(null)
    }
  }

  const errors = formErrors(error, ['file', 'upload', 'idColumn', 'labelColumn', 'rowColumn'])
  return (
    <form
      className="label-upload"
      aria-label="Upload late labels"
      onSubmit={(e) => {
        e.preventDefault()
        void submit()
      }}
    >
      <p className="muted">
        A CSV with the request id each prediction returned and its true label, one row per prediction. Labels join the logged predictions of {model} by request
        id; a later label for the same row replaces the earlier one.
      </p>
      <div className="toolbar">
        <label className="field">
          Labels file
          <input
            key={inputKey}
            type="file"
            accept=".csv,.tsv,.txt"
            onChange={(e) => {
              setFile(e.target.files?.[0] ?? null)
              setError(null)
            }}
          />
          <FieldError message={errors.byField.file ?? errors.byField.upload} />
        </label>
        <label className="field">
          Request id column
          <input value={idColumn} onChange={(e) => setIdColumn(e.target.value)} />
          <FieldError message={errors.byField.idColumn} />
        </label>
        <label className="field">
          Label column
          <input value={labelColumn} onChange={(e) => setLabelColumn(e.target.value)} />
          <FieldError message={errors.byField.labelColumn} />
        </label>
        <label className="field">
          Row column (batch requests)
          <input value={rowColumn} onChange={(e) => setRowColumn(e.target.value)} />
          <FieldError message={errors.byField.rowColumn} />
        </label>
      </div>
      <ErrorBanner error={errors.rest} />
      <button type="submit" className="btn btn-primary" disabled={!file || busy}>
        {busy ? 'Uploading…' : 'Upload labels'}
      </button>
      {progress && <ProgressBar label="Late labels" value={progress.fraction ?? undefined} detail={progress.phase} />}
      {result && (
        <div className="label-result" role="status">
          <strong>
            {result.recorded.toLocaleString()} of {result.rows.toLocaleString()} labels joined to logged predictions of {result.model}.
          </strong>
          {result.unknown.length > 0 && (
            <p>
              {result.unknown.length.toLocaleString()} request id{result.unknown.length === 1 ? ' is' : 's are'} not in the prediction log and
              {result.unknown.length === 1 ? ' was' : ' were'} not recorded:{' '}
              <span className="mono">
                {result.unknown
                  .slice(0, 10)
                  .map((u) => (u.row_index ? `${u.request_id} (row ${u.row_index})` : u.request_id))
                  .join(', ')}
                {result.unknown.length > 10 ? ', …' : ''}
              </span>
            </p>
          )}
        </div>
      )}
    </form>
  )
}
