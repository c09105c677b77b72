import { useCallback, useEffect, useMemo, useRef, useState } from 'react'
import { api, type Input } from '../../api.js'
import { DataTable, ErrorBanner, formatCell, type Column, type Sort } from '../common/index.js'
import './PreviewTable.css'

const PAGE = 200
// A scroll area taller than ~30M px is past what browsers draw, so a long version is
// shown a window at a time; "Go to row" picks the window and scrolls within it.
const WINDOW = 500_000
const KEEP_PAGES = 64
type Filter = NonNullable<Input<'data.preview'>['filters']>[number]
type Row = Record<string, unknown>
const opLabels: Record<Filter['op'], string> = {
  eq: '=',
  ne: '≠',
  lt: '<',
  le: '≤',
  gt: '>',
  ge: '≥',
  contains: 'contains',
  is_null: 'is empty',
  not_null: 'is not empty',
}

/**
 * Rows of a version, fetched by the page the table is showing (offset paging in
 * DuckDB on the version's Parquet, never from the top), so row 9M of 10M opens at
 * once. Sorting and the filter run in the engine, not on the loaded rows.
 */
export function PreviewTable({ dataset, columns }: { dataset: string; columns: Array<{ name: string; type: string }> }) {
  const [sort, setSort] = useState<Sort | null>(null)
  const [filterDraft, setFilterDraft] = useState<{ column: string; op: Filter['op']; value: string }>({ column: columns[0]?.name ?? '', op: 'eq', value: '' })
  const [filters, setFilters] = useState<Filter[]>([])
  const [total, setTotal] = useState<number | null>(null)
  const [error, setError] = useState<unknown>(null)
  const [base, setBase] = useState(0)
  const [jump, setJump] = useState('')
  const [scrollTo, setScrollTo] = useState<number | null>(null)
  // Bumped when a page arrives, so the table draws it.
  const [loaded, setLoaded] = useState(0)
  const pages = useRef(new Map<number, Row[]>())
  const inFlight = useRef(new Set<number>())
  const generation = useRef(0)
  // While a jump scrolls into place, the rows passed on the way are not fetched.
  const pendingJump = useRef<number | null>(null)

  const query = useMemo(() => ({ dataset, sort: sort ? { column: sort.key, descending: sort.descending } : undefined, filters }), [dataset, sort, filters])

  const loadPage = useCallback(
    async (page: number) => {
      if (pages.current.has(page) || inFlight.current.has(page)) return
      const mine = generation.current
      inFlight.current.add(page)
      try {
        const answer = await api.call('data.preview', { ...query, offset: page * PAGE, limit: PAGE })
        if (mine !== generation.current) return
        pages.current.set(page, answer.rows)
        // Far pages leave the cache first: scrolling a long version must not grow memory.
        while (pages.current.size > KEEP_PAGES) pages.current.delete(pages.current.keys().next().value!)
        setTotal(answer.total)
        setError(null)
        setLoaded((n) => n + 1)
      } catch (failure) {
        if (mine === generation.current) setError(failure)
      } finally {
        inFlight.current.delete(page)
      }
    },
    [query],
  )

  useEffect(() => {
    generation.current++
    pages.current.clear()
    inFlight.current.clear()
    setTotal(null)
    setBase(0)
    setScrollTo(0)
    void loadPage(0)
  }, [loadPage])

  const count = total === null ? 0 : Math.min(WINDOW, Math.max(0, total - base))
  const remote = useMemo(
    () => ({
      count,
      rowAt: (index: number) => {
        const absolute = base + index
        return pages.current.get(Math.floor(absolute / PAGE))?.[absolute % PAGE]
      },
      onRange: (start: number, end: number) => {
        const jump = pendingJump.current
        if (jump !== null) {
          if (jump < start || jump >= end) return
          pendingJump.current = null
        }
        for (let page = Math.floor((base + start) / PAGE); page <= Math.floor((base + end - 1) / PAGE); page++) void loadPage(page)
      },
    }),
    [count, base, loadPage, loaded],
  )

  const goTo = (row: number) => {
    if (total === null || !Number.isFinite(row)) return
    const index = Math.min(Math.max(1, Math.round(row)), total) - 1
    // The target in the middle of its window, so rows on both sides scroll.
    const windowStart = Math.max(0, Math.min(index - WINDOW / 2, total - WINDOW))
    setBase(windowStart)
    pendingJump.current = index - windowStart
    setScrollTo(null)
    // Scroll after the window's rows exist in the table.
    requestAnimationFrame(() => setScrollTo(index - windowStart))
  }

  const applyFilter = () => {
    const { column, op, value } = filterDraft
    if (!column) return
    const needsValue = op !== 'is_null' && op !== 'not_null'
    const typed = needsValue && value.trim() !== '' && !Number.isNaN(Number(value)) && op !== 'contains' ? Number(value) : value
    setFilters([...filters, needsValue ? { column, op, value: typed } : { column, op }])
    setFilterDraft({ ...filterDraft, value: '' })
  }

  const tableColumns: Array<Column<Row>> = columns.map((c) => ({
    key: c.name,
    header: c.name,
    title: `${c.type}: click to sort`,
    render: (row) => formatCell(row[c.name]),
  }))
  const windowed = total !== null && total > WINDOW
  return (
    <div className="preview">
      <div className="toolbar preview-toolbar">
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
            {(Object.keys(opLabels) as Array<Filter['op']>).map((op) => (
              <option key={op} value={op}>
                {opLabels[op]}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          Value
          <input
            value={filterDraft.value}
            onChange={(e) => setFilterDraft({ ...filterDraft, value: e.target.value })}
            onKeyDown={(e) => e.key === 'Enter' && applyFilter()}
          />
        </label>
        <button className="btn" onClick={applyFilter}>
          Add filter
        </button>
        {filters.map((f, i) => (
          <button key={i} className="badge" title="Remove filter" onClick={() => setFilters(filters.filter((_, j) => j !== i))}>
            {f.column} {opLabels[f.op]} {f.value === undefined ? '' : String(f.value)} ✕
          </button>
        ))}
        <form
          className="preview-jump"
          onSubmit={(e) => {
            e.preventDefault()
            goTo(Number(jump.replace(/[,_\s]/g, '')))
          }}
        >
          <label className="field">
            Go to row
            <input value={jump} onChange={(e) => setJump(e.target.value)} inputMode="numeric" size={10} aria-label="Go to row" />
          </label>
          <button className="btn" type="submit" disabled={total === null}>
            Go
          </button>
        </form>
        <span className="muted preview-total" aria-live="polite">
          {total === null ? 'Counting rows…' : `${total.toLocaleString()} rows`}
        </span>
      </div>
      {windowed && (
        <p className="muted preview-window">
          Showing rows {(base + 1).toLocaleString()}–{(base + count).toLocaleString()}{' '}
          <button className="btn btn-ghost" disabled={base === 0} onClick={() => goTo(Math.max(1, base - WINDOW / 2 + 1))}>
            ‹ earlier
          </button>
          <button className="btn btn-ghost" disabled={base + WINDOW >= total} onClick={() => goTo(base + WINDOW + WINDOW / 2)}>
            later ›
          </button>
        </p>
      )}
      {error ? <ErrorBanner error={error} /> : null}
      <DataTable
        label="Preview"
        columns={tableColumns}
        remote={remote}
        rowKey={(_, index) => String(base + index)}
        rowNumbers
        rowNumberBase={base}
        sort={sort}
        onSortChange={setSort}
        maxHeight={420}
        scrollToIndex={scrollTo}
        empty={total === null ? 'Loading rows…' : 'No rows match.'}
      />
    </div>
  )
}
