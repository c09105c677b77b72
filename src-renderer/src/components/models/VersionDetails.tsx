import { useState } from 'react'
import { api, type Output } from '../../api.js'
import { ErrorBanner, notify } from '../common/index.js'

type Version = Output<'registry.versions.show'>['version']

function tagsText(tags: Record<string, string>): string {
  return Object.entries(tags)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ')
}

function parseTags(text: string): Record<string, string> | string {
  const tags: Record<string, string> = {}
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const eq = part.indexOf('=')
    if (eq <= 0) return `"${part}" is not key=value`
    tags[part.slice(0, eq).trim()] = part.slice(eq + 1).trim()
  }
  return tags
}

/** The editable parts of a version (everything else is immutable): description, intended use, tags. */
export function VersionDetails({ model, version, onSaved }: { model: string; version: Version; onSaved: () => void }) {
  const [editing, setEditing] = useState(false)
  const [description, setDescription] = useState(version.description)
  const [intendedUse, setIntendedUse] = useState(version.intendedUse)
  const [tags, setTags] = useState(tagsText(version.tags))
  const [error, setError] = useState<unknown>(null)

  if (!editing) {
    return (
      <div>
        <p>{version.description || <span className="muted">No description.</span>}</p>
        <p>
          <strong>Intended use: </strong>
          {version.intendedUse || <span className="muted">not stated</span>}
        </p>
        <p>
          {Object.entries(version.tags).map(([k, v]) => (
            <span key={k} className="badge">{`${k}=${v}`}</span>
          ))}
        </p>
        <button type="button" className="btn" onClick={() => setEditing(true)}>
          Edit details
        </button>
      </div>
    )
  }

  const save = async () => {
    const parsed = parseTags(tags)
    if (typeof parsed === 'string') return setError(new Error(`Tags: ${parsed}`))
    try {
      await api.call('registry.versions.edit', { model, version: String(version.version), description, intendedUse, tags: parsed })
      notify(`${model} v${version.version} updated`, { kind: 'success' })
      setEditing(false)
      setError(null)
      onSaved()
    } catch (e) {
      setError(e)
    }
  }

  return (
    <div role="group" aria-label="Edit version details">
      <label className="field">
        <span>Description</span>
        <textarea aria-label="Description" rows={2} value={description} onChange={(e) => setDescription(e.target.value)} />
      </label>
      <label className="field">
        <span>Intended use</span>
        <textarea aria-label="Intended use" rows={2} value={intendedUse} onChange={(e) => setIntendedUse(e.target.value)} />
      </label>
      <label className="field">
        <span>Tags (key=value, comma separated)</span>
        <input aria-label="Tags" value={tags} onChange={(e) => setTags(e.target.value)} />
      </label>
      <ErrorBanner error={error} />
      <div className="toolbar">
        <button type="button" className="btn btn-primary" onClick={save}>
          Save details
        </button>
        <button type="button" className="btn btn-ghost" onClick={() => setEditing(false)}>
          Cancel
        </button>
      </div>
    </div>
  )
}
