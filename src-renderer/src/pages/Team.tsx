import { useEffect, useState, type FormEvent } from 'react'
import { LatheError } from '../../../src-main/engine/api/common/errors.js'
import { api, type Output } from '../api.js'
import {
  Card,
  DataTable,
  EmptyState,
  ErrorBanner,
  Facts,
  FieldError,
  formatTime,
  formErrors,
  ProgressBar,
  useAction,
  useEngineEvents,
  useOperation,
  type Column,
} from '../components/common/index.js'
import { AdminSection } from '../components/team/Admin.js'
import '../components/team/team.css'

type Status = Output<'sync.status'>
type Conflict = Status['conflicts'][number]
type Report = Output<'sync.run'>
type Pending = Output<'sync.pending'>['operations'][number]

const CONNECT_FIELDS = ['url', 'token', 'project'] as const

/**
 * Where a failed connect goes: the engine names the field for a bad URL and a project
 * without a role; an unreachable server is about the URL, a refused token about the token.
 */
function connectErrors(error: unknown): { byField: Record<string, string>; rest: unknown } {
  const placed = formErrors(error, [...CONNECT_FIELDS])
  if (!placed.rest || !(placed.rest instanceof LatheError)) return placed
  const e = placed.rest
  const field = e.code === 'unavailable' ? 'url' : e.code === 'unauthorized' ? 'token' : e.code === 'forbidden' ? 'project' : null
  if (!field) return placed
  const sentence =
    e.code === 'unauthorized'
      ? `The team server does not accept this token (${e.message.replace(/^the team server refused: /, '')}). Ask an admin for a new one.`
      : e.message.charAt(0).toUpperCase() + e.message.slice(1) + (e.code === 'unavailable' ? '. Check the URL and that the team server is running.' : '.')
  return { byField: { [field]: sentence }, rest: null }
}

function ConnectForm({ onConnected }: { onConnected: () => void }) {
  const [url, setUrl] = useState('http://127.0.0.1:7072')
  const [token, setToken] = useState('')
  const [project, setProject] = useState('')
  const connecting = useAction(() => api.call('sync.connect', { url: url.trim(), token: token.trim(), project: project.trim() }), {
    success: (r) => `Connected to ${r.project} on ${r.url} as ${r.user}`,
  })
  const errors = connectErrors(connecting.error)
  const submit = async (e: FormEvent) => {
    e.preventDefault()
    if (await connecting.run()) onConnected()
  }
  return (
    <form className="team-connect" onSubmit={(e) => void submit(e)} aria-label="Connect to a team server">
      <p className="muted">
        Connect this workspace to a project on a team server (<span className="mono">lathe team-server</span>). The token is kept in the workspace, readable by
        you only; runs, datasets and models you make are pushed, and your teammates' are pulled.
      </p>
      <ErrorBanner error={errors.rest} />
      <div className="team-connect-fields">
        <label className="field">
          Server URL
          <input value={url} onChange={(e) => setUrl(e.target.value)} aria-label="Server URL" spellCheck={false} />
          <FieldError message={errors.byField.url} />
        </label>
        <label className="field">
          Token
          <input type="password" value={token} onChange={(e) => setToken(e.target.value)} aria-label="Token" placeholder="lathe_…" autoComplete="off" />
          <FieldError message={errors.byField.token} />
        </label>
        <label className="field">
          Project
          <input value={project} onChange={(e) => setProject(e.target.value)} aria-label="Project" spellCheck={false} />
          <FieldError message={errors.byField.project} />
        </label>
        <button type="submit" className="btn btn-primary" disabled={connecting.busy}>
          {connecting.busy ? 'Connecting…' : 'Connect'}
        </button>
      </div>
    </form>
  )
}

const phaseLabel = { blobs: 'Uploading files', push: 'Pushing operations', pull: 'Pulling changes' } as const

function SyncCard({ status }: { status: Status }) {
  const bg = useOperation('sync.background', {})
  const me = useOperation('sync.team.whoami', {})
  const [progress, setProgress] = useState<{ phase: keyof typeof phaseLabel; done: number; total: number | null } | null>(null)
  const [report, setReport] = useState<Report | null>(null)
  const [interval, setIntervalText] = useState('')
  useEffect(() => {
    if (bg.data && interval === '') setIntervalText(String(bg.data.intervalS))
  }, [bg.data, interval])
  useEngineEvents(['sync.progress'], (event) => setProgress(event.payload as NonNullable<typeof progress>))
  const syncing = useAction(async () => {
    setProgress(null)
    try {
      const r = await api.call('sync.run', {})
      setReport(r)
      return r
    } finally {
      setProgress(null)
    }
  })
  const configure = useAction((input: { enabled?: boolean; intervalS?: number }) => api.call('sync.background.configure', input), {
    success: 'Background sync saved',
  })
  const disconnect = useAction(() => api.call('sync.disconnect', {}), { success: 'Disconnected; the outbox stays and goes out after the next connect' })
  const configureErrors = formErrors(configure.error, ['intervalS'])
  const state = bg.data?.state ?? 'idle'
  const busy = syncing.busy || state === 'syncing'

  return (
    <Card
      title="Team server"
      actions={
        <div className="toolbar">
          <button type="button" className="btn btn-primary" disabled={busy} onClick={() => void syncing.run()}>
            {busy ? 'Syncing…' : 'Sync now'}
          </button>
          <button type="button" className="btn btn-ghost" disabled={busy || disconnect.busy} onClick={() => void disconnect.run()}>
            Disconnect
          </button>
        </div>
      }
    >
      <Facts
        items={[
          ['Server', <span className="mono">{status.url}</span>],
          ['Project', status.project],
          ['You', me.data ? `${me.data.user} (${me.data.projectRole ?? 'no role'})` : me.error ? '?' : '…'],
          ['Pending', <span data-testid="team-pending">{status.pending}</span>],
          ['Last sync', status.lastSync ? formatTime(status.lastSync) : 'never'],
          ['Next sync', bg.data?.nextAt ? formatTime(bg.data.nextAt) : bg.data?.enabled === false ? 'background sync off' : '—'],
        ]}
      />
      <ErrorBanner error={me.error} onRetry={me.reload} />
      {busy && (
        <ProgressBar
          label={progress ? phaseLabel[progress.phase] : 'Syncing'}
          value={progress?.total ? progress.done / progress.total : null}
          detail={progress ? `${progress.done}${progress.total ? ` of ${progress.total}` : ''}` : undefined}
        />
      )}
      <ErrorBanner error={syncing.error} />
      {bg.data?.problem && !syncing.error && (state === 'offline' || state === 'error') && (
        <p className="error-text" role="status">
          Background sync: {bg.data.problem} (try {bg.data.failures} in a row; next at {bg.data.nextAt ? formatTime(bg.data.nextAt) : '—'}).
        </p>
      )}
      {report && !busy && (
        <div className="sync-report" role="status" aria-label="Last sync">
          {report.agreed ? (
            <p>
              <span className="badge badge-ok">in agreement</span> pushed{' '}
              {Object.entries(report.pushed)
                .map(([k, n]) => `${n} ${k}`)
                .join(', ') || 'nothing'}
              , pulled {report.pulled}.
            </p>
          ) : (
            <>
              <p>
                <span className="badge badge-warn">not in agreement yet</span> pushed{' '}
                {Object.entries(report.pushed)
                  .map(([k, n]) => `${n} ${k}`)
                  .join(', ') || 'nothing'}
                , pulled {report.pulled}. What is left:
              </p>
              <ul>
                {report.left.map((l) => (
                  <li key={l}>{l}</li>
                ))}
              </ul>
            </>
          )}
        </div>
      )}
      <form
        className="toolbar team-background"
        onSubmit={(e) => {
          e.preventDefault()
          void configure.run({ intervalS: Number(interval) })
        }}
      >
        <label className="checkbox">
          <input type="checkbox" checked={bg.data?.enabled ?? true} onChange={(e) => void configure.run({ enabled: e.target.checked })} /> Sync in the
          background
        </label>
        <label className="field">
          Every (seconds)
          <input value={interval} onChange={(e) => setIntervalText(e.target.value)} aria-label="Sync interval in seconds" inputMode="numeric" size={6} />
          <FieldError message={configureErrors.byField.intervalS} />
        </label>
        <button type="submit" className="btn" disabled={configure.busy}>
          Save
        </button>
      </form>
      <ErrorBanner error={configureErrors.rest} />
    </Card>
  )
}

function PendingCard() {
  const pending = useOperation('sync.pending', { limit: 200 })
  const columns: Array<Column<Pending>> = [
    { key: 'kind', header: 'Operation', render: (p) => <span className="mono">{p.kind}</span> },
    { key: 'label', header: 'What' },
    { key: 'state', header: 'State', render: (p) => <span className="badge badge-warn">{p.state === 'missing_ref' ? 'waits for a record' : 'pending'}</span> },
    { key: 'createdAt', header: 'Made', render: (p) => formatTime(p.createdAt) },
  ]
  const total = pending.data?.total ?? 0
  return (
    <Card title={`Pending operations${pending.data ? ` (${total})` : ''}`}>
      <ErrorBanner error={pending.error} onRetry={pending.reload} />
      <DataTable
        label="Pending operations"
        columns={columns}
        rows={pending.data?.operations ?? []}
        rowKey={(p) => p.opId}
        empty={<EmptyState title="Nothing to push">Everything made here is on the team server.</EmptyState>}
      />
      {pending.data && total > pending.data.operations.length && (
        <p className="muted">
          The first {pending.data.operations.length} of {total} are shown; Sync now sends them all.
        </p>
      )}
    </Card>
  )
}

function ConflictRow({ conflict, onDecided }: { conflict: Conflict; onDecided: () => void }) {
  const [reason, setReason] = useState('')
  const [forcing, setForcing] = useState(false)
  const decide = useAction(
    (decision: 'promote' | 'drop', force: boolean) =>
      api.call('sync.conflicts.decide', { opId: conflict.opId, decision, force, reason: force ? reason.trim() : undefined }),
    { success: (r) => r.message },
  )
  const run = async (decision: 'promote' | 'drop', force: boolean) => {
    if (await decide.run(decision, force)) onDecided()
  }
  const gateFailed = decide.error instanceof LatheError && decide.error.field === 'gate'
  const errors = formErrors(decide.error, ['reason'])
  const c = conflict.current
  return (
    <li className="conflict" aria-label={`conflict ${conflict.model}:${conflict.alias}`}>
      <p>
        Your move of{' '}
        <strong>
          {conflict.model}:{conflict.alias}
        </strong>{' '}
        to <strong>{conflict.attempted}</strong> was not applied:{' '}
        {c ? `${c.movedBy} moved it to v${c.version} at ${c.movedAt ? formatTime(c.movedAt) : '?'}` : conflict.message}. Decide again: promote{' '}
        {conflict.attempted} against the version the team has now (its gate runs again), or drop your move.
      </p>
      <div className="toolbar">
        <button type="button" className="btn btn-primary" disabled={decide.busy} onClick={() => void run('promote', false)}>
          Promote {conflict.attempted} again
        </button>
        <button type="button" className="btn" disabled={decide.busy} onClick={() => void run('drop', false)}>
          Drop my move
        </button>
      </div>
      {!gateFailed && <ErrorBanner error={errors.rest} />}
      {gateFailed && (
        <div className="conflict-force">
          <p className="error-text" role="alert">
            {(decide.error as LatheError).message}
          </p>
          {!forcing ? (
            <button type="button" className="btn btn-ghost" onClick={() => setForcing(true)}>
              Move it anyway…
            </button>
          ) : (
            <form
              className="toolbar"
              onSubmit={(e) => {
                e.preventDefault()
                void run('promote', true)
              }}
            >
              <label className="field">
                Reason (for the audit log)
                <input value={reason} onChange={(e) => setReason(e.target.value)} aria-label="Reason" />
                <FieldError message={errors.byField.reason} />
              </label>
              <button type="submit" className="btn btn-primary" disabled={decide.busy}>
                Force {conflict.attempted}
              </button>
            </form>
          )}
        </div>
      )}
    </li>
  )
}

function ConflictsCard({ status, onDecided }: { status: Status; onDecided: () => void }) {
  return (
    <Card title={`Conflicts (${status.conflicts.length})`}>
      {status.conflicts.length === 0 ? (
        <p className="muted">No alias move is waiting for a decision. When a teammate moves an alias first, your move shows here to decide again.</p>
      ) : (
        <ul className="conflicts" aria-label="Conflicts">
          {status.conflicts.map((c) => (
            <ConflictRow key={c.opId} conflict={c} onDecided={onDecided} />
          ))}
        </ul>
      )}
    </Card>
  )
}

/** Team: connect to a team server, sync now, what is pending, conflicts to decide; members, tokens and the audit trail for admins. */
export default function TeamPage() {
  const status = useOperation('sync.status', {})
  return (
    <section aria-labelledby="page-title" className="page">
      <h1 id="page-title">Team</h1>
      <ErrorBanner error={status.error} onRetry={status.reload} />
      {status.loading && <p className="muted">Loading…</p>}
      {status.data && !status.data.connected && (
        <Card title="Connect">
          <ConnectForm onConnected={status.reload} />
          {status.data.pending > 0 && <p className="muted">{status.data.pending} operation(s) made here wait in the outbox; they go out on the first sync.</p>}
        </Card>
      )}
      {status.data?.connected && (
        <>
          <SyncCard key={`${status.data.url}-${status.data.project}`} status={status.data} />
          <ConflictsCard status={status.data} onDecided={status.reload} />
          <PendingCard />
          <AdminSection />
        </>
      )}
    </section>
  )
}
