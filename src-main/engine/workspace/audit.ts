import type Database from 'better-sqlite3'
import { uuidv7 } from './ids.js'

export interface AuditEntry {
  actor: string
  action: string
  entityType: string
  entityId: string
  before?: unknown
  after?: unknown
  reason?: string
}

export interface AuditRecord extends Omit<AuditEntry, 'before' | 'after'> {
  id: number
  time: string
  before: unknown
  after: unknown
}

/** Appends to the audit log. Call it inside the transaction of the change it records. */
export function appendAudit(db: Database.Database, entry: AuditEntry): void {
  db.prepare(
    `INSERT INTO audit_log (uid, time, actor, action, entity_type, entity_id, before_json, after_json, reason)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    uuidv7(),
    new Date().toISOString(),
    entry.actor,
    entry.action,
    entry.entityType,
    entry.entityId,
    entry.before === undefined ? null : JSON.stringify(entry.before),
    entry.after === undefined ? null : JSON.stringify(entry.after),
    entry.reason ?? null,
  )
}

export function listAudit(db: Database.Database, filter: { entityType?: string; entityId?: string } = {}): AuditRecord[] {
  const rows = db
    .prepare(
      `SELECT id, time, actor, action, entity_type, entity_id, before_json, after_json, reason FROM audit_log
       WHERE (@entityType IS NULL OR entity_type = @entityType) AND (@entityId IS NULL OR entity_id = @entityId)
       ORDER BY id`,
    )
    .all({ entityType: filter.entityType ?? null, entityId: filter.entityId ?? null }) as Array<Record<string, any>>
  return rows.map((r) => ({
    id: r.id,
    time: r.time,
    actor: r.actor,
    action: r.action,
    entityType: r.entity_type,
    entityId: r.entity_id,
    before: r.before_json === null ? null : JSON.parse(r.before_json),
    after: r.after_json === null ? null : JSON.parse(r.after_json),
    reason: r.reason ?? undefined,
  }))
}
