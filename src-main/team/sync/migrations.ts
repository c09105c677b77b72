import type { TeamMigration } from '../migrate.js'

/**
 * The team server's sync tables (numbers 010+ belong to sync):
 * - sync_applied_ops: every op id the server has answered for good, with that answer;
 *   inserted first in each op's transaction, so a resent op (or the same op arriving
 *   twice at once) is a `duplicate` and changes nothing.
 * - sync_names: one row per (project, dataset|model, name): the one server entity a
 *   name maps to, and the next version number (taken under its row lock: versions are
 *   numbered in order of arrival).
 * - sync_records: every record by its global id (dataset and model versions with their
 *   display number, runs with their latest record, client audit entries, alias moves).
 * - sync_segments: metric series as 1000-step binary segments.
 * - sync_aliases: where each alias points now, moved by compare-and-swap under FOR UPDATE.
 * - sync_changes: the change log pulls read, in commit order (appended while the audit
 *   chain's lock is held, so sequence order is commit order).
 */
export const syncMigration010: TeamMigration = {
  version: 10,
  name: 'sync: applied ops, names, records, metric segments, aliases, change log',
  async up(tx) {
    await tx.query(`
      CREATE TABLE sync_applied_ops (
        project    text NOT NULL,
        op_id      text NOT NULL,
        outcome    text NOT NULL,
        result     jsonb NOT NULL,
        user_name  text NOT NULL,
        client_id  text,
        applied_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (project, op_id)
      );

      CREATE TABLE sync_names (
        project     text NOT NULL,
        kind        text NOT NULL CHECK (kind IN ('dataset', 'model')),
        name        text NOT NULL,
        last_number integer NOT NULL DEFAULT 0,
        created_by  text NOT NULL,
        created_at  timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (project, kind, name)
      );

      CREATE TABLE sync_records (
        project      text NOT NULL,
        kind         text NOT NULL,
        id           text NOT NULL,
        name         text,
        number       integer,
        body         jsonb NOT NULL,
        origin_client text,
        user_name    text NOT NULL,
        created_at   timestamptz NOT NULL DEFAULT now(),
        updated_at   timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (project, kind, id)
      );
      CREATE UNIQUE INDEX sync_records_number ON sync_records (project, kind, name, number) WHERE number IS NOT NULL;

      CREATE TABLE sync_segments (
        project  text NOT NULL,
        run_id   text NOT NULL,
        name     text NOT NULL,
        segment  integer NOT NULL,
        points   integer NOT NULL,
        data     bytea NOT NULL,
        PRIMARY KEY (project, run_id, name, segment)
      );

      CREATE TABLE sync_aliases (
        project    text NOT NULL,
        model      text NOT NULL,
        alias      text NOT NULL,
        version_id text,
        move_uid   text,
        moved_by   text,
        moved_at   timestamptz,
        PRIMARY KEY (project, model, alias)
      );

      CREATE TABLE sync_changes (
        seq      bigserial PRIMARY KEY,
        project  text NOT NULL,
        kind     text NOT NULL,
        id       text NOT NULL,
        at       timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX sync_changes_project ON sync_changes (project, seq);
    `)
  },
}

/**
 * Metric segments are stored uncompressed: they are float64 series, which pglz (the default for a
 * bytea) mostly fails to shrink while spending most of the insert on trying (1000 segments of
 * 1000 points: 0.9-1.2 s with pglz, 0.22-0.29 s without, same size on disk, PostgreSQL 15 here).
 * Rows already stored keep their form; new ones go uncompressed.
 */
export const syncMigration011: TeamMigration = {
  version: 11,
  name: 'sync: metric segments stored uncompressed (STORAGE EXTERNAL)',
  async up(tx) {
    await tx.query('ALTER TABLE sync_segments ALTER COLUMN data SET STORAGE EXTERNAL')
  },
}

/**
 * The aliases only maintainers (and admins) may move, per project. A project without a row
 * protects `production` alone (what the server did before this migration).
 */
export const syncMigration012: TeamMigration = {
  version: 12,
  name: 'sync: protected aliases per project',
  async up(tx) {
    await tx.query(`
      CREATE TABLE sync_protected_aliases (
        project    text PRIMARY KEY,
        aliases    text[] NOT NULL,
        set_by     text NOT NULL,
        set_at     timestamptz NOT NULL DEFAULT now()
      );
    `)
  },
}
