import { randomUUID } from 'node:crypto'
import type Database from 'better-sqlite3'
import { LatheError } from '../api/common/errors.js'
import { MonitorSpec, type ActionOutcome, type Alert, type AlertAction, type AlertRule, type ComparisonOp, type Monitor, type ReportValues } from './types.js'

/**
 * Every SQL statement against `lathe.db` for monitoring: monitors, alert rules,
 * stored reports (drift and quality over time) and alerts. Migration 006 made the tables.
 */

export function newId(prefix: string): string {
  return `${prefix}_${randomUUID().replaceAll('-', '').slice(0, 16)}`
}

interface MonitorRow {
  id: string
  name: string
  model: string
  spec_json: string
  enabled: number
  created_at: string
  last_run_at: string | null
  last_run_requests: number
}

function toMonitor(row: MonitorRow): Monitor {
  return {
    id: row.id,
    name: row.name,
    model: row.model,
    spec: MonitorSpec.parse(JSON.parse(row.spec_json)),
    enabled: row.enabled === 1,
    createdAt: row.created_at,
    lastRunAt: row.last_run_at,
    lastRunRequests: row.last_run_requests,
  }
}

export function insertMonitor(db: Database.Database, monitor: { name: string; model: string; spec: MonitorSpec }): Monitor {
  if (db.prepare('SELECT 1 FROM monitors WHERE name = ?').get(monitor.name)) {
    throw new LatheError('conflict', `a monitor named "${monitor.name}" already exists`, { field: 'name' })
  }
  const id = newId('mon')
  db.prepare('INSERT INTO monitors (id, name, model, spec_json, enabled, created_at) VALUES (?, ?, ?, ?, 1, ?)').run(
    id,
    monitor.name,
    monitor.model,
    JSON.stringify(monitor.spec),
    new Date().toISOString(),
  )
  return getMonitor(db, id)
}

export function updateMonitor(db: Database.Database, id: string, change: { spec?: MonitorSpec; enabled?: boolean }): Monitor {
  const current = getMonitor(db, id)
  db.prepare('UPDATE monitors SET spec_json = ?, enabled = ? WHERE id = ?').run(
    JSON.stringify(change.spec ?? current.spec),
    (change.enabled ?? current.enabled) ? 1 : 0,
    id,
  )
  return getMonitor(db, id)
}

export function markMonitorRun(db: Database.Database, id: string, requests: number): void {
  db.prepare('UPDATE monitors SET last_run_at = ?, last_run_requests = ? WHERE id = ?').run(new Date().toISOString(), requests, id)
}

/** By id or by name. */
export function getMonitor(db: Database.Database, idOrName: string): Monitor {
  const row = db.prepare('SELECT * FROM monitors WHERE id = ? OR name = ?').get(idOrName, idOrName) as MonitorRow | undefined
  if (!row) {
    const names = (db.prepare('SELECT name FROM monitors ORDER BY name').all() as Array<{ name: string }>).map((r) => r.name)
    throw new LatheError('not_found', `no monitor "${idOrName}"${names.length ? ` (monitors: ${names.join(', ')})` : ' (there are no monitors yet)'}`, {
      field: 'monitor',
    })
  }
  return toMonitor(row)
}

export function listMonitors(db: Database.Database, model?: string): Monitor[] {
  const rows = db.prepare('SELECT * FROM monitors WHERE (? IS NULL OR model = ?) ORDER BY created_at, name').all(model ?? null, model ?? null) as MonitorRow[]
  return rows.map(toMonitor)
}

export function deleteMonitor(db: Database.Database, id: string): void {
  db.prepare('DELETE FROM monitors WHERE id = ?').run(id)
}

interface RuleRow {
  id: string
  monitor_id: string
  name: string
  metric: string
  op: ComparisonOp
  threshold: number
  actions_json: string
  enabled: number
  created_at: string
}

function toRule(row: RuleRow): AlertRule {
  return {
    id: row.id,
    monitorId: row.monitor_id,
    name: row.name,
    metric: row.metric,
    op: row.op,
    threshold: row.threshold,
    actions: JSON.parse(row.actions_json),
    enabled: row.enabled === 1,
    createdAt: row.created_at,
  }
}

export function insertRule(
  db: Database.Database,
  rule: { monitorId: string; name: string; metric: string; op: ComparisonOp; threshold: number; actions: AlertAction[] },
): AlertRule {
  const id = newId('rule')
  db.prepare(
    `INSERT INTO alert_rules (id, monitor_id, name, metric, op, threshold, actions_json, enabled, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?)`,
  ).run(id, rule.monitorId, rule.name, rule.metric, rule.op, rule.threshold, JSON.stringify(rule.actions), new Date().toISOString())
  return getRule(db, id)
}

export function getRule(db: Database.Database, id: string): AlertRule {
  const row = db.prepare('SELECT * FROM alert_rules WHERE id = ?').get(id) as RuleRow | undefined
  if (!row) throw new LatheError('not_found', `no alert rule "${id}"`, { field: 'rule' })
  return toRule(row)
}

export function listRules(db: Database.Database, monitorId?: string): AlertRule[] {
  const rows = db
    .prepare('SELECT * FROM alert_rules WHERE (? IS NULL OR monitor_id = ?) ORDER BY created_at, name')
    .all(monitorId ?? null, monitorId ?? null) as RuleRow[]
  return rows.map(toRule)
}

export function deleteRule(db: Database.Database, id: string): void {
  getRule(db, id)
  db.prepare('DELETE FROM alert_rules WHERE id = ?').run(id)
}

export interface StoredReport {
  id: string
  monitorId: string | null
  model: string
  version: number | null
  time: string
  values: ReportValues
  report: unknown
}

export function insertReport(db: Database.Database, report: Omit<StoredReport, 'id' | 'time'>): StoredReport {
  const id = newId('rep')
  const time = new Date().toISOString()
  db.prepare('INSERT INTO monitor_reports (id, monitor_id, model, version, time, values_json, report_json) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
    id,
    report.monitorId,
    report.model,
    report.version,
    time,
    JSON.stringify(report.values),
    JSON.stringify(report.report),
  )
  return { ...report, id, time }
}

export function listReports(db: Database.Database, filter: { model: string; monitorId?: string; limit?: number; withReport?: boolean }): StoredReport[] {
  const rows = db
    .prepare(
      `SELECT id, monitor_id, model, version, time, values_json, ${filter.withReport ? 'report_json' : 'NULL AS report_json'} FROM monitor_reports
       WHERE model = ? AND (? IS NULL OR monitor_id = ?) ORDER BY time DESC, rowid DESC LIMIT ?`,
    )
    .all(filter.model, filter.monitorId ?? null, filter.monitorId ?? null, filter.limit ?? 200) as Array<Record<string, any>>
  return rows.reverse().map((r) => ({
    id: r.id,
    monitorId: r.monitor_id,
    model: r.model,
    version: r.version,
    time: r.time,
    values: JSON.parse(r.values_json),
    report: r.report_json === null ? null : JSON.parse(r.report_json),
  }))
}

export function getReport(db: Database.Database, id: string): StoredReport {
  const r = db.prepare('SELECT * FROM monitor_reports WHERE id = ?').get(id) as Record<string, any> | undefined
  if (!r) throw new LatheError('not_found', `no monitor report "${id}"`, { field: 'report' })
  return {
    id: r.id,
    monitorId: r.monitor_id,
    model: r.model,
    version: r.version,
    time: r.time,
    values: JSON.parse(r.values_json),
    report: JSON.parse(r.report_json),
  }
}

interface AlertRow {
  id: string
  rule_id: string | null
  monitor_id: string | null
  report_id: string | null
  model: string
  time: string
  metric: string
  value: number | null
  op: ComparisonOp
  threshold: number
  message: string
  status: 'open' | 'acknowledged'
  acknowledged_at: string | null
  acknowledged_by: string | null
  actions_json: string
}

function toAlert(row: AlertRow): Alert {
  return {
    id: row.id,
    ruleId: row.rule_id,
    monitorId: row.monitor_id,
    reportId: row.report_id,
    model: row.model,
    time: row.time,
    metric: row.metric,
    value: row.value,
    op: row.op,
    threshold: row.threshold,
    message: row.message,
    status: row.status,
    acknowledgedAt: row.acknowledged_at,
    acknowledgedBy: row.acknowledged_by,
    actions: JSON.parse(row.actions_json),
  }
}

export function insertAlert(
  db: Database.Database,
  alert: Pick<Alert, 'ruleId' | 'monitorId' | 'reportId' | 'model' | 'metric' | 'value' | 'op' | 'threshold' | 'message' | 'actions'>,
): Alert {
  const id = newId('alert')
  db.prepare(
    `INSERT INTO alerts (id, rule_id, monitor_id, report_id, model, time, metric, value, op, threshold, message, actions_json)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    id,
    alert.ruleId,
    alert.monitorId,
    alert.reportId,
    alert.model,
    new Date().toISOString(),
    alert.metric,
    alert.value,
    alert.op,
    alert.threshold,
    alert.message,
    JSON.stringify(alert.actions),
  )
  return getAlert(db, id)
}

export function getAlert(db: Database.Database, id: string): Alert {
  const row = db.prepare('SELECT * FROM alerts WHERE id = ?').get(id) as AlertRow | undefined
  if (!row) throw new LatheError('not_found', `no alert "${id}"`, { field: 'alert' })
  return toAlert(row)
}

/** Records what an action did, replacing its earlier outcome (pending -> done or failed). */
export function setActionOutcome(db: Database.Database, alertId: string, index: number, outcome: ActionOutcome): Alert {
  const alert = getAlert(db, alertId)
  const actions = [...alert.actions]
  actions[index] = outcome
  db.prepare('UPDATE alerts SET actions_json = ? WHERE id = ?').run(JSON.stringify(actions), alertId)
  return getAlert(db, alertId)
}

export function listAlerts(db: Database.Database, filter: { model?: string; status?: 'open' | 'acknowledged'; limit?: number } = {}): Alert[] {
  const rows = db
    .prepare(
      `SELECT * FROM alerts WHERE (? IS NULL OR model = ?) AND (? IS NULL OR status = ?)
       ORDER BY time DESC, rowid DESC LIMIT ?`,
    )
    .all(filter.model ?? null, filter.model ?? null, filter.status ?? null, filter.status ?? null, filter.limit ?? 500) as AlertRow[]
  return rows.map(toAlert)
}

export function acknowledgeAlert(db: Database.Database, id: string, actor: string): Alert {
  const alert = getAlert(db, id)
  if (alert.status === 'acknowledged') return alert
  db.prepare("UPDATE alerts SET status = 'acknowledged', acknowledged_at = ?, acknowledged_by = ? WHERE id = ?").run(new Date().toISOString(), actor, id)
  return getAlert(db, id)
}
