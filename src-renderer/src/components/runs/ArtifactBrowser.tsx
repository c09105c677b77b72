import { useState } from 'react'
import type { Output } from '../../api.js'
import { EmptyState, ErrorBanner, useOperation } from '../common/index.js'

type Artifact = Output<'mlflow.artifacts.read'>

const imageTypes: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  svg: 'image/svg+xml',
}
const extensionOf = (path: string) => path.slice(path.lastIndexOf('.') + 1).toLowerCase()

/**
 * A script run's artifacts (logged through the MLflow API): folders to walk into,
 * and a preview of the chosen file: text, pretty-printed JSON, CSV as a table, images.
 */
export function ArtifactBrowser({ runId }: { runId: string }) {
  const [folder, setFolder] = useState('')
  const [file, setFile] = useState<string | null>(null)
  const listing = useOperation('mlflow.artifacts.list', { run: runId, path: folder })
  const parts = folder ? folder.split('/') : []

  return (
    <section className="artifact-browser" aria-label="Artifacts">
      <h3>Artifacts</h3>
      <nav className="toolbar" aria-label="Artifact folder">
        <button className="btn btn-ghost" onClick={() => (setFolder(''), setFile(null))}>
          artifacts
        </button>
        {parts.map((part, i) => (
          <button key={i} className="btn btn-ghost" onClick={() => (setFolder(parts.slice(0, i + 1).join('/')), setFile(null))}>
            / {part}
          </button>
        ))}
      </nav>
      <ErrorBanner error={listing.error} onRetry={listing.reload} />
      {listing.data && listing.data.entries.length === 0 && <EmptyState title="No artifacts">This run logged no files here.</EmptyState>}
      <ul className="artifact-list">
        {listing.data?.entries.map((entry) => (
          <li key={entry.path}>
            <button
              className={`btn btn-ghost${file === entry.path ? ' selected' : ''}`}
              onClick={() => (entry.isDir ? (setFolder(entry.path), setFile(null)) : setFile(entry.path))}
              aria-label={`${entry.isDir ? 'folder' : 'file'} ${entry.path}`}
            >
              {entry.isDir ? '▸ ' : ''}
              {entry.path.slice(entry.path.lastIndexOf('/') + 1)}
              {entry.size !== null && <span className="muted"> ({formatBytes(entry.size)})</span>}
            </button>
          </li>
        ))}
      </ul>
      {file && <ArtifactPreview key={file} runId={runId} path={file} />}
    </section>
  )
}

function ArtifactPreview({ runId, path }: { runId: string; path: string }) {
  const image = imageTypes[extensionOf(path)]
  const read = useOperation('mlflow.artifacts.read', { run: runId, path, maxBytes: image ? 2 * 1024 * 1024 : 256 * 1024 })
  if (read.error) return <ErrorBanner error={read.error} onRetry={read.reload} />
  if (!read.data) return <p className="muted">Loading {path}…</p>
  const a = read.data
  return (
    <figure className="artifact-preview" aria-label={`preview of ${path}`}>
      <figcaption className="muted">
        {path} · {formatBytes(a.size)} · {a.contentType}
        {a.truncated ? ' · showing the beginning only' : ''}
      </figcaption>
      {preview(a, image)}
    </figure>
  )
}

function preview(a: Artifact, image: string | undefined) {
  if (image && !a.truncated) {
    const src = `data:${image};base64,${a.encoding === 'base64' ? a.content : btoa(unescape(encodeURIComponent(a.content)))}`
    return <img src={src} alt={a.path} style={{ maxWidth: '100%', maxHeight: 480 }} />
  }
  if (a.encoding !== 'utf8') return <p className="muted">Binary file: no preview.</p>
  const ext = extensionOf(a.path)
  if (ext === 'json' && !a.truncated) {
    try {
      return <pre className="mono">{JSON.stringify(JSON.parse(a.content), null, 2)}</pre>
    } catch {
      // Not valid JSON after all: shown as text below.
    }
  }
  if (ext === 'csv' || ext === 'tsv') {
    const rows = a.content
      .split(/\r?\n/)
      .filter(Boolean)
      .slice(0, 101)
      .map((line) => line.split(ext === 'csv' ? ',' : '\t'))
    const [header, ...body] = rows
    return (
      <table className="metrics-table" aria-label={`table ${a.path}`}>
        <thead>
          <tr>
            {header?.map((h, i) => (
              <th key={i}>{h}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {body.map((r, i) => (
            <tr key={i}>
              {r.map((c, j) => (
                <td key={j}>{c}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    )
  }
  return <pre className="mono artifact-text">{a.content}</pre>
}

function formatBytes(n: number): string {
  return n < 1024 ? `${n} B` : n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 / 1024).toFixed(1)} MiB`
}
