import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts'
import type { Output } from '../../api.js'
import { DataTable, useOperation, type Column } from '../common/index.js'
import './serving.css'

type Second = Output<'serving.stats'>[number]
type Request = Output<'serving.requests'>[number]

export function LiveChart() {
  // The endpoint keeps these in memory, so reading them every second is cheap (freshness.ts).
  const stats = useOperation('serving.stats', { seconds: 120 }).data
  const data = (stats ?? []).map((s: Second) => ({ ...s, t: new Date(s.time).toLocaleTimeString() }))
  return (
    <div aria-label="Request rate and latency" role="img" className="traffic-chart">
      <ResponsiveContainer>
        <LineChart data={data} margin={{ top: 8, right: 16, bottom: 0, left: 0 }}>
          <CartesianGrid strokeDasharray="3 3" stroke="var(--border)" />
          <XAxis dataKey="t" minTickGap={40} tick={{ fontSize: 11 }} />
          <YAxis yAxisId="rate" tick={{ fontSize: 11 }} label={{ value: 'req/s', angle: -90, position: 'insideLeft', fontSize: 11 }} />
          <YAxis yAxisId="ms" orientation="right" tick={{ fontSize: 11 }} label={{ value: 'ms', angle: 90, position: 'insideRight', fontSize: 11 }} />
          <Tooltip />
          <Legend />
          <Line yAxisId="rate" type="monotone" dataKey="requests" name="requests/s" stroke="var(--accent)" dot={false} isAnimationActive={false} />
          <Line yAxisId="rate" type="monotone" dataKey="errors" name="errors/s" stroke="var(--bad)" dot={false} isAnimationActive={false} />
          <Line yAxisId="ms" type="monotone" dataKey="p50Ms" name="p50 ms" stroke="var(--ok)" dot={false} connectNulls isAnimationActive={false} />
          <Line yAxisId="ms" type="monotone" dataKey="p99Ms" name="p99 ms" stroke="var(--warn)" dot={false} connectNulls isAnimationActive={false} />
        </LineChart>
      </ResponsiveContainer>
    </div>
  )
}

const requestColumns: Array<Column<Request>> = [
  { key: 'time', header: 'Time', render: (r) => new Date(r.time).toLocaleTimeString() },
  { key: 'model', header: 'Model', render: (r) => (r.version === null ? r.model : `${r.model} v${r.version}`) },
  { key: 'route', header: 'Route' },
  { key: 'status', header: 'Status', align: 'right', render: (r) => <span className={`badge ${r.status < 400 ? 'badge-ok' : 'badge-bad'}`}>{r.status}</span> },
  { key: 'rows', header: 'Rows', align: 'right' },
  { key: 'latencyMs', header: 'Latency', align: 'right', render: (r) => `${r.latencyMs.toFixed(2)} ms` },
  { key: 'requestId', header: 'Request id', render: (r) => <span className="mono">{r.requestId}</span> },
  { key: 'error', header: 'Error', sortable: false, render: (r) => r.error ?? '' },
]

export function RecentRequests() {
  const recent = useOperation('serving.requests', { limit: 50 }).data
  return (
    <DataTable
      label="Recent requests"
      columns={requestColumns}
      rows={recent ?? []}
      rowKey={(r, i) => `${r.requestId}-${i}`}
      maxHeight={320}
      empty={<span className="muted">No requests yet.</span>}
    />
  )
}
