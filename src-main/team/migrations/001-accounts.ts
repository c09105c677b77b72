import type { TeamMigration } from '../migrate.js'

/** Projects, users, their roles (per project, or everywhere when project_id is null) and bearer tokens (SHA-256 only). */
export const migration001: TeamMigration = {
  version: 1,
  name: 'accounts',
  async up(tx) {
    await tx.query(`
      CREATE TABLE projects (
        id uuid PRIMARY KEY,
        name text NOT NULL UNIQUE,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE users (
        id uuid PRIMARY KEY,
        name text NOT NULL UNIQUE,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE grants (
        user_id uuid NOT NULL REFERENCES users(id),
        project_id uuid REFERENCES projects(id),
        role text NOT NULL CHECK (role IN ('viewer', 'member', 'maintainer', 'admin')),
        granted_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE NULLS NOT DISTINCT (user_id, project_id)
      );
      CREATE TABLE tokens (
        id uuid PRIMARY KEY,
        user_id uuid NOT NULL REFERENCES users(id),
        sha256 text NOT NULL UNIQUE CHECK (sha256 ~ '^[0-9a-f]{64}$'),
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz,
        revoked_at timestamptz
      );
    `)
  },
}
