import { hashOf } from '../../state/navigation.js'
import { formatTime, useOperation } from '../common/index.js'
import './team.css'

type State = 'disconnected' | 'paused' | 'idle' | 'syncing' | 'offline' | 'conflicts' | 'error'

const labels: Record<State, string> = {
  disconnected: 'Team: not connected',
  paused: 'Team: background sync off',
  idle: 'Team: synced',
  syncing: 'Team: syncing…',
  offline: 'Team: server unreachable',
  conflicts: 'Team: conflicts to decide',
  error: 'Team: sync needs attention',
}

/** The status bar's sync part: state, pending count, last sync; a link to the Team page. */
export function SyncStatus() {
  const { data } = useOperation('sync.background', {})
  if (!data) return null
  const state = data.state as State
  const parts = [labels[state]]
  if (state === 'idle' && data.pending > 0) parts[0] = 'Team: connected'
  else if (state === 'idle' && data.problem) parts[0] = 'Team: not in agreement'
  if (data.pending > 0 && state !== 'disconnected') parts.push(`${data.pending} pending`)
  if (data.conflicts > 0) parts.push(`${data.conflicts} conflict${data.conflicts === 1 ? '' : 's'}`)
  if (data.lastSync && state !== 'disconnected') parts.push(`last ${formatTime(data.lastSync)}`)
  return (
    <a className={`sync-status sync-${state}`} href={hashOf('team')} data-testid="status-sync" data-state={state} title={data.problem ?? undefined}>
      <span className="conn-dot" aria-hidden="true" />
      {parts.join(' · ')}
    </a>
  )
}
