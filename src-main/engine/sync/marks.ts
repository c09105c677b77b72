import type Database from 'better-sqlite3'
import type { EngineContext } from '../context.js'
import { openConflicts, readConnection } from './sync.js'

/**
 * Where a record stands with the team server, from the outbox and the pulled-record
 * table: `synced` (every op of it applied), `pending` (some not pushed yet), `pulled`
 * (a teammate made it: `by`), `conflict` (an alias move the server refused and no one
 * decided on yet), `refused` (the server said forbidden or invalid), `local` (sync
 * knows nothing of it). A dataset or model combines its versions (and a model its
 * alias moves); the worst state wins and `detail` says how many.
 */
export type MarkState = 'synced' | 'pending' | 'pulled' | 'conflict' | 'refused' | 'local'

export interface Mark {
  state: MarkState
  /** The teammate(s) a pulled record came from. */
  by: string | null
  /** When it was pulled (pulled), or when its last op was answered (synced). */
  at: string | null
  /** The mark as a sentence (a tooltip, a screen reader's label). */
  detail: string
}

export interface MarksRequest {
  runs?: string[]
  datasetVersions?: string[]
  modelVersions?: string[]
  /** Dataset names: a mark over all their versions. */
  datasets?: string[]
  /** Model names: a mark over their versions and alias moves. */
  models?: string[]
}

export interface MarksResponse {
  connected: boolean
  runs: Record<string, Mark>
  datasetVersions: Record<string, Mark>
  modelVersions: Record<string, Mark>
  datasets: Record<string, Mark>
  models: Record<string, Mark>
}

interface Facts {
  counts: Record<string, number>
  doneAt: string | null
  pulledBy: string | null
  pulledAt: string | null
}

const CHUNK = 500
const REFUSED = ['forbidden', 'invalid']
const PENDING = ['pending', 'missing_ref']
const SYNCED = ['applied', 'duplicate']
const rank: Record<MarkState, number> = { refused: 5, conflict: 4, pending: 3, synced: 2, pulled: 1, local: 0 }

function chunks<T>(items: readonly T[]): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK))
  return out
}

/** Outbox states and pulled marks of entity ids (runs and versions have global ids, unique across kinds). */
function factsOf(db: Database.Database, ids: readonly string[], kinds: readonly string[], pulledType: string): Map<string, Facts> {
  const facts = new Map<string, Facts>()
  const get = (id: string) => {
    let f = facts.get(id)
    if (!f) facts.set(id, (f = { counts: {}, doneAt: null, pulledBy: null, pulledAt: null }))
    return f
  }
  const unique = [...new Set(ids)]
  for (const part of chunks(unique)) {
    const marks = part.map(() => '?').join(', ')
    const rows = db
      .prepare(
        `SELECT o.entity_id AS id, o.state, count(*) AS n, max(o.done_at) AS done_at FROM sync_outbox o
         WHERE o.entity_id IN (${marks}) AND o.kind IN (${kinds.map(() => '?').join(', ')})
           AND NOT EXISTS (SELECT 1 FROM sync_decisions d WHERE d.op_id = o.op_id)
         GROUP BY o.entity_id, o.state`,
      )
      .all(...part, ...kinds) as Array<{ id: string; state: string; n: number; done_at: string | null }>
    for (const r of rows) {
      const f = get(r.id)
      f.counts[r.state] = (f.counts[r.state] ?? 0) + r.n
      if (r.done_at && (!f.doneAt || r.done_at > f.doneAt)) f.doneAt = r.done_at
    }
    const pulled = db
      .prepare(`SELECT entity_id AS id, origin_user, pulled_at FROM sync_pulled WHERE entity_type = ? AND entity_id IN (${marks})`)
      .all(pulledType, ...part) as Array<{ id: string; origin_user: string; pulled_at: string }>
    for (const p of pulled) Object.assign(get(p.id), { pulledBy: p.origin_user, pulledAt: p.pulled_at })
  }
  return facts
}

const sum = (counts: Record<string, number>, states: readonly string[]) => states.reduce((n, s) => n + (counts[s] ?? 0), 0)

function markOf(f: Facts | undefined, noun: string): Mark {
  if (!f) return { state: 'local', by: null, at: null, detail: `this ${noun} is not in the sync outbox` }
  const refused = sum(f.counts, REFUSED)
  const conflicts = f.counts.conflict ?? 0
  const pending = sum(f.counts, PENDING)
  const synced = sum(f.counts, SYNCED)
  if (refused) return { state: 'refused', by: null, at: f.doneAt, detail: `the team server refused ${refused} operation(s) of this ${noun}` }
  if (conflicts) return { state: 'conflict', by: null, at: f.doneAt, detail: `an alias move of this ${noun} was not applied: someone moved it first` }
  if (pending) return { state: 'pending', by: null, at: null, detail: `${pending} operation(s) of this ${noun} not pushed yet` }
  if (synced) return { state: 'synced', by: null, at: f.doneAt, detail: `this ${noun} is on the team server` }
  if (f.pulledBy) return { state: 'pulled', by: f.pulledBy, at: f.pulledAt, detail: `pulled from ${f.pulledBy}` }
  return { state: 'local', by: null, at: null, detail: `this ${noun} is not in the sync outbox` }
}

/** A dataset's or model's mark from its parts' marks: the worst state, with counts. */
function combine(parts: Mark[], noun: string, partNoun: string): Mark {
  if (parts.length === 0) return { state: 'local', by: null, at: null, detail: `this ${noun} has no ${partNoun}s yet` }
  const worst = parts.reduce((a, b) => (rank[b.state] > rank[a.state] ? b : a))
  const by = [...new Set(parts.filter((p) => p.state === 'pulled').map((p) => p.by!))].join(', ') || null
  const count = (s: MarkState) => parts.filter((p) => p.state === s).length
  const pulledAll = parts.every((p) => p.state === 'pulled')
  if (pulledAll) return { state: 'pulled', by, at: worst.at, detail: `pulled from ${by}` }
  const tally = (['refused', 'conflict', 'pending', 'synced', 'pulled'] as const)
    .filter((s) => count(s) > 0)
    .map((s) => `${count(s)} ${s === 'pulled' ? `pulled from ${by}` : s}`)
    .join(', ')
  const state = worst.state === 'pulled' ? 'synced' : worst.state
  return { state, by: state === 'synced' ? by : null, at: worst.at, detail: `${parts.length} ${partNoun}(s): ${tally}` }
}

export function syncMarks(ctx: EngineContext, request: MarksRequest): MarksResponse {
  const db = ctx.workspace.db
  const runs = request.runs ?? []
  const dsIds = request.datasetVersions ?? []
  const mvIds = request.modelVersions ?? []

  const datasetParts = new Map<string, string[]>()
  for (const name of request.datasets ?? []) {
    datasetParts.set(
      name,
      db
        .prepare('SELECT v.id FROM dataset_versions v JOIN datasets d ON d.id = v.dataset_id WHERE d.name = ? ORDER BY v.version')
        .pluck()
        .all(name) as string[],
    )
  }
  const modelParts = new Map<string, { versions: string[]; moves: string[] }>()
  for (const name of request.models ?? []) {
    const id = db.prepare('SELECT id FROM registry_models WHERE name = ?').pluck().get(name) as string | undefined
    modelParts.set(name, {
      versions: id ? (db.prepare('SELECT id FROM registry_versions WHERE model_id = ? ORDER BY version').pluck().all(id) as string[]) : [],
      moves: id ? (db.prepare('SELECT uid FROM registry_alias_history WHERE model_id = ? AND uid IS NOT NULL').pluck().all(id) as string[]) : [],
    })
  }

  const runFacts = factsOf(db, runs, ['run.create', 'run.end', 'metric.segment'], 'run')
  const dsFacts = factsOf(db, [...dsIds, ...[...datasetParts.values()].flat()], ['dataset_version.create'], 'dataset_version')
  const mvFacts = factsOf(db, [...mvIds, ...[...modelParts.values()].flatMap((m) => m.versions)], ['model_version.create'], 'model_version')
  const moveFacts = factsOf(
    db,
    [...modelParts.values()].flatMap((m) => m.moves),
    ['alias.move'],
    'alias_move',
  )

  const open = new Set(request.models?.length ? openConflicts(ctx).map((c) => c.opId.replace(/^alias\.move:/, '')) : [])
  const byId = (ids: string[], facts: Map<string, Facts>, noun: string) => Object.fromEntries(ids.map((id) => [id, markOf(facts.get(id), noun)]))
  return {
    connected: readConnection(ctx) !== null,
    runs: byId(runs, runFacts, 'run'),
    datasetVersions: byId(dsIds, dsFacts, 'dataset version'),
    modelVersions: byId(mvIds, mvFacts, 'model version'),
    datasets: Object.fromEntries(
      [...datasetParts].map(([name, ids]) => [
        name,
        combine(
          ids.map((id) => markOf(dsFacts.get(id), 'dataset version')),
          'dataset',
          'version',
        ),
      ]),
    ),
    models: Object.fromEntries(
      [...modelParts].map(([name, parts]) => {
        const versions = parts.versions.map((id) => markOf(mvFacts.get(id), 'model version'))
        // An alias move only shows when it is not synced: a model whose versions are synced and whose moves are stays "synced".
        // A refused move counts while it is an open conflict (no one promoted again or dropped it since).
        const moves = parts.moves
          .map((uid) => ({ uid, mark: markOf(moveFacts.get(uid), 'alias move') }))
          .filter(({ uid, mark }) => mark.state === 'pending' || ((mark.state === 'conflict' || mark.state === 'refused') && open.has(uid)))
          .map(({ mark }) => mark)
        return [name, combine([...versions, ...moves], 'model', 'version')]
      }),
    ),
  }
}

export interface PendingOperation {
  opId: string
  kind: string
  state: string
  createdAt: string
  /** What the op is about, as a person names it: `penguins@2`, `iris v3`, `iris:production -> v3`, a run's id. */
  label: string
}

/**
 * The outbox entries still to send, oldest first, named the way the pages name them.
 * A run's metric segments are folded into one line per run (`loss, accuracy: 3 segments`).
 */
export function pendingOperations(ctx: EngineContext, limit: number): { total: number; operations: PendingOperation[] } {
  const db = ctx.workspace.db
  const total = db.prepare(`SELECT count(*) FROM sync_outbox WHERE state IN ('pending', 'missing_ref')`).pluck().get() as number
  const rows = db
    .prepare(
      `SELECT o.op_id, o.kind, o.state, o.created_at, o.entity_id,
              CASE o.kind
                WHEN 'dataset_version.create' THEN (SELECT d.name || '@' || v.version FROM dataset_versions v JOIN datasets d ON d.id = v.dataset_id WHERE v.id = o.entity_id)
                WHEN 'model_version.create' THEN (SELECT m.name || ' v' || v.version FROM registry_versions v JOIN registry_models m ON m.id = v.model_id WHERE v.id = o.entity_id)
                WHEN 'alias.move' THEN (SELECT m.name || ':' || h.alias || ' -> v' || v.version FROM registry_alias_history h
                                        JOIN registry_models m ON m.id = h.model_id JOIN registry_versions v ON v.id = h.version_id WHERE h.uid = o.entity_id)
                WHEN 'audit.append' THEN (SELECT a.action || ' ' || coalesce(a.entity_id, '') FROM audit_log a WHERE a.uid = o.entity_id)
                WHEN 'metric.segment' THEN 'run ' || o.entity_id || ': ' || json_extract(o.detail, '$.name') || ' steps ' ||
                                           (json_extract(o.detail, '$.segment') * 1000) || '-' || (json_extract(o.detail, '$.segment') * 1000 + 999)
                ELSE 'run ' || o.entity_id
              END AS label
       FROM sync_outbox o WHERE o.state IN ('pending', 'missing_ref') ORDER BY o.client_seq LIMIT ?`,
    )
    .all(limit) as Array<{ op_id: string; kind: string; state: string; created_at: string; entity_id: string; label: string | null }>
  return {
    total,
    operations: rows.map((r) => ({ opId: r.op_id, kind: r.kind, state: r.state, createdAt: r.created_at, label: r.label ?? r.entity_id })),
  }
}
