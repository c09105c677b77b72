import './runs.css'

/**
 * A run id, shown by its last 8 characters: ids are UUIDv7, whose first half is the
 * time, so runs made together share their start. The whole id stays in the text (to
 * copy, search, and find) and in the tooltip.
 */
export function RunId({ id }: { id: string }) {
  return (
    <span className="mono run-id" title={id}>
      <span className="run-id-head">{id.slice(0, -8)}</span>
      {id.slice(-8)}
    </span>
  )
}

export const shortRunId = (id: string) => `…${id.slice(-8)}`
