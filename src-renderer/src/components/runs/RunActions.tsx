import { useState } from 'react'
import { api } from '../../api.js'
import { hashOf } from '../../state/navigation.js'
import { ErrorBanner, FieldError, formErrors, useAction, useOperation } from '../common/index.js'
import type { RunRecord } from './format.js'

/** Name, tags and notes of a run: what a person adds after the fact. */
export function RunLabels({ run, onChanged }: { run: RunRecord; onChanged: () => void }) {
  const [name, setName] = useState(run.name ?? '')
  const [tags, setTags] = useState((run.tags ?? []).join(', '))
  const [notes, setNotes] = useState(run.notes ?? '')
  const save = useAction(
    () =>
      api.call('training.runs.edit', {
        run: run.id,
        name,
        tags: tags
          .split(',')
          .map((t) => t.trim())
          .filter(Boolean),
        notes,
      }),
    { success: 'Run saved' },
  )
  const errors = formErrors(save.error, ['name', 'tags', 'notes'])
  const dirty = name !== (run.name ?? '') || tags !== (run.tags ?? []).join(', ') || notes !== (run.notes ?? '')
  return (
    <form
      className="run-labels"
      aria-label="Name, tags and notes"
      onSubmit={async (e) => {
        e.preventDefault()
        if (await save.run()) onChanged()
      }}
    >
      <div className="toolbar">
        <label className="field">
          Name
          <input value={name} onChange={(e) => setName(e.target.value)} placeholder="e.g. baseline" size={18} />
          <FieldError message={errors.byField.name} />
        </label>
        <label className="field">
          Tags (comma-separated)
          <input value={tags} onChange={(e) => setTags(e.target.value)} placeholder="e.g. baseline, wide" size={24} />
          <FieldError message={errors.byField.tags} />
        </label>
      </div>
      <label className="field run-notes">
        Notes
        <textarea value={notes} onChange={(e) => setNotes(e.target.value)} rows={2} />
        <FieldError message={errors.byField.notes} />
      </label>
      <ErrorBanner error={errors.rest} />
      <button type="submit" className="btn" disabled={!dirty || save.busy}>
        {save.busy ? 'Saving…' : 'Save'}
      </button>
    </form>
  )
}

/** Register a finished run as the next version of a model (new or existing), then go promote it. */
export function RegisterRun({ run }: { run: RunRecord }) {
  const models = useOperation('registry.models.list', {})
  const [name, setName] = useState(run.registerAs ?? run.name ?? run.dataset.name)
  const register = useAction(() => api.call('registry.versions.register', { runId: run.id, name: name.trim() }))
  const errors = formErrors(register.error, ['name', 'runId'])
  const [done, setDone] = useState<{ model: string; version: number } | null>(null)
  if (run.status !== 'finished') return null
  return (
    <form
      className="toolbar run-register"
      aria-label="Register as a model"
      onSubmit={async (e) => {
        e.preventDefault()
        const version = await register.run()
        if (version) setDone({ model: version.model, version: version.version })
      }}
    >
      <label className="field">
        Register as model
        <input value={name} onChange={(e) => setName(e.target.value)} list="known-models" aria-label="Model name" size={18} />
        <FieldError message={errors.byField.name ?? errors.byField.runId} />
      </label>
      <datalist id="known-models">
        {(models.data ?? []).map((m) => (
          <option key={m.name} value={m.name} />
        ))}
      </datalist>
      <button type="submit" className="btn btn-primary" disabled={!name.trim() || register.busy}>
        {register.busy ? 'Registering…' : 'Register'}
      </button>
      {done && (
        <span role="status">
          Registered as <a href={hashOf('models', done.model, done.version)}>{`${done.model} v${done.version}`}</a>: open it to promote.
        </span>
      )}
      <ErrorBanner error={errors.rest} />
    </form>
  )
}

/**
 * Archive (never erase) a run: it leaves the list, and a model version made from it keeps
 * its lineage. The confirmation says what points at the run.
 */
export function ArchiveRun({ run, onChanged }: { run: RunRecord; onChanged: () => void }) {
  const [asking, setAsking] = useState(false)
  const models = useOperation('registry.models.list', {}, { enabled: asking })
  const archive = useAction((archived: boolean) => api.call('training.runs.archive', { run: run.id, archived }), {
    success: (r) => (r.archivedAt ? `Run ${r.id} archived` : `Run ${r.id} restored`),
  })
  if (run.status === 'queued' || run.status === 'running') return null
  if (run.archivedAt) {
    return (
      <button type="button" className="btn" disabled={archive.busy} onClick={async () => (await archive.run(false)) && onChanged()}>
        Restore run
      </button>
    )
  }
  const registered = (models.data ?? []).filter((m) => run.registerAs === m.name)
  return asking ? (
    <div className="confirm" role="alertdialog" aria-label="Archive run">
      <p>
        Archive run <span className="mono">{run.id}</span>? It leaves the Runs list (tick “Show archived” to see it again). Nothing is erased: its metrics, its
        model and the lineage of any model version made from it stay as they are
        {registered.length ? ` (it was registered as ${registered.map((m) => m.name).join(', ')})` : ''}.
      </p>
      <ErrorBanner error={archive.error} />
      <div className="toolbar">
        <button type="button" className="btn btn-primary" disabled={archive.busy} onClick={async () => (await archive.run(true)) && onChanged()}>
          Archive run
        </button>
        <button type="button" className="btn btn-ghost" onClick={() => setAsking(false)}>
          Keep it
        </button>
      </div>
    </div>
  ) : (
    <button type="button" className="btn btn-ghost" onClick={() => setAsking(true)}>
      Archive…
    </button>
  )
}

/**
 * Delete a run: the engine says first what would happen (a dry run), and why: a run a
 * model version was registered from is archived instead, so lineage never points at nothing.
 */
export function DeleteRun({ run, onDeleted }: { run: RunRecord; onDeleted: (archived: boolean) => void }) {
  const [asking, setAsking] = useState(false)
  const plan = useOperation('training.runs.delete', { run: run.id, dryRun: true }, { enabled: asking })
  const remove = useAction(() => api.call('training.runs.delete', { run: run.id }), {
    success: (r) => (r.action === 'deleted' ? `Run ${r.run} deleted` : `Run ${r.run} archived: ${r.reasons[0] ?? ''}`),
  })
  if (run.status === 'queued' || run.status === 'running') return null
  if (!asking) {
    return (
      <button type="button" className="btn btn-ghost" onClick={() => setAsking(true)}>
        Delete…
      </button>
    )
  }
  const keeps = plan.data?.plan === 'archive'
  return (
    <div className="confirm" role="alertdialog" aria-label="Delete run">
      {plan.loading && <p className="muted">Checking what depends on this run…</p>}
      <ErrorBanner error={plan.error ?? remove.error} />
      {plan.data && (
        <>
          <p>
            {keeps ? 'Archive' : 'Delete'} run <span className="mono">{run.id}</span>?
          </p>
          <ul className="dependents">
            {plan.data.versions.map((v) => (
              <li key={`${v.model}@${v.version}`}>
                Model version <a href={hashOf('models', v.model, v.version)}>{`${v.model} v${v.version}`}</a> was registered from it.
              </li>
            ))}
            <li>
              {keeps
                ? 'So it is archived (hidden from the list, kept for lineage), not deleted.'
                : plan.data.reasons.map((r) => `${r[0]!.toUpperCase()}${r.slice(1)}.`).join(' ')}
            </li>
          </ul>
        </>
      )}
      <div className="toolbar">
        <button
          type="button"
          className="btn btn-primary"
          disabled={!plan.data || remove.busy}
          onClick={async () => {
            const done = await remove.run()
            if (done) onDeleted(done.action === 'archived')
          }}
        >
          {keeps ? 'Archive run' : 'Delete run'}
        </button>
        <button type="button" className="btn btn-ghost" onClick={() => setAsking(false)}>
          Keep it
        </button>
      </div>
    </div>
  )
}
