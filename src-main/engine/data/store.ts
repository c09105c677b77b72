import type Database from 'better-sqlite3'
import { appendAudit, uuidv7 } from '../workspace/index.js'

/**
 * Every query the data capability makes against lathe.db. Nothing else in data/
 * writes SQL for SQLite; DuckDB work lives in the other modules.
 */

export interface ColumnInfo {
  name: string
  type: string
}

export interface ValidationRecord {
  status: 'passed' | 'failed' | 'none'
  results: unknown[]
}

export interface DatasetRecord {
  id: string
  name: string
  createdAt: string
  rules: unknown[]
  /** Set when the dataset is archived: hidden from lists, its versions still readable. */
  archivedAt: string | null
}

export interface VersionRecord {
  id: string
  datasetId: string
  name: string
  version: number
  objectSha256: string
  bytes: number
  origin: 'file' | 'transform'
  sourceName: string
  sourceSha256: string
  optionsKey: string
  options: unknown
  rows: number
  columns: ColumnInfo[]
  validation: ValidationRecord
  createdAt: string
  parents: string[]
  archivedAt: string | null
}

export interface SplitRecord {
  id: string
  versionId: string
  name: string
  spec: unknown
  counts: Record<string, number>
  createdAt: string
}

const VERSION_COLUMNS = `v.id, v.dataset_id, d.name, v.version, v.object_sha256, v.bytes, v.origin, v.source_name,
  v.source_sha256, v.options_key, v.options_json, v.rows, v.columns_json, v.validation_status, v.validation_json, v.created_at, v.archived_at`

function toDataset(row: any): DatasetRecord {
  return { id: row.id, name: row.name, createdAt: row.created_at, rules: JSON.parse(row.rules_json), archivedAt: row.archived_at ?? null }
}

function toVersion(db: Database.Database, row: any): VersionRecord {
  const parents = db.prepare('SELECT parent_version_id FROM dataset_lineage WHERE child_version_id = ? ORDER BY rowid').pluck().all(row.id) as string[]
  return {
    id: row.id,
    datasetId: row.dataset_id,
    name: row.name,
    version: row.version,
    objectSha256: row.object_sha256,
    bytes: row.bytes,
    origin: row.origin,
    sourceName: row.source_name,
    sourceSha256: row.source_sha256,
    optionsKey: row.options_key,
    options: JSON.parse(row.options_json),
    rows: row.rows,
    columns: JSON.parse(row.columns_json),
    validation: {
      status: row.validation_status,
      results: row.validation_json ? JSON.parse(row.validation_json) : [],
    },
    createdAt: row.created_at,
    parents,
    archivedAt: row.archived_at ?? null,
  }
}

export function findDataset(db: Database.Database, name: string): DatasetRecord | null {
  const row = db.prepare('SELECT * FROM datasets WHERE name = ?').get(name)
  return row ? toDataset(row) : null
}

/** Versions counts only those not archived; `archived` counts the others. */
export function listDatasets(
  db: Database.Database,
  { includeArchived = false } = {},
): Array<DatasetRecord & { versions: number; archived: number; latest: VersionRecord | null }> {
  const rows = db.prepare(`SELECT * FROM datasets ${includeArchived ? '' : 'WHERE archived_at IS NULL'} ORDER BY name`).all()
  const count = db.prepare(
    'SELECT count(*) FILTER (WHERE archived_at IS NULL) AS live, count(*) FILTER (WHERE archived_at IS NOT NULL) AS archived FROM dataset_versions WHERE dataset_id = ?',
  )
  return rows.map((row: any) => {
    const { live, archived } = count.get(row.id) as { live: number; archived: number }
    return { ...toDataset(row), versions: live, archived, latest: latestVersion(db, row.id) }
  })
}

/** The newest version not archived (the newest archived one when all are). */
export function latestVersion(db: Database.Database, datasetId: string): VersionRecord | null {
  const row = db
    .prepare(
      `SELECT ${VERSION_COLUMNS} FROM dataset_versions v JOIN datasets d ON d.id = v.dataset_id
              WHERE v.dataset_id = ? ORDER BY v.archived_at IS NULL DESC, v.version DESC LIMIT 1`,
    )
    .get(datasetId)
  return row ? toVersion(db, row) : null
}

/** By display number, else by the number this workspace gave it before a sync renumbered it. */
export function getVersion(db: Database.Database, datasetId: string, version: number): VersionRecord | null {
  const row = db
    .prepare(
      `SELECT ${VERSION_COLUMNS} FROM dataset_versions v JOIN datasets d ON d.id = v.dataset_id
              WHERE v.dataset_id = ? AND (v.version = ? OR v.local_version = ?) ORDER BY v.version = ? DESC LIMIT 1`,
    )
    .get(datasetId, version, version, version)
  return row ? toVersion(db, row) : null
}

export function getVersionById(db: Database.Database, versionId: string): VersionRecord | null {
  const row = db.prepare(`SELECT ${VERSION_COLUMNS} FROM dataset_versions v JOIN datasets d ON d.id = v.dataset_id WHERE v.id = ?`).get(versionId)
  return row ? toVersion(db, row) : null
}

export function listVersions(db: Database.Database, datasetId: string): VersionRecord[] {
  return db
    .prepare(
      `SELECT ${VERSION_COLUMNS} FROM dataset_versions v JOIN datasets d ON d.id = v.dataset_id
              WHERE v.dataset_id = ? ORDER BY v.version`,
    )
    .all(datasetId)
    .map((row) => toVersion(db, row))
}

/** The version an identical import (same bytes, same options) already made, if any. */
export function findVersionBySource(db: Database.Database, datasetName: string, sourceSha256: string, optionsKey: string): VersionRecord | null {
  const row = db
    .prepare(
      `SELECT ${VERSION_COLUMNS} FROM dataset_versions v JOIN datasets d ON d.id = v.dataset_id
              WHERE d.name = ? AND v.source_sha256 = ? AND v.options_key = ? ORDER BY v.version LIMIT 1`,
    )
    .get(datasetName, sourceSha256, optionsKey)
  return row ? toVersion(db, row) : null
}

/** A version before it is stored: the store gives it its id, number and time. */
export interface NewVersion extends Omit<VersionRecord, 'id' | 'datasetId' | 'name' | 'version' | 'createdAt' | 'archivedAt'> {
  datasetName: string
  parents: string[]
}

/**
 * Adds the next version of a dataset (creating the dataset on its first version),
 * its lineage and the audit entry, in one transaction. When an identical import
 * won a race, returns that version with `created: false`.
 */
export function insertVersion(db: Database.Database, actor: string, v: NewVersion): { record: VersionRecord; created: boolean } {
  return db
    .transaction(() => {
      const existing = findVersionBySource(db, v.datasetName, v.sourceSha256, v.optionsKey)
      if (existing) return { record: existing, created: false }
      const now = new Date().toISOString()
      let dataset = findDataset(db, v.datasetName)
      if (!dataset) {
        const id = uuidv7()
        db.prepare('INSERT INTO datasets (id, name, created_at) VALUES (?, ?, ?)').run(id, v.datasetName, now)
        appendAudit(db, { actor, action: 'dataset.create', entityType: 'dataset', entityId: id, after: { name: v.datasetName } })
        dataset = findDataset(db, v.datasetName)!
      }
      const next = ((db.prepare('SELECT max(version) FROM dataset_versions WHERE dataset_id = ?').pluck().get(dataset.id) as number | null) ?? 0) + 1
      const id = uuidv7()
      db.prepare(
        `INSERT INTO dataset_versions (id, dataset_id, version, object_sha256, bytes, origin, source_name, source_sha256,
           options_key, options_json, rows, columns_json, validation_status, validation_json, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        id,
        dataset.id,
        next,
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
        now,
      )
      const link = db.prepare('INSERT OR IGNORE INTO dataset_lineage (child_version_id, parent_version_id) VALUES (?, ?)')
      for (const parent of v.parents) link.run(id, parent)
      appendAudit(db, {
        actor,
        action: v.origin === 'file' ? 'dataset.import' : 'dataset.transform',
        entityType: 'dataset_version',
        entityId: id,
        after: { dataset: v.datasetName, version: next, object: v.objectSha256, rows: v.rows, parents: v.parents },
      })
      return { record: getVersionById(db, id)!, created: true }
    })
    .immediate()
}

/** Is this object still referenced by some version? (To clean up after a failed insert.) */
export function objectInUse(db: Database.Database, sha256: string): boolean {
  return db.prepare('SELECT 1 FROM dataset_versions WHERE object_sha256 = ? LIMIT 1').get(sha256) !== undefined
}

export function setRules(db: Database.Database, actor: string, datasetId: string, rules: unknown[]): void {
  db.transaction(() => {
    const before = db.prepare('SELECT rules_json FROM datasets WHERE id = ?').pluck().get(datasetId) as string
    db.prepare('UPDATE datasets SET rules_json = ? WHERE id = ?').run(JSON.stringify(rules), datasetId)
    appendAudit(db, { actor, action: 'dataset.rules', entityType: 'dataset', entityId: datasetId, before: JSON.parse(before), after: rules })
  })()
}

export function setValidation(db: Database.Database, actor: string, versionId: string, validation: ValidationRecord): void {
  db.transaction(() => {
    db.prepare('UPDATE dataset_versions SET validation_status = ?, validation_json = ? WHERE id = ?').run(
      validation.status,
      JSON.stringify(validation.results),
      versionId,
    )
    appendAudit(db, { actor, action: 'dataset.validate', entityType: 'dataset_version', entityId: versionId, after: { status: validation.status } })
  })()
}

export function childrenOf(db: Database.Database, versionId: string): string[] {
  return db.prepare('SELECT child_version_id FROM dataset_lineage WHERE parent_version_id = ?').pluck().all(versionId) as string[]
}

export function getProfile(db: Database.Database, versionId: string): unknown | null {
  const json = db.prepare('SELECT profile_json FROM dataset_profiles WHERE version_id = ?').pluck().get(versionId) as string | undefined
  return json === undefined ? null : JSON.parse(json)
}

export function putProfile(db: Database.Database, versionId: string, profile: unknown): void {
  db.prepare('INSERT OR REPLACE INTO dataset_profiles (version_id, profile_json, created_at) VALUES (?, ?, ?)').run(
    versionId,
    JSON.stringify(profile),
    new Date().toISOString(),
  )
}

function toSplit(row: any): SplitRecord {
  return {
    id: row.id,
    versionId: row.version_id,
    name: row.name,
    spec: JSON.parse(row.spec_json),
    counts: JSON.parse(row.counts_json),
    createdAt: row.created_at,
  }
}

export function findSplit(db: Database.Database, versionId: string, name: string): SplitRecord | null {
  const row = db.prepare('SELECT * FROM dataset_splits WHERE version_id = ? AND name = ?').get(versionId, name)
  return row ? toSplit(row) : null
}

export function insertSplit(
  db: Database.Database,
  actor: string,
  split: { versionId: string; name: string; spec: unknown; counts: Record<string, number> },
): SplitRecord {
  return db.transaction(() => {
    const id = uuidv7()
    db.prepare('INSERT INTO dataset_splits (id, version_id, name, spec_json, counts_json, created_at) VALUES (?, ?, ?, ?, ?, ?)').run(
      id,
      split.versionId,
      split.name,
      JSON.stringify(split.spec),
      JSON.stringify(split.counts),
      new Date().toISOString(),
    )
    appendAudit(db, { actor, action: 'dataset.split', entityType: 'dataset_version', entityId: split.versionId, after: { name: split.name, spec: split.spec } })
    return toSplit(db.prepare('SELECT * FROM dataset_splits WHERE id = ?').get(id))
  })()
}

export function listSplits(db: Database.Database, versionId: string): SplitRecord[] {
  return db.prepare('SELECT * FROM dataset_splits WHERE version_id = ? ORDER BY created_at, name').all(versionId).map(toSplit)
}

/**
 * Archives (or restores) versions, and the dataset itself when `dataset` is given, in one
 * transaction with its audit entry. Archived versions stay readable by `name@V`.
 */
export function setArchived(
  db: Database.Database,
  actor: string,
  change: { datasetId: string; versionIds: string[]; dataset: boolean; archived: boolean },
): void {
  db.transaction(() => {
    const at = change.archived ? new Date().toISOString() : null
    const mark = db.prepare('UPDATE dataset_versions SET archived_at = ? WHERE id = ?')
    for (const id of change.versionIds) mark.run(at, id)
    // Restoring any version brings its dataset back into the list.
    if (change.dataset || !change.archived) db.prepare('UPDATE datasets SET archived_at = ? WHERE id = ?').run(change.dataset ? at : null, change.datasetId)
    const action = change.archived ? 'dataset.archive' : 'dataset.restore'
    for (const id of change.versionIds) appendAudit(db, { actor, action, entityType: 'dataset_version', entityId: id, after: { archivedAt: at } })
    if (change.dataset) appendAudit(db, { actor, action, entityType: 'dataset', entityId: change.datasetId, after: { archivedAt: at } })
  })()
}

/**
 * Deletes versions (and the dataset when `dataset` is set) with their lineage, profiles
 * and splits, in one transaction with its audit entry. Returns the objects no remaining
 * version uses, for the caller to remove once the transaction has committed.
 */
export function deleteVersions(db: Database.Database, actor: string, change: { datasetId: string; versions: VersionRecord[]; dataset: boolean }): string[] {
  return db
    .transaction(() => {
      for (const v of change.versions) {
        db.prepare('DELETE FROM dataset_splits WHERE version_id = ?').run(v.id)
        db.prepare('DELETE FROM dataset_profiles WHERE version_id = ?').run(v.id)
        db.prepare('DELETE FROM dataset_lineage WHERE child_version_id = ? OR parent_version_id = ?').run(v.id, v.id)
      }
      for (const v of change.versions) db.prepare('DELETE FROM dataset_versions WHERE id = ?').run(v.id)
      if (change.dataset) db.prepare('DELETE FROM datasets WHERE id = ?').run(change.datasetId)
      for (const v of change.versions) {
        const before = { dataset: v.name, version: v.version, object: v.objectSha256, rows: v.rows }
        appendAudit(db, { actor, action: 'dataset.delete', entityType: 'dataset_version', entityId: v.id, before })
      }
      if (change.dataset)
        appendAudit(db, { actor, action: 'dataset.delete', entityType: 'dataset', entityId: change.datasetId, before: { name: change.versions[0]?.name } })
      return [...new Set(change.versions.map((v) => v.objectSha256))].filter((sha) => !objectInUse(db, sha))
    })
    .immediate()
}
