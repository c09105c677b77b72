import type Database from 'better-sqlite3'
import { uuidv7 } from '../workspace/index.js'
import type { ModelSignature } from '../api/common/signature.js'
import { GateConfig, type AliasMove, type AliasState, type Metrics, type ModelVersion } from './types.js'

/**
 * Every SQL statement against the registry's tables. Callers own the transactions:
 * a change and its audit entry commit together.
 */

export interface ModelRow {
  id: string
  name: string
  description: string
  tags: Record<string, string>
  createdAt: string
  createdBy: string
  archivedAt?: string
}

export interface NewVersion {
  id: string
  modelId: string
  version: number
  onnxSha256: string
  signature: ModelSignature
  preprocessing: unknown
  metrics: Metrics
  params: Record<string, unknown> | null
  runId: string | null
  dataset: { name: string; version: number; versionId: string } | null
  split: unknown
  source: 'run' | 'import' | 'package'
  metadata: Record<string, string>
  description: string
  tags: Record<string, string>
  intendedUse: string
  cardMd: string | null
  createdAt: string
  createdBy: string
}

export type VersionRow = Omit<ModelVersion, 'aliases'> & { modelId: string; cardMd: string | null }

const json = (value: unknown) => (value === undefined || value === null ? null : JSON.stringify(value))
const parse = <T>(text: string | null): T | null => (text === null ? null : (JSON.parse(text) as T))

function toModel(r: any): ModelRow {
  return {
    id: r.id,
    name: r.name,
    description: r.description,
    tags: JSON.parse(r.tags_json),
    createdAt: r.created_at,
    createdBy: r.created_by,
    ...(r.archived_at ? { archivedAt: r.archived_at } : {}),
  }
}

const versionColumns = `v.*, m.name AS model_name`

function toVersion(r: any): VersionRow {
  return {
    model: r.model_name,
    modelId: r.model_id,
    version: r.version,
    versionId: r.id,
    onnxSha256: r.onnx_sha256,
    signature: JSON.parse(r.signature_json),
    preprocessing: parse(r.preprocessing_json),
    metrics: JSON.parse(r.metrics_json),
    params: parse(r.params_json),
    runId: r.run_id,
    dataset: parse(r.dataset_json),
    split: parse(r.split_json),
    source: r.source,
    metadata: JSON.parse(r.metadata_json),
    description: r.description,
    tags: JSON.parse(r.tags_json),
    intendedUse: r.intended_use,
    cardMd: r.card_md,
    createdAt: r.created_at,
    createdBy: r.created_by,
    ...(r.archived_at ? { archivedAt: r.archived_at } : {}),
  }
}

export function getModel(db: Database.Database, name: string): ModelRow | null {
  const row = db.prepare('SELECT * FROM registry_models WHERE name = ?').get(name)
  return row ? toModel(row) : null
}

export function listModels(db: Database.Database): ModelRow[] {
  return db.prepare('SELECT * FROM registry_models ORDER BY name').all().map(toModel)
}

export function insertModel(db: Database.Database, model: ModelRow): void {
  db.prepare(`INSERT INTO registry_models (id, name, description, tags_json, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?)`).run(
    model.id,
    model.name,
    model.description,
    JSON.stringify(model.tags),
    model.createdAt,
    model.createdBy,
  )
}

export function updateModel(db: Database.Database, id: string, patch: { description?: string; tags?: Record<string, string> }): void {
  if (patch.description !== undefined) db.prepare('UPDATE registry_models SET description = ? WHERE id = ?').run(patch.description, id)
  if (patch.tags !== undefined) db.prepare('UPDATE registry_models SET tags_json = ? WHERE id = ?').run(JSON.stringify(patch.tags), id)
}

export function nextVersionNumber(db: Database.Database, modelId: string): number {
  const row = db.prepare('SELECT MAX(version) AS v FROM registry_versions WHERE model_id = ?').get(modelId) as { v: number | null }
  return (row.v ?? 0) + 1
}

export function insertVersion(db: Database.Database, v: NewVersion): void {
  db.prepare(
    `INSERT INTO registry_versions (id, model_id, version, onnx_sha256, signature_json, preprocessing_json, metrics_json,
       params_json, run_id, dataset_version_id, dataset_json, split_json, source, metadata_json, description, tags_json,
       intended_use, card_md, created_at, created_by)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    v.id,
    v.modelId,
    v.version,
    v.onnxSha256,
    JSON.stringify(v.signature),
    json(v.preprocessing),
    JSON.stringify(v.metrics),
    json(v.params),
    v.runId,
    v.dataset?.versionId ?? null,
    json(v.dataset),
    json(v.split),
    v.source,
    JSON.stringify(v.metadata),
    v.description,
    JSON.stringify(v.tags),
    v.intendedUse,
    v.cardMd,
    v.createdAt,
    v.createdBy,
  )
}

/** By display number, else by the number this workspace gave it before a sync renumbered it. */
export function getVersion(db: Database.Database, modelId: string, version: number): VersionRow | null {
  const row = db
    .prepare(
      `SELECT ${versionColumns} FROM registry_versions v JOIN registry_models m ON m.id = v.model_id
       WHERE v.model_id = ? AND (v.version = ? OR v.local_version = ?) ORDER BY v.version = ? DESC LIMIT 1`,
    )
    .get(modelId, version, version, version)
  return row ? toVersion(row) : null
}

export function getVersionById(db: Database.Database, versionId: string): VersionRow | null {
  const row = db.prepare(`SELECT ${versionColumns} FROM registry_versions v JOIN registry_models m ON m.id = v.model_id WHERE v.id = ?`).get(versionId)
  return row ? toVersion(row) : null
}

export function listVersions(db: Database.Database, modelId: string): VersionRow[] {
  return db
    .prepare(`SELECT ${versionColumns} FROM registry_versions v JOIN registry_models m ON m.id = v.model_id WHERE v.model_id = ? ORDER BY v.version`)
    .all(modelId)
    .map(toVersion)
}

export function versionsByRun(db: Database.Database, runId: string): VersionRow[] {
  return db
    .prepare(`SELECT ${versionColumns} FROM registry_versions v JOIN registry_models m ON m.id = v.model_id WHERE v.run_id = ? ORDER BY m.name, v.version`)
    .all(runId)
    .map(toVersion)
}

export function versionsByDatasetVersion(db: Database.Database, datasetVersionId: string): VersionRow[] {
  return db
    .prepare(
      `SELECT ${versionColumns} FROM registry_versions v JOIN registry_models m ON m.id = v.model_id
       WHERE v.dataset_version_id = ? ORDER BY m.name, v.version`,
    )
    .all(datasetVersionId)
    .map(toVersion)
}

export function updateVersionText(
  db: Database.Database,
  versionId: string,
  patch: { description?: string; tags?: Record<string, string>; intendedUse?: string; cardMd?: string | null },
): void {
  if (patch.description !== undefined) db.prepare('UPDATE registry_versions SET description = ? WHERE id = ?').run(patch.description, versionId)
  if (patch.tags !== undefined) db.prepare('UPDATE registry_versions SET tags_json = ? WHERE id = ?').run(JSON.stringify(patch.tags), versionId)
  if (patch.intendedUse !== undefined) db.prepare('UPDATE registry_versions SET intended_use = ? WHERE id = ?').run(patch.intendedUse, versionId)
  if (patch.cardMd !== undefined) db.prepare('UPDATE registry_versions SET card_md = ? WHERE id = ?').run(patch.cardMd, versionId)
}

export function listAliases(db: Database.Database, modelId: string): AliasState[] {
  return db
    .prepare(
      `SELECT a.alias, a.version_id, a.since, v.version FROM registry_aliases a JOIN registry_versions v ON v.id = a.version_id
       WHERE a.model_id = ? ORDER BY a.alias`,
    )
    .all(modelId)
    .map((r: any) => ({ alias: r.alias, version: r.version, versionId: r.version_id, since: r.since }))
}

export function getAlias(db: Database.Database, modelId: string, alias: string): AliasState | null {
  return listAliases(db, modelId).find((a) => a.alias === alias) ?? null
}

export function aliasesOfVersion(db: Database.Database, versionId: string): string[] {
  return (db.prepare('SELECT alias FROM registry_aliases WHERE version_id = ? ORDER BY alias').all(versionId) as Array<{ alias: string }>).map((r) => r.alias)
}

export function setAlias(db: Database.Database, modelId: string, alias: string, versionId: string, since: string): void {
  db.prepare(
    `INSERT INTO registry_aliases (model_id, alias, version_id, since) VALUES (?, ?, ?, ?)
     ON CONFLICT (model_id, alias) DO UPDATE SET version_id = excluded.version_id, since = excluded.since`,
  ).run(modelId, alias, versionId, since)
}

export function appendAliasMove(
  db: Database.Database,
  move: {
    modelId: string
    alias: string
    versionId: string
    previousVersionId: string | null
    kind: 'promote' | 'rollback'
    forced: boolean
    gate: unknown
    reason: string | null
    cause: string | null
    time: string
    actor: string
  },
): number {
  const info = db
    .prepare(
      `INSERT INTO registry_alias_history (uid, model_id, alias, version_id, previous_version_id, kind, forced, gate_json, reason, cause, time, actor)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(
      uuidv7(),
      move.modelId,
      move.alias,
      move.versionId,
      move.previousVersionId,
      move.kind,
      move.forced ? 1 : 0,
      json(move.gate),
      move.reason,
      move.cause,
      move.time,
      move.actor,
    )
  return Number(info.lastInsertRowid)
}

export function listAliasMoves(db: Database.Database, modelId: string, alias?: string): AliasMove[] {
  return db
    .prepare(
      `SELECT h.*, v.version AS version, p.version AS previous FROM registry_alias_history h
       JOIN registry_versions v ON v.id = h.version_id LEFT JOIN registry_versions p ON p.id = h.previous_version_id
       WHERE h.model_id = @modelId AND (@alias IS NULL OR h.alias = @alias) ORDER BY h.id`,
    )
    .all({ modelId, alias: alias ?? null })
    .map((r: any) => ({
      id: r.id,
      alias: r.alias,
      version: r.version,
      previous: r.previous ?? null,
      kind: r.kind,
      forced: r.forced === 1,
      reason: r.reason,
      cause: r.cause,
      time: r.time,
      actor: r.actor,
    }))
}

export function getGate(db: Database.Database, modelId: string, alias: string): GateConfig | null {
  const row = db.prepare('SELECT config_json FROM registry_gates WHERE model_id = ? AND alias = ?').get(modelId, alias) as { config_json: string } | undefined
  return row ? GateConfig.parse(JSON.parse(row.config_json)) : null
}

export function setGate(db: Database.Database, modelId: string, alias: string, config: GateConfig, now: string): void {
  db.prepare(
    `INSERT INTO registry_gates (model_id, alias, config_json, updated_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (model_id, alias) DO UPDATE SET config_json = excluded.config_json, updated_at = excluded.updated_at`,
  ).run(modelId, alias, JSON.stringify(config), now)
}

export function listGates(db: Database.Database, modelId: string): Record<string, GateConfig> {
  const rows = db.prepare('SELECT alias, config_json FROM registry_gates WHERE model_id = ? ORDER BY alias').all(modelId) as Array<{
    alias: string
    config_json: string
  }>
  return Object.fromEntries(rows.map((r) => [r.alias, GateConfig.parse(JSON.parse(r.config_json))]))
}

/** Marks a version archived (kept for lineage, left out of new promotions); `null` restores it. */
export function setVersionArchived(db: Database.Database, versionId: string, at: string | null): void {
  db.prepare('UPDATE registry_versions SET archived_at = ? WHERE id = ?').run(at, versionId)
}

export function setModelArchived(db: Database.Database, modelId: string, at: string | null): void {
  db.prepare('UPDATE registry_models SET archived_at = ? WHERE id = ?').run(at, modelId)
  db.prepare('UPDATE registry_versions SET archived_at = coalesce(archived_at, ?) WHERE model_id = ?').run(at, modelId)
}

export function archivedAtOfVersion(db: Database.Database, versionId: string): string | null {
  return (db.prepare('SELECT archived_at FROM registry_versions WHERE id = ?').pluck().get(versionId) as string | null | undefined) ?? null
}

export function archivedAtOfModel(db: Database.Database, modelId: string): string | null {
  return (db.prepare('SELECT archived_at FROM registry_models WHERE id = ?').pluck().get(modelId) as string | null | undefined) ?? null
}

export function countAliasMovesOfVersion(db: Database.Database, versionId: string): number {
  return db.prepare('SELECT count(*) FROM registry_alias_history WHERE version_id = ? OR previous_version_id = ?').pluck().get(versionId, versionId) as number
}

/** Deletes a version row; the schema's trigger refuses one that lineage or a team refers to. */
export function deleteVersionRow(db: Database.Database, versionId: string): void {
  db.prepare('DELETE FROM registry_versions WHERE id = ?').run(versionId)
}

/** Deletes a model with no versions left, and its gates. */
export function deleteModelRow(db: Database.Database, modelId: string): void {
  db.prepare('DELETE FROM registry_gates WHERE model_id = ?').run(modelId)
  db.prepare('DELETE FROM registry_models WHERE id = ?').run(modelId)
}

/** Un-archives a model and the versions archived with it (same time); versions archived on their own stay so. */
export function restoreModelRow(db: Database.Database, modelId: string): void {
  const at = archivedAtOfModel(db, modelId)
  db.prepare('UPDATE registry_versions SET archived_at = NULL WHERE model_id = ? AND archived_at = ?').run(modelId, at)
  db.prepare('UPDATE registry_models SET archived_at = NULL WHERE id = ?').run(modelId)
}
