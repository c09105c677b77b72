import { useState } from 'react'
import { api, type Output } from '../../api.js'
import { DataTable, notifyError, useOperation, type Column } from '../common/index.js'
import './serving.css'

type Status = Output<'serving.status'>
type Deployment = Status['deployments'][number]

function statusBadge(d: Deployment) {
  if (d.error)
    return (
      <span className="badge badge-warn" title={d.error}>
        {d.status}, last swap failed
      </span>
    )
  return <span className={`badge ${d.status === 'ready' ? 'badge-ok' : d.status === 'failed' ? 'badge-bad' : ''}`}>{d.status}</span>
}

/** The deployed models, and a form to deploy another from the registry. */
export function Deployments({
  status,
  selected,
  onSelect,
  onChange,
}: {
  status: Status
  selected: string | null
  onSelect: (model: string) => void
  onChange: () => void
}) {
  const models = useOperation('registry.models.list', {})
  const [model, setModel] = useState('')
  const [selector, setSelector] = useState('production')
  const [busy, setBusy] = useState(false)

  const columns: Array<Column<Deployment>> = [
    { key: 'model', header: 'Model', render: (d) => <strong>{d.model}</strong> },
    { key: 'selector', header: 'Follows', render: (d) => (/^\d+$/.test(d.selector) ? `pinned v${d.selector}` : `alias ${d.selector}`) },
    { key: 'version', header: 'Serving', render: (d) => (d.version === null ? '—' : `v${d.version}`) },
    { key: 'status', header: 'Status', render: statusBadge },
    { key: 'isDefault', header: '/invocations', render: (d) => (d.isDefault ? 'default' : '') },
    { key: 'logging', header: 'Logging', render: (d) => (d.logging ? 'on' : 'off') },
    {
      key: 'actions',
      header: '',
      sortable: false,
      render: (d) => (
        <button
          className="btn btn-ghost"
          type="button"
          onClick={(e) => {
            e.stopPropagation()
            api.call('serving.undeploy', { model: d.model }).then(onChange, notifyError)
          }}
        >
          Undeploy
        </button>
      ),
    },
  ]

  const candidates = (models.data ?? []).filter((m) => !status.deployments.some((d) => d.model === m.name))
  const chosen = model || candidates[0]?.name || ''

  return (
    <>
      <DataTable
        label="Deployments"
        columns={columns}
        rows={status.deployments}
        rowKey={(d) => d.model}
        selectedKey={selected}
        onRowClick={(d) => onSelect(d.model)}
        empty={<span className="muted">Nothing deployed yet: deploy a registered model below.</span>}
      />
      <form
        className="toolbar deployments-form"
        onSubmit={(e) => {
          e.preventDefault()
          if (!chosen) return
          setBusy(true)
          api
            .call('serving.deploy', { model: chosen, selector, default: status.deployments.length === 0 })
            .then(() => onSelect(chosen), notifyError)
            .finally(() => {
              setBusy(false)
              setModel('')
              onChange()
            })
        }}
      >
        <label className="field">
          Model
          <select value={chosen} onChange={(e) => setModel(e.target.value)} aria-label="Model to deploy">
            {candidates.length === 0 && <option value="">no other registered model</option>}
            {candidates.map((m) => (
              <option key={m.name} value={m.name}>
                {m.name}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          Alias or version
          <input value={selector} onChange={(e) => setSelector(e.target.value)} size={12} aria-label="Alias or version" />
        </label>
        <button className="btn" type="submit" disabled={busy || !chosen}>
          Deploy
        </button>
      </form>
    </>
  )
}
