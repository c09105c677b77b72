import { useState, type DragEvent } from 'react'
import { api, uploadFile, type Input } from '../../api.js'
import { ErrorBanner, FieldError, formErrors, notify, ProgressBar, useEngineEvents } from '../common/index.js'

type Options = Pick<Input<'data.import'>, 'format' | 'delimiter' | 'header' | 'encoding' | 'types'>
const delimiters: Array<[string, string]> = [
  ['', 'detect'],
  [',', 'comma ,'],
  [';', 'semicolon ;'],
  ['\t', 'tab'],
  ['|', 'pipe |'],
]

/**
 * Pick or drop a file to import, with the reader's options (delimiter, header,
 * encoding, column types). The file streams to the engine first (any size, with
 * progress), then DuckDB reads it (progress from the engine's events).
 */
export function ImportPanel({ onImported }: { onImported: (dataset: string) => void }) {
  const [name, setName] = useState('')
  // A name filled in from a file is replaced by the next file's; one the person typed stays.
  const [nameTyped, setNameTyped] = useState(false)
  const [file, setFile] = useState<File | null>(null)
  const [over, setOver] = useState(false)
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<unknown>(null)
  const [progress, setProgress] = useState<{ phase: string; fraction: number } | null>(null)
  const [delimiter, setDelimiter] = useState('')
  const [header, setHeader] = useState<'' | 'yes' | 'no'>('')
  const [encoding, setEncoding] = useState<'' | 'utf-8' | 'utf-16' | 'latin-1'>('')
  const [types, setTypes] = useState('')
  // Bumped after an import so the file input forgets the file it showed.
  const [inputKey, setInputKey] = useState(0)

  const target = name || defaultName(file)
  useEngineEvents(['data.import.progress'], (event) => {
    if (busy && event.payload.dataset === target) setProgress({ phase: readingPhase(event.payload.phase), fraction: event.payload.fraction })
  })

  const choose = (chosen: File | null) => {
    setFile(chosen)
    setError(null)
    if (chosen && !nameTyped) setName(defaultName(chosen))
  }

  const onDrop = (event: DragEvent) => {
    event.preventDefault()
    setOver(false)
    choose(event.dataTransfer.files[0] ?? null)
  }

  const parsedTypes = parseTypes(types)
  const submit = async () => {
    if (!file || typeof parsedTypes === 'string') return
    setBusy(true)
    setError(null)
    setProgress({ phase: `uploading ${file.name}`, fraction: 0 })
    try {
      const upload = await uploadFile(file, (fraction) => setProgress({ phase: `uploading ${file.name}`, fraction }))
      setProgress({ phase: 'DuckDB is reading the file', fraction: 0 })
      const options: Options = {
        ...(delimiter ? { delimiter } : {}),
        ...(header ? { header: header === 'yes' } : {}),
        ...(encoding ? { encoding } : {}),
        ...(Object.keys(parsedTypes).length ? { types: parsedTypes } : {}),
      }
      const result = await api.call('data.import', { name: target, upload, fileName: file.name, ...options })
      notify(result.created ? `Imported ${result.dataset}@${result.version}` : `Already imported as ${result.dataset}@${result.version}`, {
        kind: 'success',
        detail: `${result.rows} rows, ${result.columns.length} columns`,
      })
      setFile(null)
      setName('')
      setNameTyped(false)
      setInputKey((k) => k + 1)
      onImported(result.dataset)
    } catch (failure) {
      setError(failure)
    } finally {
      setBusy(false)
      setProgress(null)
    }
  }

  const errors = formErrors(error, ['name', 'delimiter', 'header', 'encoding', 'types', 'path', 'upload', 'file', 'fileName'])
  const fileProblem = errors.byField.path ?? errors.byField.upload ?? errors.byField.file ?? errors.byField.fileName
  return (
    <div className="import-panel">
      <div
        className={`dropzone${over ? ' over' : ''}`}
        onDragOver={(e) => {
          e.preventDefault()
          setOver(true)
        }}
        onDragLeave={() => setOver(false)}
        onDrop={onDrop}
      >
        <p className="dropzone-hint">Drop a CSV, TSV, JSON, NDJSON or Parquet file here, or</p>
        <input
          key={inputKey}
          type="file"
          aria-label="Data file"
          accept=".csv,.tsv,.txt,.json,.ndjson,.jsonl,.parquet"
          onChange={(e) => choose(e.target.files?.[0] ?? null)}
        />
        <FieldError message={fileProblem} />
      </div>
      <div className="toolbar import-toolbar">
        <label className="field">
          Dataset name
          <input
            value={name}
            onChange={(e) => {
              setName(e.target.value)
              setNameTyped(e.target.value !== '')
            }}
            placeholder="e.g. weather"
          />
          <FieldError message={errors.byField.name} />
        </label>
      </div>
      <details className="import-options">
        <summary>Reading options</summary>
        <div className="toolbar">
          <label className="field">
            Delimiter
            <select value={delimiter} onChange={(e) => setDelimiter(e.target.value)}>
              {delimiters.map(([value, label]) => (
                <option key={label} value={value}>
                  {label}
                </option>
              ))}
            </select>
            <FieldError message={errors.byField.delimiter} />
          </label>
          <label className="field">
            Header row
            <select value={header} onChange={(e) => setHeader(e.target.value as typeof header)}>
              <option value="">detect</option>
              <option value="yes">first row is the header</option>
              <option value="no">no header</option>
            </select>
          </label>
          <label className="field">
            Encoding
            <select value={encoding} onChange={(e) => setEncoding(e.target.value as typeof encoding)}>
              <option value="">UTF-8 (default)</option>
              <option value="latin-1">Latin-1 (ISO-8859-1)</option>
              <option value="utf-16">UTF-16</option>
            </select>
            <FieldError message={errors.byField.encoding} />
          </label>
          <label className="field import-types">
            Column types
            <input value={types} onChange={(e) => setTypes(e.target.value)} placeholder="zip=VARCHAR, day=DATE" />
            <FieldError message={typeof parsedTypes === 'string' ? parsedTypes : errors.byField.types} />
          </label>
        </div>
      </details>
      <ErrorBanner error={errors.rest} />
      <button className="btn btn-primary" disabled={!file || busy || typeof parsedTypes === 'string'} onClick={submit}>
        {busy ? 'Importing…' : 'Import'}
      </button>
      {progress && (
        <div className="import-progress">
          <ProgressBar label={`Importing ${file?.name ?? ''}`} value={progress.fraction} detail={`${progress.phase} ${Math.round(progress.fraction * 100)}%`} />
        </div>
      )}
    </div>
  )
}

function readingPhase(phase: string): string {
  return phase === 'reading' || phase === 'converting' ? `DuckDB is ${phase} the file` : phase
}

/** `zip=VARCHAR, day=DATE` -> { zip: 'VARCHAR', day: 'DATE' }, or what is wrong with it. */
function parseTypes(text: string): Record<string, string> | string {
  const out: Record<string, string> = {}
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const eq = part.indexOf('=')
    if (eq <= 0 || eq === part.length - 1) return `"${part}" is not column=TYPE (for example zip=VARCHAR).`
    out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim()
  }
  return out
}

function defaultName(file: File | null): string {
  if (!file) return ''
  return file.name
    .replace(/\.[^.]+$/, '')
    .replace(/[^A-Za-z0-9_.-]+/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 100)
}
