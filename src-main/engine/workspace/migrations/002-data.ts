import type { Migration } from './types.js'

export const migration002: Migration = {
  version: 2,
  name: 'data: datasets, immutable versions, lineage, cached profiles, validation rules, split specs',
  up(db) {
    db.exec(`
      CREATE TABLE datasets (
        id         TEXT PRIMARY KEY,
        name       TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL,
        -- The validation rules checked at every import of a new version (JSON array).
        rules_json TEXT NOT NULL DEFAULT '[]'
      ) STRICT;

      CREATE TABLE dataset_versions (
        id                TEXT PRIMARY KEY,
        dataset_id        TEXT NOT NULL REFERENCES datasets(id),
        version           INTEGER NOT NULL,
        object_sha256     TEXT NOT NULL,
        bytes             INTEGER NOT NULL,
        -- 'file' for an import, 'transform' for a version derived by SQL.
        origin            TEXT NOT NULL CHECK (origin IN ('file', 'transform')),
        source_name       TEXT NOT NULL,
        source_sha256     TEXT NOT NULL,
        -- Canonical JSON of the import options (or the resolved transform SQL): with
        -- source_sha256 it makes a re-import of the same bytes find this version.
        options_key       TEXT NOT NULL,
        options_json      TEXT NOT NULL,
        rows              INTEGER NOT NULL,
        columns_json      TEXT NOT NULL,
        validation_status TEXT NOT NULL CHECK (validation_status IN ('passed', 'failed', 'none')),
        validation_json   TEXT,
        created_at        TEXT NOT NULL,
        UNIQUE (dataset_id, version)
      ) STRICT;
      CREATE INDEX dataset_versions_source ON dataset_versions(dataset_id, source_sha256, options_key);

      CREATE TABLE dataset_lineage (
        child_version_id  TEXT NOT NULL REFERENCES dataset_versions(id),
        parent_version_id TEXT NOT NULL REFERENCES dataset_versions(id),
        PRIMARY KEY (child_version_id, parent_version_id)
      ) STRICT;

      CREATE TABLE dataset_profiles (
        version_id   TEXT PRIMARY KEY REFERENCES dataset_versions(id),
        profile_json TEXT NOT NULL,
        created_at   TEXT NOT NULL
      ) STRICT;

      CREATE TABLE dataset_splits (
        id          TEXT PRIMARY KEY,
        version_id  TEXT NOT NULL REFERENCES dataset_versions(id),
        name        TEXT NOT NULL,
        spec_json   TEXT NOT NULL,
        counts_json TEXT NOT NULL,
        created_at  TEXT NOT NULL,
        UNIQUE (version_id, name)
      ) STRICT;
    `)
  },
}
