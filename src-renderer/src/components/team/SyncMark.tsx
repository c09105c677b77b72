import type { Input, Output } from '../../api.js'
import { useOperation } from '../common/index.js'
import './team.css'

export type Mark = Output<'sync.marks'>['runs'][string]
export type Marks = Output<'sync.marks'>

const look: Record<Mark['state'], { className: string; text: (m: Mark) => string } | null> = {
  synced: { className: 'badge badge-ok sync-mark', text: () => '✓ synced' },
  pending: { className: 'badge badge-warn sync-mark', text: () => '↑ pending' },
  pulled: { className: 'badge sync-mark sync-mark-pulled', text: (m) => `↓ from ${m.by}` },
  conflict: { className: 'badge badge-bad sync-mark', text: () => '⚠ conflict' },
  refused: { className: 'badge badge-bad sync-mark', text: () => '⚠ refused' },
  local: null,
}

/**
 * Where a record stands with the team: synced, pending, pulled from a teammate (who),
 * conflict or refused. Nothing at all when the workspace is not connected, so a
 * workspace that never syncs shows no noise.
 */
export function SyncMark({ marks, kind, id }: { marks: Marks | null; kind: keyof Omit<Marks, 'connected'>; id: string | null | undefined }) {
  if (!marks?.connected || !id) return null
  const mark = marks[kind][id]
  const shown = mark ? look[mark.state] : null
  if (!mark || !shown) return null
  return (
    <span className={shown.className} title={mark.detail} aria-label={`team: ${mark.detail}`} data-sync-mark={mark.state}>
      {shown.text(mark)}
    </span>
  )
}

/** The marks of the records a page shows, fresh after every sync and every change. */
export function useSyncMarks(request: Input<'sync.marks'>): Marks | null {
  return useOperation('sync.marks', request).data
}
