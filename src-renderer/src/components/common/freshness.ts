import type { Contract } from '../../api.js'

/** An engine event as the renderer receives it. */
export interface EngineEventMessage {
  topic: string
  payload: any
}

export interface Freshness {
  /** Topics that make the answer stale (a trailing `*` for a prefix). */
  topics: string[]
  /** Only these events do (an import's last progress event, not every one). */
  when?: (event: EngineEventMessage) => boolean
  /** Values that move without an event (the endpoint's request counters): read again this often. */
  everyMs?: number
}

const dataChanged: Freshness = {
  topics: ['data.import.progress', 'data.changed'],
  when: (e) => e.topic === 'data.changed' || e.payload?.phase === 'done',
}
const runsChanged: Freshness = { topics: ['training.status', 'training.run.edited'] }
const registryChanged: Freshness = { topics: ['registry.*'] }
const servingChanged: Freshness = { topics: ['serving.*', 'registry.alias.moved'], everyMs: 3000 }
// What sync shows moves after a sync and after any change that writes the outbox.
const syncChanged: Freshness = {
  topics: ['sync.state', 'data.changed', 'data.import.progress', 'training.status', 'registry.*'],
  when: (e) => e.topic !== 'data.import.progress' || e.payload?.phase === 'done',
}
const monitoringChanged: Freshness = {
  topics: ['monitoring.report', 'monitoring.alert*', 'monitoring.monitor*'],
}

/**
 * Which engine events make each operation's answer stale. `useOperation` reads this
 * table, so a page never wires its own events, counters or intervals to stay fresh;
 * an operation missing here is read once (and on `reload()`).
 * Keys ending in `*` cover a prefix of operation names.
 */
const table: Record<string, Freshness> = {
  'data.*': dataChanged,
  'training.runs.*': runsChanged,
  'training.sweeps.*': runsChanged,
  'training.sweep.*': runsChanged,
  'registry.*': registryChanged,
  'serving.status': servingChanged,
  'serving.stats': { topics: [], everyMs: 1000 },
  'serving.requests': { topics: [], everyMs: 2000 },
  'monitoring.*': monitoringChanged,
  'sync.status': syncChanged,
  'sync.background': syncChanged,
  'sync.marks': syncChanged,
  'sync.pending': syncChanged,
}

export function freshnessOf(name: keyof Contract & string): Freshness | null {
  if (table[name]) return table[name]!
  const prefix = Object.keys(table)
    .filter((k) => k.endsWith('*') && name.startsWith(k.slice(0, -1)))
    .sort((a, b) => b.length - a.length)[0]
  return prefix ? table[prefix]! : null
}
