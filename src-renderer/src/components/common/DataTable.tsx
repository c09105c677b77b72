import { useVirtualizer } from '@tanstack/react-virtual'
import { useEffect, useMemo, useRef, useState, type KeyboardEvent, type ReactNode } from 'react'
import { formatNumber } from './format.js'
import './DataTable.css'

export interface Column<Row> {
  /** Unique per table; also the default accessor (`row[key]`). */
  key: string
  header: ReactNode
  /** A tooltip on the header (a column's type). */
  title?: string
  /** What the cell shows; defaults to `formatCell(row[key])`. */
  render?: (row: Row) => ReactNode
  /** The value sorted on; defaults to `row[key]`. Leave `sortable` false to disable. */
  sortValue?: (row: Row) => string | number | null | undefined
  sortable?: boolean
  align?: 'left' | 'right'
}

export interface Sort {
  key: string
  descending: boolean
}

/**
 * Rows the engine holds (a dataset preview): the table asks for the rows it is about
 * to show and renders a placeholder until they come.
 */
export interface RemoteRows<Row> {
  count: number
  rowAt(index: number): Row | undefined
  /** The rows [start, end) are on screen. */
  onRange(start: number, end: number): void
}

export interface DataTableProps<Row> {
  /** Read by screen readers and used by tests to find the table. */
  label: string
  columns: Array<Column<Row>>
  /** Rows in memory, sorted here; or `remote` for rows the engine pages in. */
  rows?: readonly Row[]
  remote?: RemoteRows<Row>
  rowKey: (row: Row, index: number) => string
  onRowClick?: (row: Row) => void
  selectedKey?: string | null
  /** An extra class on a row (a comparison's differing parameters). */
  rowClassName?: (row: Row) => string | undefined
  /** `data-*` attributes of a row, for tests and styles (`{ 'data-alias': 'production' }`). */
  rowData?: (row: Row) => Record<`data-${string}`, string>
  /** Shown in place of the body when there are no rows. */
  empty?: ReactNode
  /** Scroll inside the table past this height (px); the header stays put. */
  maxHeight?: number
  /** Sorting owned by the caller (the engine sorts a remote table). */
  sort?: Sort | null
  onSortChange?: (sort: Sort | null) => void
  /** A leading "#" column with the 1-based row number (plus `rowNumberBase`). */
  rowNumbers?: boolean
  rowNumberBase?: number
  /** Scrolls so this row index is on screen whenever it changes. */
  scrollToIndex?: number | null
}

// Above this many rows only the visible ones are rendered, so a long table scrolls.
const VIRTUAL_FROM = 200
// Kept in step with DataTable.css, so a jump lands where the estimate says.
const ROW_HEIGHT = 32

/** The one table of the app: sortable, keyboard-navigable, virtualized when long, local or engine-paged rows. */
export function DataTable<Row>(props: DataTableProps<Row>) {
  const { label, columns, rows = [], remote, rowKey, onRowClick, selectedKey, empty, maxHeight, rowNumbers } = props
  const [ownSort, setOwnSort] = useState<Sort | null>(null)
  const controlled = props.onSortChange !== undefined
  const sort = controlled ? (props.sort ?? null) : ownSort
  const setSort = (next: Sort | null) => (controlled ? props.onSortChange!(next) : setOwnSort(next))
  const scrollRef = useRef<HTMLDivElement>(null)

  const sorted = useMemo(() => {
    if (remote || !sort || controlled) return rows
    const column = columns.find((c) => c.key === sort.key)
    if (!column) return rows
    const value = column.sortValue ?? ((row: Row) => (row as Record<string, unknown>)[column.key] as string | number)
    const direction = sort.descending ? -1 : 1
    return [...rows].sort((a, b) => direction * compare(value(a), value(b)))
  }, [rows, columns, sort, remote, controlled])

  const count = remote ? remote.count : sorted.length
  const rowAt = (index: number) => (remote ? remote.rowAt(index) : sorted[index])
  const virtual = remote !== undefined || count > VIRTUAL_FROM
  const virtualizer = useVirtualizer({
    count: virtual ? count : 0,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 12,
  })
  const items = virtual ? virtualizer.getVirtualItems() : []
  const indexes = virtual ? items.map((item) => item.index) : sorted.map((_, index) => index)
  const padTop = virtual && items.length ? items[0]!.start : 0
  const padBottom = virtual && items.length ? virtualizer.getTotalSize() - items[items.length - 1]!.end : 0

  const first = indexes[0] ?? 0
  const last = indexes.at(-1) ?? 0
  useEffect(() => {
    if (remote && count > 0) remote.onRange(first, last + 1)
  }, [remote, first, last, count])

  const target = props.scrollToIndex
  useEffect(() => {
    // Rows have one height, so the row's top is exact; the sticky header sits above it.
    if (target !== null && target !== undefined && virtual && scrollRef.current) scrollRef.current.scrollTop = target * ROW_HEIGHT
  }, [target, virtual])

  const toggleSort = (key: string) => setSort(sort?.key === key ? (sort.descending ? null : { key, descending: true }) : { key, descending: false })

  const onRowKey = (event: KeyboardEvent<HTMLTableRowElement>, row: Row) => {
    if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault()
      onRowClick?.(row)
    } else if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault()
      const sibling = event.key === 'ArrowDown' ? event.currentTarget.nextElementSibling : event.currentTarget.previousElementSibling
      if (sibling instanceof HTMLElement && sibling.tabIndex >= 0) sibling.focus()
    }
  }

  const scrolls = Boolean(maxHeight) || virtual
  const base = props.rowNumberBase ?? 0
  const span = columns.length + (rowNumbers ? 1 : 0)
  return (
    <div
      className={`data-table${scrolls ? ' data-table-scroll' : ''}`}
      ref={scrollRef}
      style={scrolls ? ({ '--table-max-height': `${maxHeight ?? 480}px` } as React.CSSProperties) : undefined}
    >
      <table aria-label={label} aria-rowcount={count + 1}>
        <thead>
          <tr>
            {rowNumbers && (
              <th className="num row-number" scope="col">
                #
              </th>
            )}
            {columns.map((column) => {
              const sortable = column.sortable !== false
              const direction = sort?.key === column.key ? (sort.descending ? 'descending' : 'ascending') : 'none'
              return (
                <th
                  key={column.key}
                  scope="col"
                  title={column.title}
                  aria-sort={sortable ? direction : undefined}
                  className={column.align === 'right' ? 'num' : undefined}
                >
                  {sortable ? (
                    <button type="button" className="th-sort" onClick={() => toggleSort(column.key)}>
                      {column.header}
                      <span aria-hidden="true">{direction === 'ascending' ? ' ▲' : direction === 'descending' ? ' ▼' : ''}</span>
                    </button>
                  ) : (
                    column.header
                  )}
                </th>
              )
            })}
          </tr>
        </thead>
        <tbody>
          {count === 0 && (
            <tr>
              <td colSpan={span} className="muted">
                {empty ?? 'Nothing here yet.'}
              </td>
            </tr>
          )}
          {padTop > 0 && <tr className="table-spacer" style={{ height: padTop }} aria-hidden="true" />}
          {indexes.map((index) => {
            const row = rowAt(index)
            if (row === undefined) {
              return (
                <tr key={`pending-${index}`} aria-rowindex={index + 2} className="row-pending">
                  {rowNumbers && <td className="num row-number">{(base + index + 1).toLocaleString()}</td>}
                  {columns.map((column) => (
                    <td key={column.key}>…</td>
                  ))}
                </tr>
              )
            }
            const key = rowKey(row, index)
            return (
              <tr
                key={key}
                aria-rowindex={index + 2}
                aria-selected={selectedKey !== undefined ? key === selectedKey : undefined}
                className={[onRowClick ? 'clickable' : '', props.rowClassName?.(row) ?? ''].join(' ').trim() || undefined}
                tabIndex={onRowClick ? 0 : undefined}
                onClick={onRowClick ? () => onRowClick(row) : undefined}
                onKeyDown={onRowClick ? (event) => onRowKey(event, row) : undefined}
                {...props.rowData?.(row)}
              >
                {rowNumbers && <td className="num row-number">{(base + index + 1).toLocaleString()}</td>}
                {columns.map((column) => (
                  <td key={column.key} className={column.align === 'right' ? 'num' : undefined}>
                    {column.render ? column.render(row) : formatCell((row as Record<string, unknown>)[column.key])}
                  </td>
                ))}
              </tr>
            )
          })}
          {padBottom > 0 && <tr className="table-spacer" style={{ height: padBottom }} aria-hidden="true" />}
        </tbody>
      </table>
    </div>
  )
}

function compare(a: unknown, b: unknown): number {
  // Missing values sort last whichever the direction, as spreadsheets do.
  if (a === null || a === undefined) return b === null || b === undefined ? 0 : 1
  if (b === null || b === undefined) return -1
  if (typeof a === 'number' && typeof b === 'number') return a - b
  return String(a).localeCompare(String(b), undefined, { numeric: true })
}

/** Plain display of a cell value: numbers at a sensible precision, null shown as an empty cell. */
export function formatCell(value: unknown): string {
  if (value === null || value === undefined) return ''
  // Data, not a measurement: up to ten significant digits.
  if (typeof value === 'number') return formatNumber(value, 10)
  if (typeof value === 'boolean') return value ? 'true' : 'false'
  if (typeof value === 'object') return JSON.stringify(value)
  return String(value)
}
