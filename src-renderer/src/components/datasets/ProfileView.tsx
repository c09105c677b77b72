import { Bar, BarChart, ResponsiveContainer, Tooltip, XAxis } from 'recharts'
import type { Output } from '../../api.js'
import { Card, formatCell } from '../common/index.js'

type Profile = Output<'data.profile'>
type ColumnProfile = Profile['columns'][number]

/** The table's totals, then one small card per column with its chart. */
export function ProfileView({ profile }: { profile: Profile }) {
  return (
    <div>
      <p className="muted" aria-label="Profile summary">
        {profile.rows.toLocaleString()} rows · {profile.columnCount} columns · {profile.duplicateRows.toLocaleString()} duplicate rows
        {profile.columns.some((c) => c.distinctApproximate) ? ' · distinct counts approximate (HyperLogLog)' : ''}
      </p>
      <div className="profile-grid">
        {profile.columns.map((column) => (
          <ColumnCard key={column.name} column={column} />
        ))}
      </div>
    </div>
  )
}

function ColumnCard({ column }: { column: ColumnProfile }) {
  const data = column.histogram
    ? column.histogram.map((b) => ({ label: `${formatCell(b.lower)}–${formatCell(b.upper)}`, count: b.count }))
    : (column.top ?? []).map((t) => ({ label: String(t.value), count: t.count }))
  const facts: Array<[string, unknown]> = [
    ['nulls', column.nulls],
    ['distinct', `${column.distinct}${column.distinctApproximate ? ' ≈' : ''}`],
    ['min', column.min],
    ['max', column.max],
  ]
  if (column.mean !== null) facts.push(['mean', column.mean], ['std', column.std])
  if (column.quantiles)
    facts.push(['p05 · p50 · p95', `${formatCell(column.quantiles.p05)} · ${formatCell(column.quantiles.p50)} · ${formatCell(column.quantiles.p95)}`])
  return (
    <Card className="profile-column">
      <section aria-label={`Column ${column.name}`}>
        <h3>
          {column.name} <span className="badge">{column.type}</span>
        </h3>
        {data.length > 0 && (
          <div className="profile-chart">
            <ResponsiveContainer width="100%" height="100%">
              <BarChart data={data} margin={{ top: 4, right: 0, bottom: 0, left: 0 }}>
                <XAxis dataKey="label" hide />
                <Tooltip formatter={(value) => [value, 'rows']} />
                <Bar dataKey="count" fill="var(--accent)" isAnimationActive={false} />
              </BarChart>
            </ResponsiveContainer>
          </div>
        )}
        <dl>
          {facts.map(([label, value]) => (
            <FactRow key={label} label={label} value={value} />
          ))}
        </dl>
      </section>
    </Card>
  )
}

function FactRow({ label, value }: { label: string; value: unknown }) {
  return (
    <>
      <dt>{label}</dt>
      <dd title={formatCell(value)}>{formatCell(value)}</dd>
    </>
  )
}
