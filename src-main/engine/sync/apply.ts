import { createHash } from 'node:crypto'
import type Database from 'better-sqlite3'
import { uuidv7 } from '../workspace/index.js'
import { renumber } from './outbox.js'
import {
  AliasMovePayload,
  AuditPayload,
  DatasetVersionPayload,
  ModelVersionPayload,
  RunPayload,
  SegmentPayload,
  digestLine,
  digestOf,
  type Change,
  type Digest,
  type DigestKind,
} from '../api/common/sync-protocol.js'
import { decodeSegment } from '../api/common/metric-segments.js'
import { storePulledMetricPoints, storePulledRun } from '../training/index.js'

/**
 * Applies one pulled change in one SQLite transaction, with `sync_applying` holding its
 * row so the outbox triggers stay quiet, and remembers its sequence number in the same
 * transaction: a pull killed at any point resumes after the last change it applied.
 * Applying a change twice changes nothing the second time.
 *
 * Returns what the rest of the engine should hear about (an alias a teammate moved).
 */
export function applyChange(db: Database.Database, change: Change): { aliasMoved?: { model: string; alias: string; version: number } } {
  return db
    .transaction(() => {
      db.prepare('INSERT INTO sync_applying (one) VALUES (1)').run()
      try {
        const effect = applyOne(db, change)
        markPulled(db, change)
        setSetting(db, 'sync.last_seq', String(change.seq))
        return effect
      } finally {
        db.prepare('DELETE FROM sync_applying').run()
      }
    })
    .immediate()
}

function applyOne(db: Database.Database, change: Change): { aliasMoved?: { model: string; alias: string; version: number } } {
  const now = new Date().toISOString()
  switch (change.kind) {
    case 'dataset_version': {
      const v = DatasetVersionPayload.parse(change.body)
      const number = change.number!
      if (db.prepare('SELECT 1 FROM dataset_versions WHERE id = ?').get(v.id)) {
        renumber(db, 'dataset_versions', 'dataset_id', v.id, number)
        return {}
      }
      let datasetId = db.prepare('SELECT id FROM datasets WHERE name = ?').pluck().get(v.dataset) as string | undefined
      if (!datasetId) {
        datasetId = uuidv7()
        db.prepare('INSERT INTO datasets (id, name, created_at) VALUES (?, ?, ?)').run(datasetId, v.dataset, v.createdAt)
      }
      freeNumber(db, 'dataset_versions', 'dataset_id', datasetId, number)
      db.prepare(
        `INSERT INTO dataset_versions (id, dataset_id, version, local_version, object_sha256, bytes, origin, source_name, source_sha256,
           options_key, options_json, rows, columns_json, validation_status, validation_json, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        v.id,
        datasetId,
        number,
        number,
        v.objectSha256,
        v.bytes,
        v.origin,
        v.sourceName,
        v.sourceSha256,
        v.optionsKey,
        JSON.stringify(v.options),
        v.rows,
        JSON.stringify(v.columns),
        v.validation.status,
        JSON.stringify(v.validation.results),
        v.createdAt,
      )
      const link = db.prepare(
        `INSERT OR IGNORE INTO dataset_lineage (child_version_id, parent_version_id)
         SELECT ?, id FROM dataset_versions WHERE id = ?`,
      )
      for (const parent of v.parents) link.run(v.id, parent)
      return {}
    }
    case 'run':
      storePulledRun(db, RunPayload.parse(change.body))
      return {}
    case 'segment': {
      const s = SegmentPayload.parse(change.body)
      storePulledMetricPoints(db, s.runId, s.name, decodeSegment(Buffer.from(s.data, 'base64')))
      return {}
    }
    case 'model_version': {
      const v = ModelVersionPayload.parse(change.body)
      const number = change.number!
      if (db.prepare('SELECT 1 FROM registry_versions WHERE id = ?').get(v.id)) {
        renumber(db, 'registry_versions', 'model_id', v.id, number)
        return {}
      }
      let modelId = db.prepare('SELECT id FROM registry_models WHERE name = ?').pluck().get(v.model) as string | undefined
      if (!modelId) {
        modelId = uuidv7()
        db.prepare('INSERT INTO registry_models (id, name, created_at, created_by) VALUES (?, ?, ?, ?)').run(modelId, v.model, now, change.user)
      }
      freeNumber(db, 'registry_versions', 'model_id', modelId, number)
      const row = { ...v.row, id: v.id, model_id: modelId, version: number, local_version: number }
      const columns = Object.keys(row).filter((c) => /^[a-z_0-9]+$/.test(c))
      db.prepare(`INSERT INTO registry_versions (${columns.join(', ')}) VALUES (${columns.map((c) => '@' + c).join(', ')})`).run(
        Object.fromEntries(columns.map((c) => [c, (row as Record<string, unknown>)[c] ?? null])),
      )
      return {}
    }
    case 'alias_move': {
      const m = AliasMovePayload.parse(change.body)
      const modelId = db.prepare('SELECT id FROM registry_models WHERE name = ?').pluck().get(m.model) as string
      if (!db.prepare('SELECT 1 FROM registry_alias_history WHERE uid = ?').get(m.uid)) {
        db.prepare(
          `INSERT INTO registry_alias_history (uid, model_id, alias, version_id, previous_version_id, kind, forced, gate_json, reason, cause, time, actor)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        ).run(
          m.uid,
          modelId,
          m.alias,
          m.versionId,
          m.previousVersionId,
          m.kind,
          m.forced ? 1 : 0,
          m.gate === null || m.gate === undefined ? null : JSON.stringify(m.gate),
          m.reason,
          m.cause,
          m.time,
          m.actor,
        )
      }
      const current = db.prepare('SELECT version_id FROM registry_aliases WHERE model_id = ? AND alias = ?').pluck().get(modelId, m.alias)
      if (current === m.versionId) return {}
      db.prepare(
        `INSERT INTO registry_aliases (model_id, alias, version_id, since) VALUES (?, ?, ?, ?)
         ON CONFLICT (model_id, alias) DO UPDATE SET version_id = excluded.version_id, since = excluded.since`,
      ).run(modelId, m.alias, m.versionId, m.time)
      const version = db.prepare('SELECT version FROM registry_versions WHERE id = ?').pluck().get(m.versionId) as number
      return { aliasMoved: { model: m.model, alias: m.alias, version } }
    }
    case 'audit': {
      const a = AuditPayload.parse(change.body)
      db.prepare(
        `INSERT INTO audit_log (uid, time, actor, action, entity_type, entity_id, before_json, after_json, reason)
         SELECT ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM audit_log WHERE uid = ?)`,
      ).run(
        a.uid,
        a.time,
        a.actor,
        a.action,
        a.entityType,
        a.entityId,
        a.before === undefined || a.before === null ? null : JSON.stringify(a.before),
        a.after === undefined || a.after === null ? null : JSON.stringify(a.after),
        a.reason,
        a.uid,
      )
      return {}
    }
  }
}

/** A pulled version takes its server number; a local version that holds it moves to the end. */
function freeNumber(db: Database.Database, table: 'dataset_versions' | 'registry_versions', parent: string, parentId: string, number: number): void {
  const holder = db.prepare(`SELECT id FROM ${table} WHERE ${parent} = ? AND version = ?`).pluck().get(parentId, number) as string | undefined
  if (!holder) return
  const end = (db.prepare(`SELECT max(version) FROM ${table} WHERE ${parent} = ?`).pluck().get(parentId) as number) + 1
  db.prepare(`UPDATE ${table} SET version = ? WHERE id = ?`).run(end, holder)
}

function markPulled(db: Database.Database, change: Change): void {
  // Own records come back too (to learn their numbers); only a teammate's are marked pulled.
  if (change.originClient !== null && change.originClient === getSetting(db, 'sync.client_id')) return
  db.prepare(
    `INSERT INTO sync_pulled (entity_type, entity_id, server_seq, origin_client, origin_user, pulled_at) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (entity_type, entity_id) DO UPDATE SET server_seq = excluded.server_seq`,
  ).run(change.kind, change.id, change.seq, change.originClient, change.user, new Date().toISOString())
}

export function getSetting(db: Database.Database, key: string): string | null {
  return (db.prepare('SELECT value FROM settings WHERE key = ?').pluck().get(key) as string | undefined) ?? null
}

export function setSetting(db: Database.Database, key: string, value: string): void {
  db.prepare('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, value)
}

/**
 * This workspace's side of `GET /sync/v1/digest`: the same lines for the same records.
 * Left out: alias moves the server refused or that lost a race (kept here, marked
 * "not applied"), and the metric points of runs that have not ended (they go when it ends).
 */
export function localDigest(db: Database.Database): Digest {
  const lines: Record<DigestKind, string[]> = {
    dataset_version: (db.prepare(`SELECT v.id, d.name, v.version FROM dataset_versions v JOIN datasets d ON d.id = v.dataset_id`).all() as any[]).map((r) =>
      digestLine.dataset_version(r.id, r.name, r.version),
    ),
    run: (db.prepare('SELECT id, status FROM training_runs').all() as any[]).map((r) => digestLine.run(r.id, r.status)),
    segment: (
      db
        .prepare(
          `SELECT m.run_id, m.name, m.step / 1000 AS segment, count(*) AS points FROM training_metrics m JOIN training_runs r ON r.id = m.run_id
           WHERE r.status IN ('finished', 'failed', 'cancelled') GROUP BY m.run_id, m.name, m.step / 1000`,
        )
        .all() as any[]
    ).map((r) => digestLine.segment(r.run_id, r.name, r.segment, r.points)),
    model_version: (db.prepare(`SELECT v.id, m.name, v.version FROM registry_versions v JOIN registry_models m ON m.id = v.model_id`).all() as any[]).map((r) =>
      digestLine.model_version(r.id, r.name, r.version),
    ),
    alias: (db.prepare(`SELECT m.name, a.alias, a.version_id FROM registry_aliases a JOIN registry_models m ON m.id = a.model_id`).all() as any[]).map((r) =>
      digestLine.alias(r.name, r.alias, r.version_id),
    ),
    alias_move: (
      db
        .prepare(
          `SELECT uid FROM registry_alias_history WHERE uid NOT IN
             (SELECT entity_id FROM sync_outbox WHERE kind = 'alias.move' AND state IN ('conflict', 'forbidden', 'invalid'))`,
        )
        .pluck()
        .all() as string[]
    ).map(digestLine.alias_move),
    audit: (db.prepare('SELECT uid FROM audit_log').pluck().all() as string[]).map(digestLine.audit),
  }
  return digestOf(lines, (text) => createHash('sha256').update(text).digest('hex'))
}
