import type Database from 'better-sqlite3'
import { MAX_BATCH_BYTES, MAX_BATCH_OPS, type Op, type OpResult, type Outcome } from '../api/common/sync-protocol.js'
import { encodeSegmentRows, SEGMENT_STEPS } from '../api/common/metric-segments.js'

/**
 * The client's outbox: reading what is pending (filled by migration 009's triggers in the
 * transaction of each change), turning an entry into the op the server receives, and
 * recording what the server answered. The SQL reads the other capabilities' tables
 * directly: an op must carry a record exactly as stored, ids and all.
 */

export interface OutboxEntry {
  clientSeq: number
  opId: string
  kind: Op['kind']
  entityId: string
  detail: { name: string; segment: number } | null
  state: 'pending' | Outcome
  result: OpResult | null
  createdAt: string
}

function toEntry(r: any): OutboxEntry {
  return {
    clientSeq: r.client_seq,
    opId: r.op_id,
    kind: r.kind,
    entityId: r.entity_id,
    detail: r.detail ? JSON.parse(r.detail) : null,
    state: r.state,
    result: r.result_json ? JSON.parse(r.result_json) : null,
    createdAt: r.created_at,
  }
}

/** Entries still to send, in the order they were made: new ones and those that named a ref the server lacked. */
export function entriesToPush(db: Database.Database, afterSeq: number, limit: number): OutboxEntry[] {
  return db
    .prepare(`SELECT * FROM sync_outbox WHERE state IN ('pending', 'missing_ref') AND client_seq > ? ORDER BY client_seq LIMIT ?`)
    .all(afterSeq, limit)
    .map(toEntry)
}

export function entriesIn(db: Database.Database, states: readonly string[], limit = 1000): OutboxEntry[] {
  return db
    .prepare(`SELECT * FROM sync_outbox WHERE state IN (${states.map(() => '?').join(', ')}) ORDER BY client_seq LIMIT ?`)
    .all(...states, limit)
    .map(toEntry)
}

export function outboxCounts(db: Database.Database): Record<string, number> {
  const rows = db.prepare('SELECT state, count(*) AS n FROM sync_outbox GROUP BY state').all() as Array<{ state: string; n: number }>
  return Object.fromEntries(rows.map((r) => [r.state, r.n]))
}

export interface BuiltOp {
  entry: OutboxEntry
  op: Op
  /** Objects the op names; they go to the server before the op does. */
  blobs: string[]
  bytes: number
}

/** The op an outbox entry stands for, read from the record now (records that sync are immutable, runs aside: a run sends its latest). */
export function buildOp(db: Database.Database, entry: OutboxEntry): BuiltOp {
  const { payload, blobs } = payloadOf(db, entry)
  const op: Op = { opId: entry.opId, kind: entry.kind, payload }
  return { entry, op, blobs, bytes: JSON.stringify(op).length }
}

const segmentStatements = new WeakMap<Database.Database, Database.Statement>()

function segmentRows(db: Database.Database): Database.Statement {
  let statement = segmentStatements.get(db)
  if (!statement) {
    statement = db.prepare('SELECT step, value FROM training_metrics WHERE run_id = ? AND name = ? AND step >= ? AND step < ? ORDER BY step').raw()
    segmentStatements.set(db, statement)
  }
  return statement
}

function payloadOf(db: Database.Database, entry: OutboxEntry): { payload: unknown; blobs: string[] } {
  const id = entry.entityId
  switch (entry.kind) {
    case 'dataset_version.create': {
      const v = db.prepare(`SELECT v.*, d.name AS dataset FROM dataset_versions v JOIN datasets d ON d.id = v.dataset_id WHERE v.id = ?`).get(id) as any
      const parents = db.prepare('SELECT parent_version_id FROM dataset_lineage WHERE child_version_id = ? ORDER BY rowid').pluck().all(id)
      return {
        payload: {
          id,
          dataset: v.dataset,
          localNumber: v.local_version ?? v.version,
          objectSha256: v.object_sha256,
          bytes: v.bytes,
          origin: v.origin,
          sourceName: v.source_name,
          sourceSha256: v.source_sha256,
          optionsKey: v.options_key,
          options: JSON.parse(v.options_json),
          rows: v.rows,
          columns: JSON.parse(v.columns_json),
          validation: { status: v.validation_status, results: v.validation_json ? JSON.parse(v.validation_json) : [] },
          createdAt: v.created_at,
          parents,
        },
        blobs: [v.object_sha256],
      }
    }
    case 'run.create':
    case 'run.end': {
      const r = db.prepare('SELECT status, record_json FROM training_runs WHERE id = ?').get(id) as { status: string; record_json: string }
      const record = JSON.parse(r.record_json)
      const blobs = entry.kind === 'run.end' && record.model ? [record.model.onnxSha256, record.model.weightsSha256].filter(Boolean) : []
      return { payload: { id, status: r.status, record }, blobs }
    }
    case 'metric.segment': {
      const { name, segment } = entry.detail!
      // Prepared once per connection and read raw: a push of 1M points reads 1000 segments (this was 1.3 of a 5.4 s push).
      const points = segmentRows(db).all(id, name, segment * SEGMENT_STEPS, (segment + 1) * SEGMENT_STEPS) as Array<[number, number]>
      return {
        payload: { runId: id, name, segment, points: points.length, data: Buffer.from(encodeSegmentRows(points)).toString('base64') },
        blobs: [],
      }
    }
    case 'model_version.create': {
      const v = db.prepare(`SELECT v.*, m.name AS model FROM registry_versions v JOIN registry_models m ON m.id = v.model_id WHERE v.id = ?`).get(id) as any
      const { id: _id, model_id: _modelId, version: _version, local_version, model, ...row } = v
      return { payload: { id, model, localNumber: local_version ?? v.version, onnxSha256: v.onnx_sha256, row }, blobs: [v.onnx_sha256] }
    }
    case 'alias.move': {
      const h = db
        .prepare(`SELECT h.*, m.name AS model FROM registry_alias_history h JOIN registry_models m ON m.id = h.model_id WHERE h.uid = ?`)
        .get(id) as any
      return {
        payload: {
          uid: id,
          model: h.model,
          alias: h.alias,
          versionId: h.version_id,
          previousVersionId: h.previous_version_id,
          kind: h.kind,
          forced: h.forced === 1,
          gate: h.gate_json ? JSON.parse(h.gate_json) : null,
          reason: h.reason,
          cause: h.cause,
          time: h.time,
          actor: h.actor,
        },
        blobs: [],
      }
    }
    case 'audit.append': {
      const a = db.prepare('SELECT * FROM audit_log WHERE uid = ?').get(id) as any
      return {
        payload: {
          uid: id,
          time: a.time,
          actor: a.actor,
          action: a.action,
          entityType: a.entity_type,
          entityId: a.entity_id,
          before: a.before_json === null ? null : JSON.parse(a.before_json),
          after: a.after_json === null ? null : JSON.parse(a.after_json),
          reason: a.reason,
        },
        blobs: [],
      }
    }
  }
}

/** The next batch: at most 256 ops and 8 MiB (a single larger op goes alone). */
export function nextBatch(db: Database.Database, afterSeq: number): BuiltOp[] {
  const batch: BuiltOp[] = []
  let bytes = 0
  for (const entry of entriesToPush(db, afterSeq, MAX_BATCH_OPS)) {
    const built = buildOp(db, entry)
    if (batch.length > 0 && bytes + built.bytes > MAX_BATCH_BYTES) break
    batch.push(built)
    bytes += built.bytes
  }
  return batch
}

/**
 * Records the server's answers in one transaction: each entry's state, and the display
 * number the server gave a dataset or model version (the local number stays findable).
 */
export function recordResults(db: Database.Database, batch: ReadonlyArray<Pick<BuiltOp, 'entry'>>, results: OpResult[]): void {
  const byId = new Map(results.map((r) => [r.opId, r]))
  const now = new Date().toISOString()
  const set = db.prepare('UPDATE sync_outbox SET state = ?, result_json = ?, done_at = ? WHERE client_seq = ?')
  db.transaction(() => {
    for (const { entry } of batch) {
      const result = byId.get(entry.opId)
      if (!result) continue
      // A resent op that had been refused or had lost its race keeps that outcome.
      const state = result.outcome === 'duplicate' && result.original && result.original !== 'applied' ? result.original : result.outcome
      set.run(state, JSON.stringify(result), now, entry.clientSeq)
      if (result.number !== undefined) {
        if (entry.kind === 'dataset_version.create') renumber(db, 'dataset_versions', 'dataset_id', entry.entityId, result.number)
        if (entry.kind === 'model_version.create') renumber(db, 'registry_versions', 'model_id', entry.entityId, result.number)
      }
    }
  }).immediate()
}

/**
 * Gives a version its display number. A version of this workspace not yet numbered by
 * the server that holds the number moves to the end (the server numbers it when it arrives).
 */
export function renumber(
  db: Database.Database,
  table: 'dataset_versions' | 'registry_versions',
  parent: 'dataset_id' | 'model_id',
  versionId: string,
  number: number,
): void {
  const row = db.prepare(`SELECT ${parent} AS parent, version FROM ${table} WHERE id = ?`).get(versionId) as { parent: string; version: number } | undefined
  if (!row || row.version === number) return
  const holder = db.prepare(`SELECT id FROM ${table} WHERE ${parent} = ? AND version = ? AND id != ?`).pluck().get(row.parent, number, versionId) as
    string | undefined
  if (holder) {
    const end = (db.prepare(`SELECT max(version) FROM ${table} WHERE ${parent} = ?`).pluck().get(row.parent) as number) + 1
    db.prepare(`UPDATE ${table} SET version = ? WHERE id = ?`).run(end, holder)
  }
  db.prepare(`UPDATE ${table} SET version = ? WHERE id = ?`).run(number, versionId)
}
