import type Database from 'better-sqlite3'
import type { Special } from './wire.js'

/** The only module that writes SQL for the MLflow capability (tables from migration 010). */

export interface ExperimentRow {
  experimentId: number
  name: string
  lifecycleStage: 'active' | 'deleted'
  creationTime: number
  lastUpdateTime: number
  tags: Record<string, string>
}

const experimentColumns = `experiment_id AS experimentId, name, lifecycle_stage AS lifecycleStage,
  creation_time AS creationTime, last_update_time AS lastUpdateTime, tags_json AS tags`

function withTags<T extends { tags: unknown }>(row: T | undefined): T | null {
  return row ? { ...row, tags: JSON.parse(row.tags as string) } : null
}

export function getExperiment(db: Database.Database, id: number): ExperimentRow | null {
  return withTags(db.prepare(`SELECT ${experimentColumns} FROM mlflow_experiments WHERE experiment_id = ?`).get(id) as ExperimentRow)
}

export function getExperimentByName(db: Database.Database, name: string): ExperimentRow | null {
  return withTags(db.prepare(`SELECT ${experimentColumns} FROM mlflow_experiments WHERE name = ?`).get(name) as ExperimentRow)
}

export function listExperiments(db: Database.Database): ExperimentRow[] {
  return (db.prepare(`SELECT ${experimentColumns} FROM mlflow_experiments ORDER BY experiment_id`).all() as ExperimentRow[]).map((r) => withTags(r)!)
}

export function insertExperiment(db: Database.Database, name: string, tags: Record<string, string>, now: number): number {
  const next = (db.prepare('SELECT coalesce(max(experiment_id), 0) + 1 AS n FROM mlflow_experiments').get() as { n: number }).n
  db.prepare('INSERT INTO mlflow_experiments (experiment_id, name, creation_time, last_update_time, tags_json) VALUES (?, ?, ?, ?, ?)').run(
    next,
    name,
    now,
    now,
    JSON.stringify(tags),
  )
  return next
}

export function updateExperiment(
  db: Database.Database,
  id: number,
  change: { name?: string; lifecycleStage?: 'active' | 'deleted'; tags?: Record<string, string> },
  now: number,
): void {
  const row = getExperiment(db, id)!
  db.prepare('UPDATE mlflow_experiments SET name = ?, lifecycle_stage = ?, tags_json = ?, last_update_time = ? WHERE experiment_id = ?').run(
    change.name ?? row.name,
    change.lifecycleStage ?? row.lifecycleStage,
    JSON.stringify(change.tags ?? row.tags),
    now,
    id,
  )
}

export interface RunRow {
  runId: string
  seq: number
  experimentId: number
  runName: string
  userId: string
  status: string
  startTime: number
  endTime: number | null
  lifecycleStage: 'active' | 'deleted'
  client: string
  sourceName: string | null
  sourceType: string | null
  inputs: unknown[]
  modelInputs: Array<{ model_id: string }>
  outputs: Array<{ model_id: string; step: number }>
}

const runColumns = `run_id AS runId, seq, experiment_id AS experimentId, run_name AS runName, user_id AS userId, status,
  start_time AS startTime, end_time AS endTime, lifecycle_stage AS lifecycleStage, client, source_name AS sourceName,
  source_type AS sourceType, inputs_json AS inputs, model_inputs_json AS modelInputs, outputs_json AS outputs`

function parseRun(row: Record<string, unknown> | undefined): RunRow | null {
  if (!row) return null
  return {
    ...(row as unknown as RunRow),
    inputs: JSON.parse(row.inputs as string),
    modelInputs: JSON.parse(row.modelInputs as string),
    outputs: JSON.parse(row.outputs as string),
  }
}

export function getRunRow(db: Database.Database, runId: string): RunRow | null {
  return parseRun(db.prepare(`SELECT ${runColumns} FROM mlflow_runs WHERE run_id = ?`).get(runId) as Record<string, unknown>)
}

/** Newest first. */
export function listRunRows(db: Database.Database, experimentIds: number[] | null, limit = 100_000): RunRow[] {
  const where = experimentIds ? `WHERE experiment_id IN (${experimentIds.map(() => '?').join(',') || 'NULL'})` : ''
  return (
    db.prepare(`SELECT ${runColumns} FROM mlflow_runs ${where} ORDER BY seq DESC LIMIT ?`).all(...(experimentIds ?? []), limit) as Array<
      Record<string, unknown>
    >
  ).map((r) => parseRun(r)!)
}

/** A run created from the same request bytes since `sinceMs`: the client's retry of a create whose answer it lost. */
export function findReplayedRun(db: Database.Database, requestSha256: string, sinceMs: number): string | null {
  const row = db
    .prepare('SELECT run_id FROM mlflow_runs WHERE request_sha256 = ? AND created_ms >= ? ORDER BY seq DESC LIMIT 1')
    .get(requestSha256, sinceMs) as { run_id: string } | undefined
  return row?.run_id ?? null
}

export function insertRunRow(
  db: Database.Database,
  run: Omit<RunRow, 'seq' | 'inputs' | 'modelInputs' | 'outputs'> & { requestSha256: string; createdMs: number },
): void {
  const seq = (db.prepare('SELECT coalesce(max(seq), 0) + 1 AS s FROM mlflow_runs').get() as { s: number }).s
  db.prepare(
    `INSERT INTO mlflow_runs (run_id, seq, experiment_id, run_name, user_id, status, start_time, end_time, lifecycle_stage, client,
       source_name, source_type, request_sha256, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    run.runId,
    seq,
    run.experimentId,
    run.runName,
    run.userId,
    run.status,
    run.startTime,
    run.endTime,
    run.lifecycleStage,
    run.client,
    run.sourceName,
    run.sourceType,
    run.requestSha256,
    run.createdMs,
  )
}

export function updateRunRow(
  db: Database.Database,
  runId: string,
  change: Partial<
    Pick<RunRow, 'runName' | 'status' | 'endTime' | 'lifecycleStage' | 'inputs' | 'modelInputs' | 'outputs' | 'sourceName' | 'sourceType' | 'userId'>
  >,
): void {
  const row = getRunRow(db, runId)!
  const next = { ...row, ...change }
  db.prepare(
    `UPDATE mlflow_runs SET run_name = ?, status = ?, end_time = ?, lifecycle_stage = ?, inputs_json = ?, model_inputs_json = ?,
       outputs_json = ?, source_name = ?, source_type = ?, user_id = ? WHERE run_id = ?`,
  ).run(
    next.runName,
    next.status,
    next.endTime,
    next.lifecycleStage,
    JSON.stringify(next.inputs),
    JSON.stringify(next.modelInputs),
    JSON.stringify(next.outputs),
    next.sourceName,
    next.sourceType,
    next.userId,
    runId,
  )
}

export function getParams(db: Database.Database, runId: string): Record<string, string> {
  const rows = db.prepare('SELECT key, value FROM mlflow_run_params WHERE run_id = ? ORDER BY key').all(runId) as Array<{ key: string; value: string }>
  return Object.fromEntries(rows.map((r) => [r.key, r.value]))
}

export function getParam(db: Database.Database, runId: string, key: string): string | null {
  const row = db.prepare('SELECT value FROM mlflow_run_params WHERE run_id = ? AND key = ?').get(runId, key) as { value: string } | undefined
  return row?.value ?? null
}

export function insertParam(db: Database.Database, runId: string, key: string, value: string): void {
  db.prepare('INSERT OR IGNORE INTO mlflow_run_params (run_id, key, value) VALUES (?, ?, ?)').run(runId, key, value)
}

export function getTags(db: Database.Database, runId: string): Record<string, string> {
  const rows = db.prepare('SELECT key, value FROM mlflow_run_tags WHERE run_id = ? ORDER BY rowid').all(runId) as Array<{ key: string; value: string }>
  return Object.fromEntries(rows.map((r) => [r.key, r.value]))
}

export function setTag(db: Database.Database, runId: string, key: string, value: string): void {
  db.prepare('INSERT INTO mlflow_run_tags (run_id, key, value) VALUES (?, ?, ?) ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value').run(
    runId,
    key,
    value,
  )
}

export function deleteTag(db: Database.Database, runId: string, key: string): boolean {
  return db.prepare('DELETE FROM mlflow_run_tags WHERE run_id = ? AND key = ?').run(runId, key).changes > 0
}

export interface MetricRow {
  key: string
  value: number
  special: Special
  timestamp: number
  step: number
  modelId: string
  datasetName: string
  datasetDigest: string
}

export function insertMetrics(db: Database.Database, runId: string, metrics: MetricRow[]): void {
  const insert = db.prepare(
    `INSERT OR IGNORE INTO mlflow_run_metrics (run_id, key, step, timestamp, value, special, model_id, dataset_name, dataset_digest)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  )
  for (const m of metrics) insert.run(runId, m.key, m.step, m.timestamp, m.value, m.special, m.modelId, m.datasetName, m.datasetDigest)
}

const metricColumns = `key, value, special, timestamp, step, model_id AS modelId, dataset_name AS datasetName, dataset_digest AS datasetDigest`

/** The latest point of each metric, as MLflow's run data shows it: the highest step, then the latest timestamp. */
export function latestMetrics(db: Database.Database, runId: string): MetricRow[] {
  return db
    .prepare(
      `SELECT ${metricColumns} FROM (
         SELECT *, row_number() OVER (PARTITION BY key ORDER BY step DESC, timestamp DESC, special = 'NaN', value DESC) AS n
         FROM mlflow_run_metrics WHERE run_id = ?) WHERE n = 1 ORDER BY key`,
    )
    .all(runId) as MetricRow[]
}

export function metricHistory(db: Database.Database, runId: string, key: string, offset: number, limit: number): MetricRow[] {
  return db
    .prepare(`SELECT ${metricColumns} FROM mlflow_run_metrics WHERE run_id = ? AND key = ? ORDER BY step, timestamp, id LIMIT ? OFFSET ?`)
    .all(runId, key, limit, offset) as MetricRow[]
}

export function metricKeys(db: Database.Database, runId: string): string[] {
  return db.prepare('SELECT DISTINCT key FROM mlflow_run_metrics WHERE run_id = ? ORDER BY key').pluck().all(runId) as string[]
}

export interface ArtifactRow {
  path: string
  sha256: string
  size: number
  contentType: string
}

export function putArtifact(db: Database.Database, row: ArtifactRow, now: string): void {
  db.prepare(
    `INSERT INTO mlflow_artifacts (path, sha256, size, content_type, updated_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (path) DO UPDATE SET sha256 = excluded.sha256, size = excluded.size, content_type = excluded.content_type, updated_at = excluded.updated_at`,
  ).run(row.path, row.sha256, row.size, row.contentType, now)
}

export function getArtifact(db: Database.Database, path: string): ArtifactRow | null {
  return (db.prepare('SELECT path, sha256, size, content_type AS contentType FROM mlflow_artifacts WHERE path = ?').get(path) as ArtifactRow) ?? null
}

/** Every file under a folder (`prefix` without the trailing slash; '' for the whole store). */
export function artifactsUnder(db: Database.Database, prefix: string): ArtifactRow[] {
  const start = prefix ? `${prefix}/` : ''
  // '/' + 1 is '0': every path that starts with "prefix/" sorts between the two.
  const end = prefix ? `${prefix}0` : '\uffff'
  return db
    .prepare('SELECT path, sha256, size, content_type AS contentType FROM mlflow_artifacts WHERE path >= ? AND path < ? ORDER BY path')
    .all(start, end) as ArtifactRow[]
}

export function deleteArtifact(db: Database.Database, path: string): number {
  return db.prepare('DELETE FROM mlflow_artifacts WHERE path = ? OR (path >= ? AND path < ?)').run(path, `${path}/`, `${path}0`).changes
}

export interface LoggedModelRow {
  modelId: string
  experimentId: number
  name: string
  modelType: string | null
  sourceRunId: string | null
  status: string
  statusMessage: string | null
  creatorId: string | null
  creationMs: number
  lastUpdatedMs: number
  params: Record<string, string>
  tags: Record<string, string>
}

const loggedModelColumns = `model_id AS modelId, experiment_id AS experimentId, name, model_type AS modelType, source_run_id AS sourceRunId,
  status, status_message AS statusMessage, creator_id AS creatorId, creation_ms AS creationMs, last_updated_ms AS lastUpdatedMs,
  params_json AS params, tags_json AS tags`

function parseLoggedModel(row: Record<string, unknown> | undefined): LoggedModelRow | null {
  if (!row) return null
  return { ...(row as unknown as LoggedModelRow), params: JSON.parse(row.params as string), tags: JSON.parse(row.tags as string) }
}

export function getLoggedModel(db: Database.Database, modelId: string): LoggedModelRow | null {
  return parseLoggedModel(
    db.prepare(`SELECT ${loggedModelColumns} FROM mlflow_logged_models WHERE model_id = ? AND deleted = 0`).get(modelId) as Record<string, unknown>,
  )
}

export function listLoggedModels(db: Database.Database, experimentIds: number[]): LoggedModelRow[] {
  return (
    db
      .prepare(
        `SELECT ${loggedModelColumns} FROM mlflow_logged_models WHERE deleted = 0 AND experiment_id IN (${experimentIds.map(() => '?').join(',') || 'NULL'})
       ORDER BY creation_ms DESC, rowid DESC`,
      )
      .all(...experimentIds) as Array<Record<string, unknown>>
  ).map((r) => parseLoggedModel(r)!)
}

export function insertLoggedModel(db: Database.Database, m: LoggedModelRow): void {
  db.prepare(
    `INSERT INTO mlflow_logged_models (model_id, experiment_id, name, model_type, source_run_id, status, status_message, creator_id,
       creation_ms, last_updated_ms, params_json, tags_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    m.modelId,
    m.experimentId,
    m.name,
    m.modelType,
    m.sourceRunId,
    m.status,
    m.statusMessage,
    m.creatorId,
    m.creationMs,
    m.lastUpdatedMs,
    JSON.stringify(m.params),
    JSON.stringify(m.tags),
  )
}

export function updateLoggedModel(db: Database.Database, m: LoggedModelRow): void {
  db.prepare(`UPDATE mlflow_logged_models SET status = ?, status_message = ?, last_updated_ms = ?, params_json = ?, tags_json = ? WHERE model_id = ?`).run(
    m.status,
    m.statusMessage,
    m.lastUpdatedMs,
    JSON.stringify(m.params),
    JSON.stringify(m.tags),
    m.modelId,
  )
}

export function deleteLoggedModel(db: Database.Database, modelId: string): void {
  db.prepare('UPDATE mlflow_logged_models SET deleted = 1 WHERE model_id = ?').run(modelId)
}

export interface RegisteredModelRow {
  name: string
  description: string
  tags: Record<string, string>
  userId: string | null
  creationMs: number
  lastUpdatedMs: number
}

const registeredColumns = `name, description, tags_json AS tags, user_id AS userId, creation_ms AS creationMs, last_updated_ms AS lastUpdatedMs`

export function getRegisteredModel(db: Database.Database, name: string): RegisteredModelRow | null {
  return withTags(db.prepare(`SELECT ${registeredColumns} FROM mlflow_registered_models WHERE name = ?`).get(name) as RegisteredModelRow)
}

export function listRegisteredModels(db: Database.Database): RegisteredModelRow[] {
  return (db.prepare(`SELECT ${registeredColumns} FROM mlflow_registered_models ORDER BY name`).all() as RegisteredModelRow[]).map((r) => withTags(r)!)
}

export function insertRegisteredModel(db: Database.Database, m: RegisteredModelRow): void {
  db.prepare('INSERT INTO mlflow_registered_models (name, description, tags_json, user_id, creation_ms, last_updated_ms) VALUES (?, ?, ?, ?, ?, ?)').run(
    m.name,
    m.description,
    JSON.stringify(m.tags),
    m.userId,
    m.creationMs,
    m.lastUpdatedMs,
  )
}

export function updateRegisteredModel(db: Database.Database, name: string, m: RegisteredModelRow): void {
  db.prepare('UPDATE mlflow_registered_models SET name = ?, description = ?, tags_json = ?, last_updated_ms = ? WHERE name = ?').run(
    m.name,
    m.description,
    JSON.stringify(m.tags),
    m.lastUpdatedMs,
    name,
  )
}

export function deleteRegisteredModel(db: Database.Database, name: string): void {
  db.prepare('DELETE FROM mlflow_model_aliases WHERE name = ?').run(name)
  db.prepare('DELETE FROM mlflow_model_versions WHERE name = ?').run(name)
  db.prepare('DELETE FROM mlflow_registered_models WHERE name = ?').run(name)
}

export interface ModelVersionRow {
  name: string
  version: number
  source: string
  storagePath: string
  runId: string | null
  modelId: string | null
  userId: string | null
  description: string
  tags: Record<string, string>
  currentStage: 'None' | 'Staging' | 'Production' | 'Archived'
  runLink: string | null
  latheVersion: number | null
  notServable: string | null
  creationMs: number
  lastUpdatedMs: number
}

const versionColumns = `name, version, source, storage_path AS storagePath, run_id AS runId, model_id AS modelId, user_id AS userId,
  description, tags_json AS tags, current_stage AS currentStage, run_link AS runLink, lathe_version AS latheVersion,
  not_servable AS notServable, creation_ms AS creationMs, last_updated_ms AS lastUpdatedMs`

export function getModelVersion(db: Database.Database, name: string, version: number): ModelVersionRow | null {
  return withTags(
    db.prepare(`SELECT ${versionColumns} FROM mlflow_model_versions WHERE name = ? AND version = ? AND deleted = 0`).get(name, version) as ModelVersionRow,
  )
}

export function listModelVersions(db: Database.Database, name?: string): ModelVersionRow[] {
  const rows = name
    ? db.prepare(`SELECT ${versionColumns} FROM mlflow_model_versions WHERE name = ? AND deleted = 0 ORDER BY version`).all(name)
    : db.prepare(`SELECT ${versionColumns} FROM mlflow_model_versions WHERE deleted = 0 ORDER BY name, version`).all()
  return (rows as ModelVersionRow[]).map((r) => withTags(r)!)
}

export function nextModelVersion(db: Database.Database, name: string): number {
  return (db.prepare('SELECT coalesce(max(version), 0) + 1 AS n FROM mlflow_model_versions WHERE name = ?').get(name) as { n: number }).n
}

export function insertModelVersion(db: Database.Database, v: ModelVersionRow, requestSha256: string): void {
  db.prepare(
    `INSERT INTO mlflow_model_versions (name, version, source, storage_path, run_id, model_id, user_id, description, tags_json, current_stage,
       run_link, lathe_version, not_servable, request_sha256, creation_ms, last_updated_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    v.name,
    v.version,
    v.source,
    v.storagePath,
    v.runId,
    v.modelId,
    v.userId,
    v.description,
    JSON.stringify(v.tags),
    v.currentStage,
    v.runLink,
    v.latheVersion,
    v.notServable,
    requestSha256,
    v.creationMs,
    v.lastUpdatedMs,
  )
}

/** The version a model-versions/create with these request bytes made since `sinceMs` (the client's retry). */
export function findReplayedModelVersion(db: Database.Database, requestSha256: string, sinceMs: number): ModelVersionRow | null {
  const row = db
    .prepare('SELECT name, version FROM mlflow_model_versions WHERE request_sha256 = ? AND creation_ms >= ? AND deleted = 0 ORDER BY creation_ms DESC LIMIT 1')
    .get(requestSha256, sinceMs) as { name: string; version: number } | undefined
  return row ? getModelVersion(db, row.name, row.version) : null
}

export function updateModelVersion(db: Database.Database, v: ModelVersionRow): void {
  db.prepare(`UPDATE mlflow_model_versions SET description = ?, tags_json = ?, current_stage = ?, last_updated_ms = ? WHERE name = ? AND version = ?`).run(
    v.description,
    JSON.stringify(v.tags),
    v.currentStage,
    v.lastUpdatedMs,
    v.name,
    v.version,
  )
}

export function deleteModelVersion(db: Database.Database, name: string, version: number): void {
  db.prepare('DELETE FROM mlflow_model_aliases WHERE name = ? AND version = ?').run(name, version)
  db.prepare('UPDATE mlflow_model_versions SET deleted = 1 WHERE name = ? AND version = ?').run(name, version)
}

export function aliasesOf(db: Database.Database, name: string): Array<{ alias: string; version: number }> {
  return db.prepare('SELECT alias, version FROM mlflow_model_aliases WHERE name = ? ORDER BY alias').all(name) as Array<{ alias: string; version: number }>
}

export function setModelAlias(db: Database.Database, name: string, alias: string, version: number): void {
  db.prepare('INSERT INTO mlflow_model_aliases (name, alias, version) VALUES (?, ?, ?) ON CONFLICT (name, alias) DO UPDATE SET version = excluded.version').run(
    name,
    alias,
    version,
  )
}

export function deleteModelAlias(db: Database.Database, name: string, alias: string): void {
  db.prepare('DELETE FROM mlflow_model_aliases WHERE name = ? AND alias = ?').run(name, alias)
}
