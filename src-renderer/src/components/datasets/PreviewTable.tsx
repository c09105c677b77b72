import { useVirtualizer } from '@tanstack/react-virtual'
import { useCallback, useEffect, useRef, useState } from 'react'
import { api, type Input } from '../../api.js'
import { ErrorBanner, formatCell } from '../common/index.js'

const PAGE = 200
const ROW_HEIGHT = 28
type Filter = NonNullable<Input<'data.preview'>['filters']>[number]

/**
 * Rows of a version, fetched a page at a time as the table scrolls and rendered
 * virtually, so a version of any size opens at once. Sorting and the filter run in
 * the engine (DuckDB), not on the loaded rows.
 */
export function PreviewTable({ dataset, columns }: { dataset: string; columns: Array<{ name: string; type: string }> }) {
  const [sort, setSort] = useState<{ column: string; descending: boolean } | undefined>()
  const [filterDraft, setFilterDraft] = useState<{ column: string; op: Filter['op']; value: string }>({ column: columns[0]?.name ?? '', op: 'eq', value: '' })
  const [filters, setFilters] = useState<Filter[]>([])
  const [rows, setRows] = useState<Array<Record<string, unknown>>>([])
  const [total, setTotal] = useState(0)
  const [error, setError] = useState<unknown>(null)
  const loading = useRef(false)
  const generation = useRef(0)
  const scrollRef = useRef<HTMLDivElement>(null)

  const load = useCallback(
    async (offset: number, reset: boolean) => {
      if (loading.current && !reset) return
      loading.current = true
      const mine = reset ? ++generation.current : generation.current
      try {
        const page = await api.call('data.preview', { dataset, offset, limit: PAGE, sort, filters })
        if (mine !== generation.current) return
        setRows((previous) => (reset ? page.rows : [...previous, ...page.rows]))
        setTotal(page.total)
        setError(null)
      } catch (failure) {
        if (mine === generation.current) setError(failure)
      } finally {
        loading.current = false
      }
    },
    [dataset, sort, filters],
  )

  useEffect(() => {
    setRows([])
    void load(0, true)
  }, [load])

  const virtualizer = useVirtualizer({ count: total, getScrollElement: () => scrollRef.current, estimateSize: () => ROW_HEIGHT, overscan: 20 })
  const items = virtualizer.getVirtualItems()
  const lastIndex = items.at(-1)?.index ?? 0
  useEffect(() => {
    if (lastIndex >= rows.length - 20 && rows.length < total) void load(rows.length, false)
  }, [lastIndex, rows.length, total, load])

  const toggleSort = (column: string) =>
    setSort((s) => (s?.column !== column ? { column, descending: false } : s.descending ? undefined : { column, descending: true }))

  const applyFilter = () => {
    const { column, op, value } = filterDraft
    if (!column) return
    const needsValue = op !== 'is_null' && op !== 'not_null'
    const typed = needsValue && value.trim() !== '' && !Number.isNaN(Number(value)) && op !== 'contains' ? Number(value) : value
    setFilters([...filters, needsValue ? { column, op, value: typed } : { column, op }])
    setFilterDraft({ ...filterDraft, value: '' })
  }

  const width = 64 + columns.length * 140
  return (
    <div>
      <div className="toolbar" style={{ marginBottom: 8 }}>
        <label className="field">
          Column
          <select value={filterDraft.column} onChange={(e) => setFilterDraft({ ...filterDraft, column: e.target.value })}>
            {columns.map((c) => (
              <option key={c.name}>{c.name}</option>
            ))}
          </select>
        </label>
        <label className="field">
          Condition
          <select value={filterDraft.op} onChange={(e) => setFilterDraft({ ...filterDraft, op: e.target.value as Filter['op'] })}>
            {(['eq', 'ne', 'lt', 'le', 'gt', 'ge', 'contains', 'is_null', 'not_null'] as const).map((op) => (
              <option key={op} value={op}>
                {{ eq: '=', ne: '≠', lt: '<', le: '≤', gt: '>', ge: '≥', contains: 'contains', is_null: 'is empty', not_null: 'is not empty' }[op]}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          Value
          <input value={filterDraft.value} onChange={(e) => setFilterDraft({ ...filterDraft, value: e.target.value })} onKeyDown={(e) => e.key === 'Enter' && applyFilter()} />
        </label>
        <button className="btn" onClick={applyFilter}>
          Add filter
        </button>
        {filters.map((f, i) => (
          <button key={i} className="badge" title="Remove filter" onClick={() => setFilters(filters.filter((_, j) => j !== i))}>
            {f.column} {f.op} {f.value === undefined ? '' : String(f.value)} ✕
          </button>
        ))}
        <span className="muted" style={{ marginLeft: 'auto' }}>
          {total.toLocaleString()} rows
        </span>
      </div>
      {error ? <ErrorBanner error={error} /> : null}
      <div ref={scrollRef} className="preview-scroll" style={{ height: 420 }} role="table" aria-label="Preview" aria-rowcount={total + 1}>
        <div className="preview-head" role="row" style={{ width }}>
          <div className="preview-cell rownum" role="columnheader">
            #
          </div>
          {columns.map((c) => (
            <div key={c.name} className="preview-cell" role="columnheader" aria-sort={sort?.column === c.name ? (sort.descending ? 'descending' : 'ascending') : 'none'}>
              <button onClick={() => toggleSort(c.name)} title={`${c.type}: click to sort`}>
                {c.name} {sort?.column === c.name ? (sort.descending ? '▼' : '▲') : ''}
              </button>
            </div>
          ))}
        </div>
        <div style={{ height: virtualizer.getTotalSize(), width, position: 'relative' }}>
          {items.map((item) => {
            const row = rows[item.index]
            return (
              <div key={item.key} className="preview-row" role="row" style={{ position: 'absolute', top: 0, transform: `translateY(${item.start}px)`, height: ROW_HEIGHT }}>
                <div className="preview-cell rownum">{item.index + 1}</div>
                {columns.map((c) => (
                  <div key={c.name} className="preview-cell" role="cell">
                    {row ? formatCell(row[c.name]) : '…'}
                  </div>
                ))}
              </div>
            )
          })}
        </div>
      </div>
    </div>
  )
}
