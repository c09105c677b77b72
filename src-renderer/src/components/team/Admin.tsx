import { useEffect, useState } from 'react'
import { api, type Output } from '../../api.js'
import { Card, DataTable, ErrorBanner, FieldError, formatTime, formErrors, useAction, useOperation, type Column } from '../common/index.js'

type Token = Output<'sync.team.tokens.list'>[number]
type Member = Output<'sync.team.members'>[number]
type AuditRow = Output<'sync.team.audit'>['rows'][number]

/** The Team page's admin cards: members, tokens (an admin's all, everyone else's own) and the team server's audit trail. */

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

export function AdminSection() {
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
