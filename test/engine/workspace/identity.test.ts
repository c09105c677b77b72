import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { listAudit } from '../../../src-main/engine/workspace/audit.js'
import { isUuid, uuidv7, uuidv7Time } from '../../../src-main/engine/workspace/ids.js'
import { migrate } from '../../../src-main/engine/workspace/migrate.js'
import { migrations } from '../../../src-main/engine/workspace/migrations/index.js'
import { Workspace } from '../../../src-main/engine/workspace/workspace.js'
import { getMetricSeries, getRun, updateRun } from '../../../src-main/engine/training/store.js'
import { getVersion as getDatasetVersion } from '../../../src-main/engine/data/store.js'
import { getVersion as getModelVersion } from '../../../src-main/engine/registry/store.js'
import { SplitSpec } from '../../../src-main/engine/data/types.js'
import { TrainParams } from '../../../src-main/engine/training/types.js'
import { afterThisTest, tempDir } from '../../helpers/workspace.js'

describe('uuidv7', () => {
  it('is an RFC 9562 version 7 UUID carrying its millisecond, and sorts in creation order within a millisecond', () => {
    const ms = Date.UTC(2026, 0, 2, 3, 4, 5, 6)
    const ids = Array.from({ length: 500 }, () => uuidv7(ms))
    for (const id of ids) {
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
      expect(uuidv7Time(id)).toBe(ms)
    }
    expect(new Set(ids).size).toBe(ids.length)
    expect([...ids].sort()).toEqual(ids)
    expect(uuidv7(ms + 1) > ids.at(-1)!).toBe(true)
    expect(isUuid('run-1a2b3c4d')).toBe(false)
  })
})

/** A workspace as Lathe wrote it before migration 008: run ids of `run-` + 8 hex. */
function legacyWorkspace(dir: string): void {
  const db = new Database(`${dir}/lathe.db`)
  migrate(
    db,
    migrations.filter((m) => m.version <= 6),
  )
  const t = '2026-05-01T10:00:00.000Z'
  db.exec(`
    INSERT INTO datasets (id, name, created_at) VALUES ('d1', 'weather', '${t}');
    INSERT INTO dataset_versions (id, dataset_id, version, object_sha256, bytes, origin, source_name, source_sha256,
      options_key, options_json, rows, columns_json, validation_status, created_at)
      VALUES ('dv3', 'd1', 3, 'aa', 1, 'file', 'w.csv', 'bb', '{}', '{}', 1, '[]', 'none', '${t}');
    INSERT INTO training_runs (id, seq, status, dataset_name, dataset_version, dataset_version_id, task, target,
      model_family, created_at, record_json)
      VALUES ('run-1a2b3c4d', 1, 'failed', 'weather', 3, 'dv3', 'classification', 'y', 'mlp', '${t}', '${JSON.stringify(legacyRecord(t))}');
    INSERT INTO training_metrics (run_id, name, step, value) VALUES ('run-1a2b3c4d', 'loss', 1, 0.5), ('run-1a2b3c4d', 'loss', 2, 0.25);
    INSERT INTO registry_models (id, name, created_at, created_by) VALUES ('m1', 'weather-model', '${t}', 'ana');
    INSERT INTO registry_versions (id, model_id, version, onnx_sha256, signature_json, run_id, source, created_at, created_by)
      VALUES ('mv1', 'm1', 1, 'cc', '{}', 'run-1a2b3c4d', 'run', '${t}', 'ana');
    INSERT INTO registry_aliases (model_id, alias, version_id, since) VALUES ('m1', 'production', 'mv1', '${t}');
    INSERT INTO registry_alias_history (model_id, alias, version_id, kind, time, actor) VALUES ('m1', 'production', 'mv1', 'promote', '${t}', 'ana');
    INSERT INTO audit_log (time, actor, action, entity_type, entity_id) VALUES ('${t}', 'ana', 'run.queue', 'run', 'run-1a2b3c4d');
  `)
  db.close()
}

/** A run record as the training store writes it (a failed run: no model, no metrics). */
function legacyRecord(t: string) {
  return {
    id: 'run-1a2b3c4d',
    status: 'failed',
    error: 'engine stopped',
    dataset: { name: 'weather', version: 3, versionId: 'dv3' },
    split: SplitSpec.parse({}),
    task: 'classification',
    target: 'y',
    features: [{ name: 'x', kind: 'numeric', sourceType: 'DOUBLE' }],
    modelFamily: 'mlp',
    params: TrainParams.parse({}),
    seed: 1,
    requestedBackend: 'auto',
    backend: null,
    appVersion: '0.1.0',
    host: { hostname: 'h', platform: 'linux', arch: 'x64', cpus: 2, node: '22' },
    createdAt: t,
    startedAt: t,
    finishedAt: t,
    epochsRun: 0,
    metrics: null,
    registerAs: null,
    sweepId: null,
    model: null,
  }
}

describe('migration 008: identity', () => {
  it('gives an old workspace a client id, UUID v7 run ids that old ids still reach, and uids for moves and audit', () => {
    const dir = tempDir()
    legacyWorkspace(dir)
    const ws = Workspace.open(dir)
    afterThisTest(() => ws.close())
    const db = ws.db

    const clientId = db.prepare(`SELECT value FROM settings WHERE key = 'sync.client_id'`).pluck().get() as string
    expect(uuidv7Time(clientId)).not.toBeNull()

    const runId = db.prepare('SELECT id FROM training_runs').pluck().get() as string
    expect(uuidv7Time(runId)).toBe(Date.parse('2026-05-01T10:00:00.000Z'))
    const raw = JSON.parse(db.prepare('SELECT record_json FROM training_runs').pluck().get() as string)
    expect(raw.id).toBe(runId)
    expect(db.prepare('SELECT run_id FROM registry_versions').pluck().get()).toBe(runId)
    expect(db.prepare('SELECT DISTINCT run_id FROM training_metrics').pluck().all()).toEqual([runId])
    expect(db.pragma('foreign_key_check')).toEqual([])

    expect(db.prepare('SELECT count(*) FROM training_run_legacy_ids WHERE legacy_id = ?').pluck().get('run-1a2b3c4d')).toBe(1)

    const moveUid = db.prepare('SELECT uid FROM registry_alias_history').pluck().get() as string
    expect(isUuid(moveUid)).toBe(true)
    const audit = listAudit(db)
    expect(audit).toHaveLength(1)
    expect(isUuid(db.prepare('SELECT uid FROM audit_log').pluck().get() as string)).toBe(true)
    expect(() => db.prepare(`UPDATE audit_log SET actor = 'eve'`).run()).toThrow(/append-only/)

    expect(db.prepare('SELECT local_version FROM dataset_versions').pluck().get()).toBe(3)
    expect(db.prepare('SELECT local_version FROM registry_versions').pluck().get()).toBe(1)
  })

  it('an old run id resolves for reads and updates; metric series follow the new id', () => {
    const dir = tempDir()
    legacyWorkspace(dir)
    const ws = Workspace.open(dir)
    afterThisTest(() => ws.close())
    const db = ws.db
    const runId = db.prepare('SELECT id FROM training_runs').pluck().get() as string
    expect(getRun(db, 'run-1a2b3c4d').id).toBe(runId)
    expect(getRun(db, runId).id).toBe(runId)
    expect(getMetricSeries(db, 'run-1a2b3c4d')).toEqual({
      loss: [
        { step: 1, value: 0.5 },
        { step: 2, value: 0.25 },
      ],
    })
    expect(updateRun(db, 'run-1a2b3c4d', { error: 'cancelled by hand' }).id).toBe(runId)
    expect(getRun(db, runId).error).toBe('cancelled by hand')
    expect(db.prepare('SELECT count(*) FROM training_runs').pluck().get()).toBe(1)
    expect(() => getRun(db, 'run-00000000')).toThrow(/no run "run-00000000"/)
  })

  it('a version renumbered by a sync is still found by the number this workspace gave it', () => {
    const dir = tempDir()
    legacyWorkspace(dir)
    const ws = Workspace.open(dir)
    afterThisTest(() => ws.close())
    const db = ws.db
    // What a sync does when the server numbered this workspace's v3 as v4 (a teammate's came first).
    db.prepare('UPDATE dataset_versions SET version = 4').run()
    db.prepare('UPDATE registry_versions SET version = 2').run()
    expect(getDatasetVersion(db, 'd1', 3)?.id).toBe('dv3')
    expect(getDatasetVersion(db, 'd1', 4)?.id).toBe('dv3')
    expect(getModelVersion(db, 'm1', 1)?.versionId).toBe('mv1')
    expect(getModelVersion(db, 'm1', 2)?.versionId).toBe('mv1')
    expect(() => db.prepare('UPDATE registry_versions SET local_version = 9').run()).toThrow(/immutable/)
    expect(() => db.prepare(`UPDATE registry_versions SET onnx_sha256 = 'dd'`).run()).toThrow(/immutable/)
  })
})
