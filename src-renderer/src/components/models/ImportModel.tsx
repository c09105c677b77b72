import { useState } from 'react'
import { api } from '../../api.js'
import { ErrorBanner, notify } from '../common/index.js'

/** Reads a picked file as base64: the browser has no paths to hand the engine. */
async function base64Of(file: File): Promise<string> {
  const bytes = new Uint8Array(await file.arrayBuffer())
  let binary = ''
  // Chunked: String.fromCharCode(...all) overflows the call stack on a large model.
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  return btoa(binary)
}

/** Import an .onnx file trained anywhere (into a named model) or a .zip package from another workspace. */
export function ImportModel({ onImported }: { onImported: (model: string) => void }) {
  const [file, setFile] = useState<File | null>(null)
  const [name, setName] = useState('')
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<unknown>(null)
  const isPackage = file?.name.toLowerCase().endsWith('.zip') ?? false

  const submit = async () => {
    if (!file) return
    setBusy(true)
    setError(null)
    try {
      const content = await base64Of(file)
      const version = isPackage
        ? (await api.call('registry.importPackage', { content, fileName: file.name, name: name || undefined })).version
        : await api.call('registry.versions.import', { content, fileName: file.name, name })
      notify(`Imported ${version.model} v${version.version}`, { kind: 'success', detail: file.name })
      setFile(null)
      setName('')
      onImported(version.model)
    } catch (e) {
      setError(e)
    } finally {
      setBusy(false)
    }
  }

  return (
    <div role="group" aria-label="Import a model">
      <div className="toolbar">
        <label className="field">
          <span>ONNX file or package (.zip)</span>
          <input type="file" accept=".onnx,.zip" aria-label="Model file" onChange={(e) => setFile(e.target.files?.[0] ?? null)} />
        </label>
        <label className="field">
          <span>{isPackage ? 'Model name (optional: keeps the package’s)' : 'Model name'}</span>
          <input value={name} aria-label="Model name" onChange={(e) => setName(e.target.value.trim())} />
        </label>
        <button type="button" className="btn btn-primary" disabled={!file || (!isPackage && !name) || busy} onClick={submit}>
          {busy ? 'Importing…' : 'Import'}
        </button>
      </div>
      <ErrorBanner error={error} />
    </div>
  )
}
