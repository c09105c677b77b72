import { useEffect, useState } from 'react'
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts'
import { api, type Output } from '../../api.js'
import { DataTable, type Column } from '../common/index.js'

type Second = Output<'serving.stats'>[number]
type Request = Output<'serving.requests'>[number]

/** Polls while mounted; the endpoint keeps these in memory, so a poll is cheap. */
function usePolled<T>(load: () => Promise<T>, everyMs: number): T | null {
  const [value, setValue] = useState<T | null>(null)
  useEffect(() => {
    let alive = true
    const tick = () =>
      load().then(
        (v) => alive && setValue(v),
        () => {
          // A missed poll is retried on the next tick; the status bar shows a lost engine.
        },
      )
    void tick()
    const timer = setInterval(tick, everyMs)
    return () => {
      alive = false
      clearInterval(timer)
    }
  }, [everyMs])
  return value
}

export function LiveChart() {
  const stats = usePolled(() => api.call('serving.stats', { seconds: 120 }), 1000)
  const data = (stats ?? []).map((s: Second) => ({ ...s, t: new Date(s.time).toLocaleTimeString() }))
  return (
    <div aria-label="Request rate and latency" role="img" style={{ width: '100%', height: 220 }}>
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
  const recent = usePolled(() => api.call('serving.requests', { limit: 50 }), 2000)
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
