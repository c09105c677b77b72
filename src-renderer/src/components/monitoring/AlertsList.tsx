import { api } from '../../api.js'
import { DataTable, EmptyState, notifyError, type Column } from '../common/index.js'
import { shortTime, type Alert } from './format.js'

export function AlertsList({ alerts, onChanged }: { alerts: Alert[]; onChanged: () => void }) {
  const acknowledge = (id: string) => api.call('monitoring.alerts.ack', { alert: id }).then(onChanged, notifyError)
  const columns: Array<Column<Alert>> = [
    { key: 'time', header: 'Time', render: (a) => shortTime(a.time) },
    {
      key: 'status',
      header: 'Status',
      render: (a) => <span className={a.status === 'open' ? 'badge badge-bad' : 'badge'}>{a.status}</span>,
    },
    { key: 'message', header: 'Alert' },
    {
      key: 'actions',
      header: 'Actions',
      sortable: false,
      render: (a) => a.actions.map((x) => `${x.type}: ${x.status}${x.detail ? ` (${x.detail})` : ''}`).join('; '),
    },
    {
      key: 'ack',
      header: '',
      sortable: false,
      render: (a) =>
        a.status === 'open' ? (
          <button
            type="button"
            className="btn"
            onClick={(e) => {
              e.stopPropagation()
              void acknowledge(a.id)
            }}
          >
            Acknowledge
          </button>
        ) : (
          <span className="muted">by {a.acknowledgedBy}</span>
        ),
    },
  ]
  return (
    <DataTable
      label="Alerts"
      columns={columns}
      rows={alerts}
      rowKey={(a) => a.id}
      empty={<EmptyState title="No alerts">Alerts appear here when a monitor's rule fires.</EmptyState>}
    />
  )
}
