import type { TeamMigration } from '../migrate.js'

/**
 * The audit log: append-only (a trigger refuses UPDATE and DELETE), each row holding
 * the SHA-256 of the row before it, and audit_head naming the last row, so that
 * `verify-audit` finds an edited, inserted, deleted or trimmed row.
 */
export const migration002: TeamMigration = {
  version: 2,
  name: 'audit',
  async up(tx) {
    await tx.query(`
      CREATE TABLE audit_log (
        seq bigint PRIMARY KEY,
        server_time timestamptz NOT NULL,
        user_id uuid,
        user_name text NOT NULL,
        client_id text,
        client_time text,
        project text,
        action text NOT NULL,
        outcome text NOT NULL CHECK (outcome IN ('accepted', 'duplicate', 'conflict', 'refused')),
        target text,
        detail text NOT NULL,
        prev_sha256 text NOT NULL,
        row_sha256 text NOT NULL
      );
      CREATE TABLE audit_head (
        id boolean PRIMARY KEY DEFAULT true CHECK (id),
        seq bigint NOT NULL,
        row_sha256 text NOT NULL
      );
      CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP;
      END $$;
      CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
        FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
    `)
  },
}
