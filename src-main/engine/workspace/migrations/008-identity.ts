import { uuidv7, isUuid } from '../ids.js'
import type { Migration } from './types.js'

/**
 * Global identity for everything that syncs (DESIGN.md "Team server and sync"):
 * - the workspace gets a client id (settings `sync.client_id`);
 * - runs named `run-` + 8 hex (32 bits: likely to collide across a team) get a UUID v7
 *   minted at their creation time; the old id stays resolvable through
 *   `training_run_legacy_ids`; metric series and model versions follow the new id;
 * - alias moves and audit entries get a `uid` (their integer ids are only local);
 * - dataset and model versions keep `local_version`, the number they had when this
 *   workspace made them: `version` becomes a display number the team server may
 *   reassign on arrival, and `weather@3` typed before a sync still finds the version.
 * Datasets, dataset versions, models and model versions already had random UUIDs (v4):
 * those are as global as v7 ones and stay.
 */
export const migration008: Migration = {
  version: 8,
  name: 'identity: client id, UUID v7 run ids (old ones resolve), uids for alias moves and audit, local version numbers',
  up(db) {
    db.prepare(`INSERT OR IGNORE INTO settings (key, value) VALUES ('sync.client_id', ?)`).run(uuidv7())

    // Rewriting a run's id touches the run and the rows pointing at it; deferring the
    // foreign-key check to the commit lets them change in any order.
    db.pragma('defer_foreign_keys = ON')
    db.exec(`
      CREATE TABLE training_run_legacy_ids (
        legacy_id TEXT PRIMARY KEY,
        run_id    TEXT NOT NULL REFERENCES training_runs(id)
      ) STRICT;
      DROP TRIGGER registry_versions_immutable;
    `)
    const runs = db.prepare('SELECT id, created_at FROM training_runs').all() as Array<{ id: string; created_at: string }>
    const renames = {
      run: db.prepare(`UPDATE training_runs SET id = @to, record_json = json_set(record_json, '$.id', @to) WHERE id = @from`),
      metrics: db.prepare('UPDATE training_metrics SET run_id = @to WHERE run_id = @from'),
      versions: db.prepare('UPDATE registry_versions SET run_id = @to WHERE run_id = @from'),
      legacy: db.prepare('INSERT INTO training_run_legacy_ids (legacy_id, run_id) VALUES (@from, @to)'),
    }
    for (const run of runs) {
      if (isUuid(run.id)) continue
      const ms = Date.parse(run.created_at)
      const ids = { from: run.id, to: uuidv7(Number.isFinite(ms) ? ms : Date.now()) }
      for (const statement of Object.values(renames)) statement.run(ids)
    }

    db.exec(`
      ALTER TABLE dataset_versions ADD COLUMN local_version INTEGER;
      UPDATE dataset_versions SET local_version = version;
      CREATE INDEX dataset_versions_local ON dataset_versions(dataset_id, local_version);
      CREATE TRIGGER dataset_versions_local_version AFTER INSERT ON dataset_versions WHEN NEW.local_version IS NULL
        BEGIN UPDATE dataset_versions SET local_version = NEW.version WHERE id = NEW.id; END;

      ALTER TABLE registry_versions ADD COLUMN local_version INTEGER;
      UPDATE registry_versions SET local_version = version;
      CREATE INDEX registry_versions_local ON registry_versions(model_id, local_version);
      CREATE TRIGGER registry_versions_local_version AFTER INSERT ON registry_versions WHEN NEW.local_version IS NULL
        BEGIN UPDATE registry_versions SET local_version = NEW.version WHERE id = NEW.id; END;
      -- As before, less 'version' (a display number now); local_version is set once.
      CREATE TRIGGER registry_versions_immutable BEFORE UPDATE OF
        id, model_id, onnx_sha256, signature_json, preprocessing_json, metrics_json, params_json,
        run_id, dataset_version_id, dataset_json, split_json, source, metadata_json, created_at, created_by
        ON registry_versions
        BEGIN SELECT RAISE(ABORT, 'a model version is immutable'); END;
      CREATE TRIGGER registry_versions_local_version_once BEFORE UPDATE OF local_version ON registry_versions
        WHEN OLD.local_version IS NOT NULL
        BEGIN SELECT RAISE(ABORT, 'a model version is immutable'); END;

      ALTER TABLE registry_alias_history ADD COLUMN uid TEXT;
      ALTER TABLE audit_log ADD COLUMN uid TEXT;
      DROP TRIGGER audit_log_no_update;
    `)
    const backfill = (table: string) => {
      const rows = db.prepare(`SELECT id, time FROM ${table} WHERE uid IS NULL ORDER BY id`).all() as Array<{ id: number; time: string }>
      const set = db.prepare(`UPDATE ${table} SET uid = ? WHERE id = ?`)
      for (const row of rows) {
        const ms = Date.parse(row.time)
        set.run(uuidv7(Number.isFinite(ms) ? ms : Date.now()), row.id)
      }
    }
    backfill('registry_alias_history')
    backfill('audit_log')
    db.exec(`
      CREATE UNIQUE INDEX registry_alias_history_uid ON registry_alias_history(uid);
      CREATE UNIQUE INDEX audit_log_uid ON audit_log(uid);
      CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
    `)
  },
}
