import { useState, type DragEvent } from 'react'
import { api } from '../../api.js'
import { notify, notifyError, ProgressBar, useEngineEvents } from '../common/index.js'

/**
 * Pick or drop a file to import. A browser cannot hand the engine a path, so the
 * file's bytes go to `data.import` as base64 `content` with its `fileName` (the
 * engine API accepts bodies up to 64 MB, about 48 MB of file; bigger files import
 * with `lathe data import FILE`).
 */
export function ImportPanel({ onImported }: { onImported: (dataset: string) => void }) {
  const [name, setName] = useState('')
  const [file, setFile] = useState<File | null>(null)
  const [over, setOver] = useState(false)
  const [busy, setBusy] = useState(false)
  const [progress, setProgress] = useState<{ phase: string; fraction: number } | null>(null)
  // Bumped after an import so the file input forgets the file it showed.
  const [inputKey, setInputKey] = useState(0)

  useEngineEvents(['data.import.progress'], (event) => {
    if (busy && event.payload.dataset === (name || defaultName(file))) setProgress({ phase: event.payload.phase, fraction: event.payload.fraction })
  })

  const choose = (chosen: File | null) => {
    setFile(chosen)
    if (chosen && !name) setName(defaultName(chosen))
  }

  const onDrop = (event: DragEvent) => {
    event.preventDefault()
    setOver(false)
    choose(event.dataTransfer.files[0] ?? null)
  }

  const submit = async () => {
    if (!file) return
    setBusy(true)
    setProgress({ phase: 'uploading', fraction: 0 })
    try {
      const content = await toBase64(file)
      const result = await api.call('data.import', { name: name || defaultName(file), content, fileName: file.name })
      notify(result.created ? `Imported ${result.dataset}@${result.version}` : `Already imported as ${result.dataset}@${result.version}`, {
        kind: 'success',
        detail: `${result.rows} rows, ${result.columns.length} columns`,
      })
      setFile(null)
      setName('')
      setInputKey((k) => k + 1)
      onImported(result.dataset)
    } catch (error) {
      notifyError(error)
    } finally {
      setBusy(false)
      setProgress(null)
    }
  }

  return (
    <div>
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
        <input key={inputKey} type="file" aria-label="Data file" accept=".csv,.tsv,.txt,.json,.ndjson,.jsonl,.parquet" onChange={(e) => choose(e.target.files?.[0] ?? null)} />
      </div>
      <div className="toolbar import-toolbar">
        <label className="field">
          Dataset name
          <input value={name} onChange={(e) => setName(e.target.value)} placeholder="e.g. weather" />
        </label>
        <button className="btn btn-primary" disabled={!file || busy} onClick={submit}>
          Import
        </button>
      </div>
      {progress && (
        <div className="import-progress">
          <ProgressBar label={`Importing ${file?.name ?? ''}`} value={progress.fraction} detail={`${progress.phase} ${Math.round(progress.fraction * 100)}%`} />
        </div>
      )}
    </div>
  )
}

function defaultName(file: File | null): string {
  if (!file) return ''
  return file.name.replace(/\.[^.]+$/, '').replace(/[^A-Za-z0-9_.-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 100)
}

function toBase64(file: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader()
    reader.onload = () => resolve(String(reader.result).replace(/^data:[^,]*,/, ''))
    reader.onerror = () => reject(reader.error ?? new Error(`cannot read ${file.name}`))
    reader.readAsDataURL(file)
  })
}
