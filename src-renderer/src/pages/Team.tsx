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
import '../components/team/team.css'

type Status = Output<'sync.status'>
type Conflict = Status['conflicts'][number]
type Report = Output<'sync.run'>
type Token = Output<'sync.team.tokens.list'>[number]
type Member = Output<'sync.team.members'>[number]
type AuditRow = Output<'sync.team.audit'>['rows'][number]
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

const tokenBadge: Record<Token['state'], string> = { active: 'badge badge-ok', expired: 'badge', revoked: 'badge badge-bad' }

function TokensCard({ admin, onChanged }: { admin: boolean; onChanged?: () => void }) {
  const tokens = useOperation('sync.team.tokens.list', {})
  const [user, setUser] = useState('')
  const [expires, setExpires] = useState('')
  const [created, setCreated] = useState<{ user: string; token: string } | null>(null)
  const create = useAction(() => api.call('sync.team.tokens.create', { user: user.trim(), expires: expires.trim() || null }))
  const revoke = useAction((id: string) => api.call('sync.team.tokens.revoke', { id }), { success: (t) => `Token of ${t.user} revoked` })
  const createErrors = formErrors(create.error, ['user', 'expires'])
  const columns: Array<Column<Token>> = [
    { key: 'user', header: 'User' },
    { key: 'id', header: 'Token id', render: (t) => <span className="mono">{t.id.slice(0, 8)}…</span> },
    { key: 'state', header: 'State', render: (t) => <span className={tokenBadge[t.state]}>{t.state}</span> },
    { key: 'createdAt', header: 'Created', render: (t) => formatTime(t.createdAt) },
    { key: 'expiresAt', header: 'Expires', render: (t) => (t.expiresAt ? formatTime(t.expiresAt) : 'never') },
    {
      key: 'actions',
      header: '',
      sortable: false,
      render: (t) =>
        t.state === 'active' && (
          <button
            type="button"
            className="btn btn-ghost"
            disabled={revoke.busy}
            aria-label={`revoke token ${t.id.slice(0, 8)} of ${t.user}`}
            onClick={async () => {
              if (await revoke.run(t.id)) {
                tokens.reload()
                onChanged?.()
              }
            }}
          >
            Revoke
          </button>
        ),
    },
  ]
  return (
    <Card title={admin ? 'Tokens' : 'Your tokens'}>
      <ErrorBanner error={tokens.error} onRetry={tokens.reload} />
      <ErrorBanner error={revoke.error} />
      <DataTable label="Tokens" columns={columns} rows={tokens.data ?? []} rowKey={(t) => t.id} empty="No tokens." />
      {admin && (
        <form
          className="toolbar team-token-form"
          onSubmit={async (e) => {
            e.preventDefault()
            const made = await create.run()
            if (made) {
              setCreated({ user: made.user, token: made.token })
              tokens.reload()
              onChanged?.()
            }
          }}
        >
          <label className="field">
            User
            <input value={user} onChange={(e) => setUser(e.target.value)} aria-label="Token user" />
            <FieldError message={createErrors.byField.user} />
          </label>
          <label className="field">
            Expires in (e.g. 30d, empty for never)
            <input value={expires} onChange={(e) => setExpires(e.target.value)} aria-label="Token expires" size={10} />
            <FieldError message={createErrors.byField.expires} />
          </label>
          <button type="submit" className="btn" disabled={create.busy || !user.trim()}>
            Create token
          </button>
        </form>
      )}
      <ErrorBanner error={createErrors.rest} />
      {created && (
        <div className="new-token" role="status">
          <p>
            New token for <strong>{created.user}</strong>. It is shown this once: hand it over now.
          </p>
          <code className="mono" data-testid="new-token">
            {created.token}
          </code>
        </div>
      )}
    </Card>
  )
}

function MembersCard() {
  const members = useOperation('sync.team.members', {})
  const columns: Array<Column<Member>> = [
    { key: 'name', header: 'User', render: (m) => <strong>{m.name}</strong> },
    {
      key: 'roles',
      header: 'Roles',
      sortable: false,
      render: (m) =>
        m.roles.map((r) => (
          <span key={`${r.project}-${r.role}`} className="badge">
            {r.role} {r.project ? `in ${r.project}` : 'everywhere'}
          </span>
        )),
    },
    { key: 'createdAt', header: 'Added', render: (m) => formatTime(m.createdAt) },
  ]
  return (
    <Card title="Members">
      <ErrorBanner error={members.error} onRetry={members.reload} />
      <DataTable label="Members" columns={columns} rows={members.data ?? []} rowKey={(m) => m.id} empty="No users." />
      <p className="muted">
        Add users and roles with <span className="mono">lathe team-server users add NAME --role member --project P</span>.
      </p>
    </Card>
  )
}

/** `changes` counts what this page changed on the server (a token made or revoked): each shows in the trail at once. */
function AuditCard({ changes }: { changes: number }) {
  const [before, setBefore] = useState<number | undefined>(undefined)
  const audit = useOperation('sync.team.audit', before ? { limit: 50, before } : { limit: 50 })
  const { reload } = audit
  useEffect(() => {
    if (changes > 0) reload()
  }, [changes, reload])
  const columns: Array<Column<AuditRow>> = [
    { key: 'seq', header: '#', align: 'right' },
    { key: 'serverTime', header: 'Time', render: (r) => formatTime(r.serverTime) },
    { key: 'userName', header: 'Who' },
    { key: 'action', header: 'Action', render: (r) => <span className="mono">{r.action}</span> },
    {
      key: 'outcome',
      header: 'Outcome',
      render: (r) => (
        <span className={r.outcome === 'accepted' ? 'badge badge-ok' : r.outcome === 'duplicate' ? 'badge' : 'badge badge-warn'}>{r.outcome}</span>
      ),
    },
    { key: 'target', header: 'Target', render: (r) => <span className="mono audit-target">{r.target ?? ''}</span> },
  ]
  return (
    <Card
      title="Audit trail"
      actions={
        <div className="toolbar">
          {before && (
            <button type="button" className="btn btn-ghost" onClick={() => setBefore(undefined)}>
              Newest
            </button>
          )}
          {audit.data?.more && (
            <button type="button" className="btn btn-ghost" onClick={() => setBefore(audit.data!.rows.at(-1)!.seq)}>
              Older
            </button>
          )}
        </div>
      }
    >
      <ErrorBanner error={audit.error} onRetry={audit.reload} />
      <DataTable label="Audit trail" columns={columns} rows={audit.data?.rows ?? []} rowKey={(r) => String(r.seq)} empty="No audit rows." />
      <p className="muted">
        Append-only, each row chained to the one before by SHA-256; <span className="mono">lathe team-server verify-audit</span> proves nothing was edited.
      </p>
    </Card>
  )
}

function AdminSection() {
  const me = useOperation('sync.team.whoami', {})
  const [changes, setChanges] = useState(0)
  if (!me.data) return <ErrorBanner error={me.error} onRetry={me.reload} />
  if (!me.data.admin)
    return (
      <>
        <Card title="Members and audit trail">
          <p className="muted" data-testid="admin-hidden">
            Members, everyone's tokens and the server's audit trail are for team admins. You are {me.data.user}, {me.data.projectRole ?? 'without a role'} in{' '}
            {me.data.project}; ask an admin to see them.
          </p>
        </Card>
        <TokensCard admin={false} />
      </>
    )
  return (
    <>
      <MembersCard />
      <TokensCard admin onChanged={() => setChanges((n) => n + 1)} />
      <AuditCard changes={changes} />
    </>
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
