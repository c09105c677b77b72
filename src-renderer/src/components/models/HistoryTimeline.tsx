import type { Output } from '../../api.js'
import { DataTable, type Column } from '../common/index.js'
import './models.css'

type Move = Output<'registry.history'>['moves'][number]

/** Every alias move, newest first: who moved what where, and whether a gate was forced. */
export function HistoryTimeline({ moves }: { moves: Move[] }) {
  if (moves.length === 0) return <p className="muted">No alias has moved yet.</p>
  return (
    <ol aria-label="Alias history" className="alias-history">
      {[...moves].reverse().map((m) => (
        <li key={m.id}>
          <div>
            <span className="badge">{m.alias}</span>{' '}
            <strong>
              {m.previous === null ? 'set to' : `v${m.previous} →`} v{m.version}
            </strong>{' '}
            <span className={`badge ${m.kind === 'rollback' ? 'badge-warn' : m.forced ? 'badge-bad' : 'badge-ok'}`}>
              {m.kind === 'rollback' ? 'rollback' : m.forced ? 'forced' : 'promoted'}
            </span>
          </div>
          <div className="muted">
            {new Date(m.time).toLocaleString()} by {m.actor}
            {m.reason ? ` · ${m.reason}` : ''}
            {m.cause ? ` · cause ${m.cause}` : ''}
          </div>
        </li>
      ))}
    </ol>
  )
}

type AuditEntry = Output<'registry.history'>['audit'][number]

const auditColumns: Array<Column<AuditEntry>> = [
  { key: 'time', header: 'time', render: (a) => new Date(a.time).toLocaleString() },
  { key: 'actor', header: 'actor' },
  { key: 'action', header: 'action', render: (a) => <span className="mono">{a.action}</span> },
  { key: 'entityId', header: 'what', render: (a) => <span className="mono">{a.entityId}</span> },
  { key: 'reason', header: 'reason', render: (a) => a.reason ?? '' },
]

/** The append-only audit log of a model: every change, who made it, why. */
export function AuditList({ entries }: { entries: AuditEntry[] }) {
  return (
    <details>
      <summary>Audit log ({entries.length} entries)</summary>
      <DataTable label="Audit log" columns={auditColumns} rows={[...entries].reverse()} rowKey={(a) => String(a.id)} maxHeight={360} />
    </details>
  )
}
