import { useRef, useState } from 'react'
import { LatheError } from '../../../../src-main/engine/api/common/errors.js'
import { api, type Output } from '../../api.js'
import { DataTable, ErrorBanner, FieldError, formatCell, formErrors, useAction, type Column } from '../common/index.js'

type Preview = Output<'data.transform.preview'>
type Row = Record<string, unknown>

/**
 * A SQL transform over dataset versions (`name@V`): edit, preview the schema and the first
 * rows (nothing saved), then save the result as the next version of a dataset. DuckDB's
 * error sits under the editor with its line and column, and the caret moves there.
 */
export function TransformEditor({ dataset, version, onSaved }: { dataset: string; version: number; onSaved: (ref: string) => void }) {
  const [sql, setSql] = useState(`SELECT *\nFROM ${dataset}@${version}\nLIMIT 1000`)
  const [target, setTarget] = useState(`${dataset}-derived`)
  const [shown, setShown] = useState<{ sql: string; result: Preview } | null>(null)
  const editor = useRef<HTMLTextAreaElement>(null)

  const moveCaret = (error: unknown) => {
    const offset = error instanceof LatheError ? (error.details as { offset?: number } | undefined)?.offset : undefined
    if (offset === undefined || !editor.current) return
    editor.current.focus()
    editor.current.setSelectionRange(offset, offset)
  }
  const preview = useAction(async () => {
    try {
      const result = await api.call('data.transform.preview', { sql, limit: 50 })
      setShown({ sql, result })
      return result
    } catch (error) {
      moveCaret(error)
      throw error
    }
  })
  const save = useAction(
    async () => {
      try {
        return await api.call('data.transform', { name: target, sql })
      } catch (error) {
        moveCaret(error)
        throw error
      }
    },
    { success: (r) => (r.created ? `Saved ${r.dataset}@${r.version} (${r.rows.toLocaleString()} rows)` : `Already saved as ${r.dataset}@${r.version}`) },
  )
  const errors = formErrors(save.error ?? preview.error, ['sql', 'name'])
  const columns: Array<Column<Row>> = (shown?.result.columns ?? []).map((c) => ({
    key: c.name,
    header: (
      <span title={c.type}>
        {c.name} <span className="muted">{c.type}</span>
      </span>
    ),
    render: (row) => formatCell(row[c.name]),
    sortable: false,
  }))
  const stale = shown !== null && shown.sql !== sql

  return (
    <div className="transform-editor">
      <label className="field sql-field">
        SQL (one SELECT; refer to versions as name@V or name@latest)
        <textarea
          ref={editor}
          className="sql-editor"
          aria-label="Transform SQL"
          spellCheck={false}
          rows={5}
          value={sql}
          onChange={(e) => setSql(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
              e.preventDefault()
              void preview.run()
            }
          }}
        />
        <FieldError message={errors.byField.sql} />
      </label>
      <div className="toolbar">
        <button type="button" className="btn" disabled={preview.busy || !sql.trim()} onClick={() => void preview.run()}>
          {preview.busy ? 'Running…' : 'Preview'}
        </button>
        <span className="muted">Ctrl+Enter previews</span>
        <label className="field">
          Save as a version of
          <input aria-label="Dataset to save into" value={target} onChange={(e) => setTarget(e.target.value)} />
          <FieldError message={errors.byField.name} />
        </label>
        <button
          type="button"
          className="btn btn-primary"
          disabled={save.busy || !sql.trim() || !target.trim()}
          onClick={async () => {
            const saved = await save.run()
            if (saved) onSaved(`${saved.dataset}@${saved.version}`)
          }}
        >
          {save.busy ? 'Saving…' : 'Save as new version'}
        </button>
      </div>
      <ErrorBanner error={errors.rest} />
      {shown && (
        <div className="transform-preview" aria-label="Transform preview">
          <p className="muted">
            {stale ? 'Preview of an earlier edit. ' : ''}First {shown.result.rows.length} rows from {shown.result.parents.join(', ')}:{' '}
            {shown.result.columns.length} columns ({shown.result.columns.map((c) => `${c.name} ${c.type}`).join(', ')}).
          </p>
          <DataTable
            label="Transform preview rows"
            columns={columns}
            rows={shown.result.rows as Row[]}
            rowKey={(_r, i) => String(i)}
            rowNumbers
            maxHeight={320}
            empty={<p className="muted">The SELECT returns no rows.</p>}
          />
        </div>
      )}
    </div>
  )
}
