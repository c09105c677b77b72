import type { TeamMigration } from '../migrate.js'

/** Resumable blob uploads in progress: one per (sha256, size); the bytes live in objects/uploads/<id>. */
export const migration003: TeamMigration = {
  version: 3,
  name: 'uploads',
  async up(tx) {
    await tx.query(`
      CREATE TABLE uploads (
        id uuid PRIMARY KEY,
        sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
        size bigint NOT NULL CHECK (size >= 0),
        received bigint NOT NULL DEFAULT 0 CHECK (received >= 0 AND received <= size),
        created_by uuid NOT NULL REFERENCES users(id),
        project text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        UNIQUE (sha256, size)
      );
      CREATE INDEX uploads_expiry ON uploads (expires_at);
    `)
  },
}
