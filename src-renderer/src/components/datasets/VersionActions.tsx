import { useState } from 'react'
import { api, downloadFile } from '../../api.js'
import { ErrorBanner, useAction, useOperation } from '../common/index.js'

/**
 * Export a version (CSV or Parquet, saved by the browser), and delete or archive the
 * version or the whole dataset. The confirmation first asks the engine what depends on
 * it: anything that does (a run, a model version, a monitor, a derived version) means
 * archive, never erase, so that lineage stays readable.
 */
export function VersionActions(props: {
  dataset: string
  version: number
  archived: boolean
  datasetArchived: boolean
  onChanged: (deleted: 'version' | 'dataset' | null) => void
}) {
  const { dataset, version } = props
  const [asking, setAsking] = useState<null | 'version' | 'dataset'>(null)
  const exporting = useAction(
    async (format: 'csv' | 'parquet') => {
      const file = await api.call('data.export', { dataset: `${dataset}@${version}`, download: true, format })
      await downloadFile(file.download!, file.fileName)
      return file
    },
    { success: (f) => `Exported ${f.rows.toLocaleString()} rows as ${f.fileName}` },
  )
  const restore = useAction((ref: string) => api.call('data.archive', { dataset: ref, restore: true }), {
    success: (r) => `Restored ${r.wholeDataset ? r.dataset : `${r.dataset}@${r.versions.join(', ')}`}`,
  })

  return (
    <div className="version-actions">
      <div className="toolbar">
        <button type="button" className="btn" disabled={exporting.busy} onClick={() => void exporting.run('csv')}>
          {exporting.busy ? 'Exporting…' : 'Export CSV'}
        </button>
        <button type="button" className="btn" disabled={exporting.busy} onClick={() => void exporting.run('parquet')}>
          Export Parquet
        </button>
        {props.archived || props.datasetArchived ? (
          <button
            type="button"
            className="btn"
            disabled={restore.busy}
            onClick={async () => (await restore.run(props.datasetArchived ? dataset : `${dataset}@${version}`)) && props.onChanged(null)}
          >
            Restore {props.datasetArchived ? 'dataset' : 'version'}
          </button>
        ) : (
          <>
            <button type="button" className="btn btn-ghost" onClick={() => setAsking('version')}>
              Delete version…
            </button>
            <button type="button" className="btn btn-ghost" onClick={() => setAsking('dataset')}>
              Delete dataset…
            </button>
          </>
        )}
      </div>
      <ErrorBanner error={exporting.error ?? restore.error} />
      {asking && (
        <ConfirmRemoval
          key={asking}
          target={asking === 'version' ? `${dataset}@${version}` : dataset}
          whole={asking === 'dataset'}
          onCancel={() => setAsking(null)}
          onDone={(deleted) => {
            setAsking(null)
            props.onChanged(deleted ? asking : null)
          }}
        />
      )}
    </div>
  )
}

function ConfirmRemoval({ target, whole, onCancel, onDone }: { target: string; whole: boolean; onCancel: () => void; onDone: (deleted: boolean) => void }) {
  const view = useOperation('data.dependents', { dataset: target })
  const remove = useAction(() => api.call('data.delete', { dataset: target }), {
    success: (r) => (r.datasetDeleted ? `Deleted dataset ${r.dataset}` : `Deleted ${r.dataset}@${r.deleted.join(', ')}`),
  })
  const archive = useAction(() => api.call('data.archive', { dataset: target }), { success: () => `Archived ${target}` })
  const what = whole ? `dataset ${target} and all its versions` : target
  return (
    <div className="confirm" role="alertdialog" aria-label={`Delete ${target}`}>
      {view.loading ? (
        <p className="muted">Looking for what depends on {target}…</p>
      ) : view.error ? (
        <ErrorBanner error={view.error} onRetry={view.reload} />
      ) : view.data!.deletable ? (
        <p>
          Nothing depends on {what}: no run was trained on it, no model version names it, no monitor compares with it and no version was derived from it.
          Deleting removes its rows, splits and stored file for good.
        </p>
      ) : (
        <>
          <p>
            {what} cannot be deleted: {view.data!.dependents.length} thing{view.data!.dependents.length === 1 ? '' : 's'} depend
            {view.data!.dependents.length === 1 ? 's' : ''} on it. Archive it instead: it leaves the lists and stays readable, so this lineage stays whole.
          </p>
          <ul className="dependents" aria-label="What depends on it">
            {view.data!.dependents.slice(0, 20).map((d) => (
              <li key={`${d.kind}-${d.id}-${d.version}`}>
                {d.label} <span className="muted">uses {d.version}</span>
              </li>
            ))}
            {view.data!.dependents.length > 20 && <li className="muted">and {view.data!.dependents.length - 20} more</li>}
          </ul>
        </>
      )}
      <ErrorBanner error={remove.error ?? archive.error} />
      <div className="toolbar">
        {view.data?.deletable && (
          <button type="button" className="btn btn-danger" disabled={remove.busy} onClick={async () => (await remove.run()) && onDone(true)}>
            {remove.busy ? 'Deleting…' : `Delete ${whole ? 'dataset' : 'version'}`}
          </button>
        )}
        {view.data && (
          <button
            type="button"
            className={view.data.deletable ? 'btn' : 'btn btn-primary'}
            disabled={archive.busy}
            onClick={async () => (await archive.run()) && onDone(false)}
          >
            Archive {whole ? 'dataset' : 'version'}
          </button>
        )}
        <button type="button" className="btn btn-ghost" onClick={onCancel}>
          Keep it
        </button>
      </div>
    </div>
  )
}
