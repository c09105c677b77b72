import { useVirtualizer } from '@tanstack/react-virtual'
import { useMemo, useRef, useState, type KeyboardEvent, type ReactNode } from 'react'

export interface Column<Row> {
  /** Unique per table; also the default accessor (`row[key]`). */
  key: string
  header: ReactNode
  /** What the cell shows; defaults to `String(row[key])`. */
  render?: (row: Row) => ReactNode
  /** The value sorted on; defaults to `row[key]`. Leave `sortable` false to disable. */
  sortValue?: (row: Row) => string | number | null | undefined
  sortable?: boolean
  align?: 'left' | 'right'
}

export interface DataTableProps<Row> {
  /** Read by screen readers and used by tests to find the table. */
  label: string
  columns: Array<Column<Row>>
  rows: readonly Row[]
  rowKey: (row: Row, index: number) => string
  onRowClick?: (row: Row) => void
  selectedKey?: string | null
  /** Shown in place of the body when there are no rows. */
  empty?: ReactNode
  /** Scroll inside the table past this height (px); the header stays put. */
  maxHeight?: number
}

// Above this many rows only the visible ones are rendered, so a 100k-row preview scrolls.
const VIRTUAL_FROM = 200
const ROW_HEIGHT = 29

/** A sortable, keyboard-navigable table; virtualized when long. */
export function DataTable<Row>(props: DataTableProps<Row>) {
  const { label, columns, rows, rowKey, onRowClick, selectedKey, empty, maxHeight } = props
  const [sort, setSort] = useState<{ key: string; descending: boolean } | null>(null)
  const scrollRef = useRef<HTMLDivElement>(null)

  const sorted = useMemo(() => {
    if (!sort) return rows
    const column = columns.find((c) => c.key === sort.key)
    if (!column) return rows
    const value = column.sortValue ?? ((row: Row) => (row as Record<string, unknown>)[column.key] as string | number)
    const direction = sort.descending ? -1 : 1
    return [...rows].sort((a, b) => direction * compare(value(a), value(b)))
  }, [rows, columns, sort])

  const virtual = sorted.length > VIRTUAL_FROM
  const virtualizer = useVirtualizer({
    count: virtual ? sorted.length : 0,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 12,
  })
  const items = virtual ? virtualizer.getVirtualItems() : []
  const visible = virtual ? items.map((item) => ({ row: sorted[item.index]!, index: item.index })) : sorted.map((row, index) => ({ row, index }))
  const padTop = virtual && items.length ? items[0]!.start : 0
  const padBottom = virtual && items.length ? virtualizer.getTotalSize() - items[items.length - 1]!.end : 0

  const toggleSort = (key: string) =>
    setSort((current) => (current?.key === key ? (current.descending ? null : { key, descending: true }) : { key, descending: false }))

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

  return (
    <div
      className="data-table"
      ref={scrollRef}
      style={{ maxHeight: maxHeight ?? (virtual ? 480 : undefined), overflow: maxHeight || virtual ? 'auto' : undefined }}
    >
      <table aria-label={label} aria-rowcount={sorted.length + 1}>
        <thead>
          <tr>
            {columns.map((column) => {
              const sortable = column.sortable !== false
              const direction = sort?.key === column.key ? (sort.descending ? 'descending' : 'ascending') : 'none'
              return (
                <th key={column.key} aria-sort={sortable ? direction : undefined} className={column.align === 'right' ? 'num' : undefined}>
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
          {sorted.length === 0 && (
            <tr>
              <td colSpan={columns.length} className="muted">
                {empty ?? 'Nothing here yet.'}
              </td>
            </tr>
          )}
          {padTop > 0 && <tr style={{ height: padTop }} aria-hidden="true" />}
          {visible.map(({ row, index }) => {
            const key = rowKey(row, index)
            return (
              <tr
                key={key}
                aria-rowindex={index + 2}
                aria-selected={selectedKey !== undefined ? key === selectedKey : undefined}
                className={onRowClick ? 'clickable' : undefined}
                tabIndex={onRowClick ? 0 : undefined}
                onClick={onRowClick ? () => onRowClick(row) : undefined}
                onKeyDown={onRowClick ? (event) => onRowKey(event, row) : undefined}
                style={virtual ? { height: ROW_HEIGHT } : undefined}
              >
                {columns.map((column) => (
                  <td key={column.key} className={column.align === 'right' ? 'num' : undefined}>
                    {column.render ? column.render(row) : formatCell((row as Record<string, unknown>)[column.key])}
                  </td>
                ))}
              </tr>
            )
          })}
          {padBottom > 0 && <tr style={{ height: padBottom }} aria-hidden="true" />}
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

/** Plain display of a cell value: numbers trimmed, null shown as an empty cell. */
export function formatCell(value: unknown): string {
  if (value === null || value === undefined) return ''
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(6)))
  if (typeof value === 'boolean') return value ? 'true' : 'false'
  if (typeof value === 'object') return JSON.stringify(value)
  return String(value)
}
