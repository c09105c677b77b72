import { Card, DataTable, ErrorBanner, Facts, useOperation, type Column } from '../components/common/index.js'
import type { Output } from '../api.js'

type Backend = Output<'compute.backends'>[number]

const backendColumns: Array<Column<Backend>> = [
  { key: 'name', header: 'Backend', sortable: false, render: (b) => <span className="mono">{b.name}</span> },
  { key: 'available', header: 'Available', sortable: false, render: (b) => (b.available ? 'yes' : 'no') },
  {
    key: 'chosen',
    header: 'Chosen',
    sortable: false,
    render: (b) => (b.chosen ? <span className="badge badge-ok">chosen</span> : ''),
  },
  { key: 'device', header: 'Device', sortable: false, render: (b) => b.device ?? '' },
  { key: 'reason', header: 'Reason', sortable: false, render: (b) => <span className="muted">{b.reason ?? ''}</span> },
]

export default function SettingsPage() {
  const backends = useOperation('compute.backends', {})
  const workspace = useOperation('workspace.info', {})
  const system = useOperation('system.info', {})
  return (
    <section aria-labelledby="page-title" className="page">
      <h1 id="page-title">Settings</h1>
      <Card title="Compute backends">
        <p className="muted">
          Probed best first: CUDA through tfjs-node-gpu, any GPU through WebGPU (Dawn: Vulkan, Metal or D3D12), native CPU through tfjs-node, then WebAssembly,
          then plain JavaScript. Training uses the chosen one.
        </p>
        <ErrorBanner error={backends.error} onRetry={backends.reload} />
        {backends.data && <DataTable label="Compute backends" columns={backendColumns} rows={backends.data} rowKey={(b) => b.name} />}
      </Card>
      <Card title="Workspace">
        <ErrorBanner error={workspace.error} onRetry={workspace.reload} />
        {workspace.data && (
          <Facts
            items={[
              ['Folder', <span className="mono">{workspace.data.dir}</span>],
              ['Schema version', workspace.data.schemaVersion],
              ['Objects', `${workspace.data.objects.count} (${formatBytes(workspace.data.objects.bytes)})`],
              ['Engine API', <span className="mono">{workspace.data.apiUrl ?? 'in process'}</span>],
              ['Engine PID', workspace.data.pid],
            ]}
          />
        )}
      </Card>
      <Card title="About">
        <ErrorBanner error={system.error} onRetry={system.reload} />
        {system.data && (
          <Facts
            items={[
              ['Lathe', system.data.app],
              ['Node', system.data.node],
              ['Platform', `${system.data.platform} ${system.data.arch}, ${system.data.cpus} CPUs, ${formatBytes(system.data.memoryBytes)} memory`],
              ...Object.entries(system.data.versions).map(([name, version]): [string, string] => [name, version ?? 'not installed']),
            ]}
          />
        )}
      </Card>
    </section>
  )
}

function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`
}
