import type Database from 'better-sqlite3'
import { appendAudit } from '../workspace/index.js'

/** Every SQL statement serving runs against `lathe.db` (migration `006-serving.ts`). */

export interface RememberedDeployment {
  model: string
  selector: string
  logging: boolean
  isDefault: boolean
}

interface Row {
  model: string
  selector: string
  logging: number
  is_default: number
}

export function listRememberedDeployments(db: Database.Database): RememberedDeployment[] {
  const rows = db.prepare('SELECT model, selector, logging, is_default FROM serving_deployments ORDER BY is_default DESC, model').all() as Row[]
  return rows.map((r) => ({ model: r.model, selector: r.selector, logging: r.logging === 1, isDefault: r.is_default === 1 }))
}

export function rememberDeployment(db: Database.Database, actor: string, d: RememberedDeployment): void {
  db.transaction(() => {
    const before = db.prepare('SELECT model, selector, logging, is_default FROM serving_deployments WHERE model = ?').get(d.model) as Row | undefined
    if (d.isDefault) db.prepare('UPDATE serving_deployments SET is_default = 0 WHERE model <> ?').run(d.model)
    db.prepare(
      `INSERT INTO serving_deployments (model, selector, logging, is_default, updated_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (model) DO UPDATE SET selector = excluded.selector, logging = excluded.logging,
         is_default = excluded.is_default, updated_at = excluded.updated_at`,
    ).run(d.model, d.selector, d.logging ? 1 : 0, d.isDefault ? 1 : 0, new Date().toISOString())
    appendAudit(db, { actor, action: 'serving.deploy', entityType: 'model', entityId: d.model, before: before ?? undefined, after: d })
  })()
}

export function forgetDeployment(db: Database.Database, actor: string, model: string, nextDefault: string | null): void {
  db.transaction(() => {
    const before = db.prepare('SELECT model, selector, logging, is_default FROM serving_deployments WHERE model = ?').get(model) as Row | undefined
    db.prepare('DELETE FROM serving_deployments WHERE model = ?').run(model)
    if (nextDefault) db.prepare('UPDATE serving_deployments SET is_default = 1 WHERE model = ?').run(nextDefault)
    appendAudit(db, { actor, action: 'serving.undeploy', entityType: 'model', entityId: model, before: before ?? undefined })
  })()
}
