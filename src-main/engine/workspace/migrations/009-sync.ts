import type { Migration } from './types.js'

/**
 * The sync outbox and the client's sync state (DESIGN.md "Team server and sync").
 *
 * Outbox rows are written by triggers on the synced tables, so they land in the same
 * SQLite transaction as the change whoever made it (data, training, registry, the
 * MLflow API, pipelines): a crash leaves both or neither, and no store needs to know
 * about sync. The payload is read from the (immutable) record when it is pushed.
 * An op id is the op's kind and the global id of what it records: a second write of the
 * same op is ignored here, and the server skips an op id it has applied.
 *
 * While sync applies what it pulled, `sync_applying` holds a row (inside that same
 * transaction), and the triggers stay quiet: pulled records are not pushed back.
 */
export const migration009: Migration = {
  version: 9,
  name: 'sync: outbox (filled by triggers), metric segments, pulled-record marks, sync settings',
  up(db) {
    db.exec(`
      CREATE TABLE sync_outbox (
        client_seq INTEGER PRIMARY KEY AUTOINCREMENT,
        op_id      TEXT NOT NULL UNIQUE,
        kind       TEXT NOT NULL,
        entity_id  TEXT NOT NULL,
        -- Extra address within the entity (a metric segment: {"name", "segment"}), JSON.
        detail     TEXT,
        created_at TEXT NOT NULL,
        state      TEXT NOT NULL DEFAULT 'pending'
                   CHECK (state IN ('pending', 'applied', 'duplicate', 'conflict', 'missing_ref', 'forbidden', 'invalid')),
        -- What the server said (a conflict names who moved the alias, to what, when).
        result_json TEXT,
        done_at    TEXT
      ) STRICT;
      CREATE INDEX sync_outbox_pending ON sync_outbox(state, client_seq);

      CREATE TABLE sync_applying (one INTEGER PRIMARY KEY CHECK (one = 1)) STRICT;

      -- Records that came from the team server: who made them, on which client, when pulled.
      CREATE TABLE sync_pulled (
        entity_type TEXT NOT NULL,
        entity_id   TEXT NOT NULL,
        server_seq  INTEGER NOT NULL,
        origin_client TEXT,
        origin_user TEXT NOT NULL,
        pulled_at   TEXT NOT NULL,
        PRIMARY KEY (entity_type, entity_id)
      ) STRICT;

      -- A pulled blob's bytes so far (a pull cut mid-blob resumes with Range from here).
      CREATE TABLE sync_blob_fetches (
        sha256 TEXT PRIMARY KEY,
        size   INTEGER NOT NULL,
        path   TEXT NOT NULL
      ) STRICT;

      CREATE TRIGGER sync_out_dataset_version AFTER INSERT ON dataset_versions
        WHEN NOT EXISTS (SELECT 1 FROM sync_applying)
        BEGIN
          INSERT OR IGNORE INTO sync_outbox (op_id, kind, entity_id, created_at)
            VALUES ('dataset_version.create:' || NEW.id, 'dataset_version.create', NEW.id, strftime('%Y-%m-%dT%H:%M:%fZ'));
        END;

      CREATE TRIGGER sync_out_run AFTER INSERT ON training_runs
        WHEN NOT EXISTS (SELECT 1 FROM sync_applying)
        BEGIN
          INSERT OR IGNORE INTO sync_outbox (op_id, kind, entity_id, created_at)
            VALUES ('run.create:' || NEW.id, 'run.create', NEW.id, strftime('%Y-%m-%dT%H:%M:%fZ'));
        END;

      -- A run's end: its final record, then its metric series cut into segments of 1000
      -- steps (one op each; the bytes are encoded from training_metrics at push time,
      -- which no longer changes once the run has ended).
      CREATE TRIGGER sync_out_run_end AFTER UPDATE OF status ON training_runs
        WHEN NEW.status IN ('finished', 'failed', 'cancelled') AND OLD.status NOT IN ('finished', 'failed', 'cancelled')
             AND NOT EXISTS (SELECT 1 FROM sync_applying)
        BEGIN
          INSERT OR IGNORE INTO sync_outbox (op_id, kind, entity_id, detail, created_at)
            SELECT 'metric.segment:' || NEW.id || ':' || name || ':' || segment, 'metric.segment', NEW.id,
                   json_object('name', name, 'segment', segment), strftime('%Y-%m-%dT%H:%M:%fZ')
            FROM (SELECT DISTINCT name, step / 1000 AS segment FROM training_metrics WHERE run_id = NEW.id ORDER BY name, segment);
          INSERT OR IGNORE INTO sync_outbox (op_id, kind, entity_id, created_at)
            VALUES ('run.end:' || NEW.id, 'run.end', NEW.id, strftime('%Y-%m-%dT%H:%M:%fZ'));
        END;

      CREATE TRIGGER sync_out_model_version AFTER INSERT ON registry_versions
        WHEN NOT EXISTS (SELECT 1 FROM sync_applying)
        BEGIN
          INSERT OR IGNORE INTO sync_outbox (op_id, kind, entity_id, created_at)
            VALUES ('model_version.create:' || NEW.id, 'model_version.create', NEW.id, strftime('%Y-%m-%dT%H:%M:%fZ'));
        END;

      CREATE TRIGGER sync_out_alias_move AFTER INSERT ON registry_alias_history
        WHEN NOT EXISTS (SELECT 1 FROM sync_applying)
        BEGIN
          INSERT OR IGNORE INTO sync_outbox (op_id, kind, entity_id, created_at)
            VALUES ('alias.move:' || NEW.uid, 'alias.move', NEW.uid, strftime('%Y-%m-%dT%H:%M:%fZ'));
        END;

      CREATE TRIGGER sync_out_audit AFTER INSERT ON audit_log
        WHEN NOT EXISTS (SELECT 1 FROM sync_applying)
        BEGIN
          INSERT OR IGNORE INTO sync_outbox (op_id, kind, entity_id, created_at)
            VALUES ('audit.append:' || NEW.uid, 'audit.append', NEW.uid, strftime('%Y-%m-%dT%H:%M:%fZ'));
        END;
    `)

    // What this workspace made before sync existed goes out on its first sync, in the
    // order it was made (dependencies first: a version after its run and dataset version).
    db.exec(`
      INSERT OR IGNORE INTO sync_outbox (op_id, kind, entity_id, created_at)
        SELECT 'dataset_version.create:' || id, 'dataset_version.create', id, created_at FROM dataset_versions ORDER BY created_at, rowid;
      INSERT OR IGNORE INTO sync_outbox (op_id, kind, entity_id, created_at)
        SELECT 'run.create:' || id, 'run.create', id, created_at FROM training_runs ORDER BY seq;
      INSERT OR IGNORE INTO sync_outbox (op_id, kind, entity_id, detail, created_at)
        SELECT 'metric.segment:' || m.run_id || ':' || m.name || ':' || m.segment, 'metric.segment', m.run_id,
               json_object('name', m.name, 'segment', m.segment), r.created_at
        FROM (SELECT DISTINCT run_id, name, step / 1000 AS segment FROM training_metrics) m
        JOIN training_runs r ON r.id = m.run_id WHERE r.status IN ('finished', 'failed', 'cancelled') ORDER BY r.seq, m.name, m.segment;
      INSERT OR IGNORE INTO sync_outbox (op_id, kind, entity_id, created_at)
        SELECT 'run.end:' || id, 'run.end', id, created_at FROM training_runs WHERE status IN ('finished', 'failed', 'cancelled') ORDER BY seq;
      INSERT OR IGNORE INTO sync_outbox (op_id, kind, entity_id, created_at)
        SELECT 'model_version.create:' || id, 'model_version.create', id, created_at FROM registry_versions ORDER BY created_at, rowid;
      INSERT OR IGNORE INTO sync_outbox (op_id, kind, entity_id, created_at)
        SELECT 'alias.move:' || uid, 'alias.move', uid, time FROM registry_alias_history ORDER BY id;
      INSERT OR IGNORE INTO sync_outbox (op_id, kind, entity_id, created_at)
        SELECT 'audit.append:' || uid, 'audit.append', uid, time FROM audit_log ORDER BY id;
    `)
  },
}
