import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { insertVersion } from '../../../src-main/engine/data/store.js'
import { buildOp, entriesToPush, outboxCounts } from '../../../src-main/engine/sync/outbox.js'
import { decodeSegment, encodeSegment } from '../../../src-main/engine/api/common/metric-segments.js'
import { migrate } from '../../../src-main/engine/workspace/migrate.js'
import { migrations } from '../../../src-main/engine/workspace/migrations/index.js'
import { Workspace } from '../../../src-main/engine/workspace/workspace.js'
import { irisOnnx, penguinsJson, recordRun } from '../../helpers/synced-records.js'
import { afterThisTest, openTestEngine, tempDir } from '../../helpers/workspace.js'

const kinds = (db: Database.Database) => db.prepare('SELECT kind FROM sync_outbox ORDER BY client_seq').pluck().all() as string[]

describe('the sync outbox', () => {
  it('gets one entry per synced change, written by the change itself, in the order things happened', async () => {
    const engine = openTestEngine()
    const db = engine.context.workspace.db
    const imported = await engine.call('data.import', { name: 'penguins', path: penguinsJson })
    expect(kinds(db)).toContain('dataset_version.create')

    const run = recordRun(engine, {
      dataset: { name: 'penguins', version: imported.version, versionId: imported.versionId },
      metrics: ['loss', 'val_accuracy'],
      steps: 2500,
    })
    const runOps = db.prepare(`SELECT kind, detail FROM sync_outbox WHERE entity_id = ? ORDER BY client_seq`).all(run.id) as Array<{
      kind: string
      detail: string | null
    }>
    // Created, then at its end: 3 segments of each of 2 metrics (steps 0-999, 1000-1999, 2000-2499), then the final record.
    expect(runOps.map((o) => o.kind)).toEqual(['run.create', ...Array(6).fill('metric.segment'), 'run.end'])
    expect(runOps.filter((o) => o.detail).map((o) => JSON.parse(o.detail!))).toEqual([
      { name: 'loss', segment: 0 },
      { name: 'loss', segment: 1 },
      { name: 'loss', segment: 2 },
      { name: 'val_accuracy', segment: 0 },
      { name: 'val_accuracy', segment: 1 },
      { name: 'val_accuracy', segment: 2 },
    ])

    const v = await engine.call('registry.versions.import', { file: irisOnnx, name: 'iris' })
    await engine.call('registry.promote', { model: 'iris', version: v.version, alias: 'staging' })
    const tail = kinds(db)
      .filter((k) => k !== 'audit.append')
      .slice(-2)
    expect(tail).toEqual(['model_version.create', 'alias.move'])
    // Every audit entry travels too, and nothing else is pending twice.
    expect(kinds(db).filter((k) => k === 'audit.append').length).toBe(db.prepare('SELECT count(*) FROM audit_log').pluck().get())
    expect(outboxCounts(db)).toEqual({ pending: kinds(db).length })
  })

  it('a change that rolls back leaves no outbox entry (both or neither)', () => {
    const engine = openTestEngine()
    const db = engine.context.workspace.db
    const version = {
      datasetName: 'd',
      objectSha256: 'a'.repeat(64),
      bytes: 1,
      origin: 'file' as const,
      sourceName: 'd.csv',
      sourceSha256: 'b'.repeat(64),
      optionsKey: '{}',
      options: {},
      rows: 1,
      columns: [],
      validation: { status: 'none' as const, results: [] },
      parents: [],
    }
    expect(() =>
      db.transaction(() => {
        insertVersion(db, 'ana', version)
        throw new Error('disk full')
      })(),
    ).toThrow(/disk full/)
    expect(db.prepare('SELECT count(*) FROM dataset_versions').pluck().get()).toBe(0)
    expect(db.prepare('SELECT count(*) FROM sync_outbox').pluck().get()).toBe(0)
    insertVersion(db, 'ana', version)
    expect(kinds(db).sort()).toEqual(['audit.append', 'audit.append', 'dataset_version.create'])
  })

  it('a metric segment op carries exactly its 1000 steps as binary, and decodes to the stored points', async () => {
    const engine = openTestEngine()
    const db = engine.context.workspace.db
    const run = recordRun(engine, { dataset: { name: 'p', version: 1, versionId: 'x' }, steps: 1500 })
    const [first, second] = entriesToPush(db, 0, 100).filter((e) => e.kind === 'metric.segment')
    const a = buildOp(db, first!).op.payload as { points: number; data: string; runId: string }
    const b = buildOp(db, second!).op.payload as { points: number; data: string }
    expect([a.runId, a.points, b.points]).toEqual([run.id, 1000, 500])
    const points = decodeSegment(Buffer.from(b.data, 'base64'))
    expect(points[0]).toEqual({ step: 1000, value: 1 / 1001 })
    expect(points.at(-1)!.step).toBe(1499)
    expect(Buffer.from(a.data, 'base64').length).toBe(8 + 16 * 1000)
    expect(() => decodeSegment(encodeSegment(points).subarray(0, 20))).toThrow(/must be/)
  })

  it('a workspace from before sync puts what it already holds in the outbox when it migrates', () => {
    const dir = tempDir()
    const db = new Database(`${dir}/lathe.db`)
    migrate(
      db,
      migrations.filter((m) => m.version <= 6),
    )
    db.exec(`
      INSERT INTO datasets (id, name, created_at) VALUES ('d1', 'weather', '2026-01-01T00:00:00Z');
      INSERT INTO dataset_versions (id, dataset_id, version, object_sha256, bytes, origin, source_name, source_sha256,
        options_key, options_json, rows, columns_json, validation_status, created_at)
        VALUES ('dv1', 'd1', 1, 'aa', 1, 'file', 'w.csv', 'bb', '{}', '{}', 1, '[]', 'none', '2026-01-01T00:00:00Z');
      INSERT INTO audit_log (time, actor, action, entity_type, entity_id) VALUES ('2026-01-01T00:00:00Z', 'ana', 'dataset.import', 'dataset_version', 'dv1');
    `)
    db.close()
    const ws = Workspace.open(dir)
    afterThisTest(() => ws.close())
    expect(kinds(ws.db)).toEqual(['dataset_version.create', 'audit.append'])
  })
})
