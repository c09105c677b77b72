import type { Migration } from './types.js'

export const migration001: Migration = {
  version: 1,
  name: 'core: settings and the append-only audit log',
  up(db) {
    db.exec(`
      CREATE TABLE settings (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
      ) STRICT;

      CREATE TABLE audit_log (
        id          INTEGER PRIMARY KEY,
        time        TEXT NOT NULL,
        actor       TEXT NOT NULL,
        action      TEXT NOT NULL,
        entity_type TEXT NOT NULL,
        entity_id   TEXT NOT NULL,
        before_json TEXT,
        after_json  TEXT,
        reason      TEXT
      ) STRICT;
      CREATE INDEX audit_log_entity ON audit_log(entity_type, entity_id);

      -- Append-only: history that can be rewritten is not an audit log.
      CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
      CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
    `)
  },
}
