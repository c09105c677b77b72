import { useState } from 'react'
import { api } from '../../api.js'
import { hashOf } from '../../state/navigation.js'
import { ErrorBanner, useAction, useOperation } from '../common/index.js'
import '../runs/runs.css'

/**
 * Delete or archive a model (no `version`) or one version. The engine's dry run says
 * first what depends on it (aliases, deployments, monitors, alias history) and so
 * whether it is erased, archived for lineage, or must wait until those are moved.
 */
export function RemoveFromRegistry({ model, version, archived, onRemoved }: { model: string; version?: number; archived?: boolean; onRemoved: () => void }) {
  const [asking, setAsking] = useState(false)
  const what = version === undefined ? `model ${model}` : `${model} v${version}`
  const modelPlan = useOperation('registry.models.remove', { model, dryRun: true }, { enabled: asking && version === undefined })
  const versionPlan = useOperation(
    'registry.versions.remove',
    { model, version: String(version ?? 0), dryRun: true },
    { enabled: asking && version !== undefined },
  )
  const plan = version === undefined ? modelPlan : versionPlan
  const remove = useAction(
    () => (version === undefined ? api.call('registry.models.remove', { model }) : api.call('registry.versions.remove', { model, version: String(version) })),
    { success: (r) => `${what[0]!.toUpperCase()}${what.slice(1)} ${r.action}` },
  )
  const restore = useAction(() => api.call('registry.restore', { model, version: version === undefined ? undefined : String(version) }), {
    success: () => `${what[0]!.toUpperCase()}${what.slice(1)} restored`,
  })
  if (archived) {
    return (
      <button type="button" className="btn" disabled={restore.busy} onClick={async () => (await restore.run()) && onRemoved()}>
        Restore {version === undefined ? 'model' : `v${version}`}
      </button>
    )
  }
  if (!asking) {
    return (
      <button type="button" className="btn btn-ghost" onClick={() => setAsking(true)}>
        {version === undefined ? 'Delete model…' : 'Delete version…'}
      </button>
    )
  }
  const d = plan.data?.dependents
  const verb = d?.action === 'archive' ? 'Archive' : 'Delete'
  return (
    <div className="confirm" role="alertdialog" aria-label={`Delete ${what}`}>
      {plan.loading && <p className="muted">Checking what depends on {what}…</p>}
      <ErrorBanner error={plan.error ?? remove.error} />
      {d && (
        <>
          <p>
            {d.action === 'blocked' ? (
              <>
                <strong>{what}</strong> is in use and cannot be deleted or archived yet:
              </>
            ) : (
              <>
                {verb} <strong>{what}</strong>
                {version === undefined && d.versions.length ? ` and its ${d.versions.length} version${d.versions.length === 1 ? '' : 's'}` : ''}?{' '}
                {d.action === 'archive' ? 'It stays in the registry, marked archived, so its history and lineage stay whole.' : 'It is erased.'}
              </>
            )}
          </p>
          <ul className="dependents" aria-label="What depends on it">
            {d.aliases.map((a) => (
              <li key={a.alias}>
                Alias <strong>{a.alias}</strong> points to <a href={hashOf('models', model, a.version)}>v{a.version}</a>
              </li>
            ))}
            {d.deployments.map((x) => (
              <li key={x.selector}>
                The endpoint serves{' '}
                <a href={hashOf('serving')}>
                  {x.model}:{x.selector}
                </a>
              </li>
            ))}
            {d.monitors.map((m) => (
              <li key={m.id}>
                Monitor <a href={hashOf('monitoring')}>{m.name}</a> watches {model}
              </li>
            ))}
            {d.aliasMoves > 0 && (
              <li>
                {d.aliasMoves} alias move{d.aliasMoves === 1 ? '' : 's'} in the history
              </li>
            )}
            {d.reasons.map((r) => (
              <li key={r} className="muted">
                {r[0]!.toUpperCase() + r.slice(1).replace(/\.$/, '')}.
              </li>
            ))}
          </ul>
        </>
      )}
      <div className="toolbar">
        {d && d.action !== 'blocked' && (
          <button
            type="button"
            className="btn btn-primary"
            disabled={remove.busy}
            onClick={async () => {
              if (await remove.run()) {
                setAsking(false)
                onRemoved()
              }
            }}
          >
            {verb} {version === undefined ? 'model' : `v${version}`}
          </button>
        )}
        <button type="button" className="btn btn-ghost" onClick={() => setAsking(false)}>
          {d?.action === 'blocked' ? 'Close' : 'Keep it'}
        </button>
      </div>
    </div>
  )
}
