import type { Output } from '../../api.js'

type Move = Output<'registry.history'>['moves'][number]

/** Every alias move, newest first: who moved what where, and whether a gate was forced. */
export function HistoryTimeline({ moves }: { moves: Move[] }) {
  if (moves.length === 0) return <p className="muted">No alias has moved yet.</p>
  return (
    <ol aria-label="Alias history" style={{ listStyle: 'none', padding: 0, margin: 0 }}>
      {[...moves].reverse().map((m) => (
        <li key={m.id} style={{ borderLeft: '2px solid var(--border)', padding: '4px 0 8px 12px' }}>
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

/** The append-only audit log of a model: every change, who made it, why. */
export function AuditList({ entries }: { entries: AuditEntry[] }) {
  return (
    <details>
      <summary>Audit log ({entries.length} entries)</summary>
      <table className="data-table" aria-label="Audit log">
        <thead>
          <tr>
            <th>time</th>
            <th>actor</th>
            <th>action</th>
            <th>what</th>
            <th>reason</th>
          </tr>
        </thead>
        <tbody>
          {[...entries].reverse().map((a) => (
            <tr key={a.id}>
              <td>{new Date(a.time).toLocaleString()}</td>
              <td>{a.actor}</td>
              <td className="mono">{a.action}</td>
              <td className="mono">{a.entityId}</td>
              <td>{a.reason ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </details>
  )
}
