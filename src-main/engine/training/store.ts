import type Database from 'better-sqlite3'
import { LatheError } from '../api/common/errors.js'
import { appendAudit } from '../workspace/index.js'
import { RunRecord, type MetricSeries, type RunStatus } from './types.js'

/**
 * The only module that writes SQL for training: runs, their metric series, sweeps.
 * A run's full record is JSON; the columns beside it are what lists filter on.
 */

interface RunRow {
  record_json: string
}

function parseRow(row: RunRow): RunRecord {
  return RunRecord.parse(JSON.parse(row.record_json))
}

/** `runId` is the run's id, or the `run-` + 8 hex id it had before migration 008. */
export function getRun(db: Database.Database, runId: string): RunRecord {
  const row = db
    .prepare(
      `SELECT record_json FROM training_runs
       WHERE id = coalesce((SELECT run_id FROM training_run_legacy_ids WHERE legacy_id = @id), @id)`,
    )
    .get({ id: runId }) as RunRow | undefined
  if (!row) throw new LatheError('not_found', `no run "${runId}" in this workspace (see \`lathe runs list\`)`, { field: 'run' })
  return parseRow(row)
}

export interface RunFilter {
  status?: RunStatus
  dataset?: string
  sweepId?: string
  limit?: number
}

/** Newest first. */
export function listRuns(db: Database.Database, filter: RunFilter = {}): RunRecord[] {
  const where: string[] = []
  const args: unknown[] = []
  if (filter.status) {
    where.push('status = ?')
    args.push(filter.status)
  }
  if (filter.dataset) {
    where.push('dataset_name = ?')
    args.push(filter.dataset)
  }
  if (filter.sweepId) {
    where.push('sweep_id = ?')
    args.push(filter.sweepId)
  }
  const sql = `SELECT record_json FROM training_runs ${where.length ? 'WHERE ' + where.join(' AND ') : ''}
    ORDER BY seq DESC LIMIT ?`
  args.push(filter.limit ?? 1000)
  return (db.prepare(sql).all(...args) as RunRow[]).map(parseRow)
}

export function insertRun(db: Database.Database, record: RunRecord, actor: string): void {
  db.transaction(() => {
    const seq = (db.prepare('SELECT coalesce(max(seq), 0) + 1 AS s FROM training_runs').get() as { s: number }).s
    db.prepare(
      `INSERT INTO training_runs (id, seq, status, error, dataset_name, dataset_version, dataset_version_id, task, target,
         model_family, sweep_id, register_as, created_at, started_at, finished_at, record_json)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      record.id,
      seq,
      record.status,
      record.error,
      record.dataset.name,
      record.dataset.version,
      record.dataset.versionId,
      record.task,
      record.target,
      record.modelFamily,
      record.sweepId,
      record.registerAs,
      record.createdAt,
      record.startedAt,
      record.finishedAt,
      JSON.stringify(record),
    )
    appendAudit(db, { actor, action: 'run.queue', entityType: 'run', entityId: record.id, after: { dataset: record.dataset } })
  })()
}

/** Applies a change to a run's record, in one transaction; returns the new record. */
export function updateRun(db: Database.Database, runId: string, change: Partial<RunRecord>): RunRecord {
  return db.transaction(() => {
    const current = getRun(db, runId)
    const next = RunRecord.parse({ ...current, ...change, id: current.id })
    db.prepare(`UPDATE training_runs SET status = ?, error = ?, started_at = ?, finished_at = ?, record_json = ? WHERE id = ?`).run(
      next.status,
      next.error,
      next.startedAt,
      next.finishedAt,
      JSON.stringify(next),
      current.id,
    )
    return next
  })()
}

/** Runs whose worker died with the engine that owned them: they can never finish. */
export function failOrphanedRuns(db: Database.Database): string[] {
  const ids = (db.prepare(`SELECT id FROM training_runs WHERE status = 'running'`).all() as Array<{ id: string }>).map((r) => r.id)
  for (const id of ids) {
    updateRun(db, id, { status: 'failed', error: 'engine stopped', finishedAt: new Date().toISOString() })
  }
  return ids
}

export function appendMetricPoints(db: Database.Database, runId: string, step: number, values: Record<string, number>): void {
  const insert = db.prepare('INSERT OR REPLACE INTO training_metrics (run_id, name, step, value) VALUES (?, ?, ?, ?)')
  db.transaction(() => {
    for (const [name, value] of Object.entries(values)) if (Number.isFinite(value)) insert.run(runId, name, step, value)
  })()
}

/**
 * A run as the team server holds it (sync's pull): its record replaced when the run is here,
 * else inserted with its own id and the next local seq. The caller holds the transaction.
 */
export function storePulledRun(db: Database.Database, run: { id: string; status: RunStatus; record: Record<string, unknown> }): void {
  const rec = run.record as any
  const json = JSON.stringify(run.record)
  if (db.prepare('SELECT 1 FROM training_runs WHERE id = ?').get(run.id)) {
    db.prepare('UPDATE training_runs SET status = ?, error = ?, started_at = ?, finished_at = ?, record_json = ? WHERE id = ?').run(
      run.status,
      rec.error ?? null,
      rec.startedAt ?? null,
      rec.finishedAt ?? null,
      json,
      run.id,
    )
    return
  }
  const seq = db.prepare('SELECT coalesce(max(seq), 0) + 1 FROM training_runs').pluck().get() as number
  db.prepare(
    `INSERT INTO training_runs (id, seq, status, error, dataset_name, dataset_version, dataset_version_id, task, target,
       model_family, sweep_id, register_as, created_at, started_at, finished_at, record_json)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?)`,
  ).run(
    run.id,
    seq,
    run.status,
    rec.error ?? null,
    rec.dataset?.name ?? '',
    rec.dataset?.version ?? 0,
    rec.dataset?.versionId ?? '',
    rec.task ?? '',
    rec.target ?? '',
    rec.modelFamily ?? '',
    rec.registerAs ?? null,
    rec.createdAt ?? new Date().toISOString(),
    rec.startedAt ?? null,
    rec.finishedAt ?? null,
    json,
  )
}

/** Metric points pulled from the team server (one segment); a point already here is kept. The caller holds the transaction. */
export function storePulledMetricPoints(db: Database.Database, runId: string, name: string, points: ReadonlyArray<{ step: number; value: number }>): void {
  const insert = db.prepare('INSERT OR IGNORE INTO training_metrics (run_id, name, step, value) VALUES (?, ?, ?, ?)')
  for (const p of points) insert.run(runId, name, p.step, p.value)
}

export function getMetricSeries(db: Database.Database, runId: string): MetricSeries {
  const { id } = getRun(db, runId)
  const rows = db.prepare('SELECT name, step, value FROM training_metrics WHERE run_id = ? ORDER BY name, step').all(id) as Array<{
    name: string
    step: number
    value: number
  }>
  const series: MetricSeries = {}
  for (const r of rows) (series[r.name] ??= []).push({ step: r.step, value: r.value })
  return series
}

export interface SweepRow {
  id: string
  createdAt: string
  method: string
  metric: string
  spec: unknown
}

export function insertSweep(db: Database.Database, sweep: SweepRow): void {
  db.prepare('INSERT INTO training_sweeps (id, created_at, method, metric, spec_json) VALUES (?, ?, ?, ?, ?)').run(
    sweep.id,
    sweep.createdAt,
    sweep.method,
    sweep.metric,
    JSON.stringify(sweep.spec),
  )
}

export function getSweep(db: Database.Database, sweepId: string): SweepRow {
  const row = db.prepare('SELECT id, created_at, method, metric, spec_json FROM training_sweeps WHERE id = ?').get(sweepId) as
    { id: string; created_at: string; method: string; metric: string; spec_json: string } | undefined
  if (!row) throw new LatheError('not_found', `no sweep "${sweepId}" in this workspace`, { field: 'sweep' })
  return { id: row.id, createdAt: row.created_at, method: row.method, metric: row.metric, spec: JSON.parse(row.spec_json) }
}

/** Erases a run and its metric series; the schema's trigger refuses a run that a model version or a team refers to. */
export function deleteRunRows(db: Database.Database, runId: string): void {
  db.prepare('DELETE FROM training_metrics WHERE run_id = ?').run(runId)
  db.prepare('DELETE FROM training_run_legacy_ids WHERE run_id = ?').run(runId)
  db.prepare('DELETE FROM training_runs WHERE id = ?').run(runId)
}
