import type { Migration } from './types.js'

export const migration004: Migration = {
  version: 4,
  name: 'registry: models, immutable versions, aliases with history, gates',
  up(db) {
    db.exec(`
      CREATE TABLE registry_models (
        id          TEXT PRIMARY KEY,
        name        TEXT NOT NULL UNIQUE,
        description TEXT NOT NULL DEFAULT '',
        tags_json   TEXT NOT NULL DEFAULT '{}',
        created_at  TEXT NOT NULL,
        created_by  TEXT NOT NULL
      ) STRICT;

      -- What a version is (ONNX, signature, metrics, where it came from) never changes;
      -- only description, tags, intended use and the card are editable.
      CREATE TABLE registry_versions (
        id                 TEXT PRIMARY KEY,
        model_id           TEXT NOT NULL REFERENCES registry_models(id),
        version            INTEGER NOT NULL,
        onnx_sha256        TEXT NOT NULL,
        signature_json     TEXT NOT NULL,
        preprocessing_json TEXT,
        metrics_json       TEXT NOT NULL DEFAULT '{}',
        params_json        TEXT,
        run_id             TEXT,
        dataset_version_id TEXT,
        dataset_json       TEXT,
        split_json         TEXT,
        source             TEXT NOT NULL CHECK (source IN ('run', 'import', 'package')),
        metadata_json      TEXT NOT NULL DEFAULT '{}',
        description        TEXT NOT NULL DEFAULT '',
        tags_json          TEXT NOT NULL DEFAULT '{}',
        intended_use       TEXT NOT NULL DEFAULT '',
        card_md            TEXT,
        created_at         TEXT NOT NULL,
        created_by         TEXT NOT NULL,
        UNIQUE (model_id, version)
      ) STRICT;
      CREATE INDEX registry_versions_run ON registry_versions(run_id);
      CREATE INDEX registry_versions_dataset ON registry_versions(dataset_version_id);

      CREATE TRIGGER registry_versions_immutable BEFORE UPDATE OF
        id, model_id, version, onnx_sha256, signature_json, preprocessing_json, metrics_json, params_json,
        run_id, dataset_version_id, dataset_json, split_json, source, metadata_json, created_at, created_by
        ON registry_versions
        BEGIN SELECT RAISE(ABORT, 'a model version is immutable'); END;
      CREATE TRIGGER registry_versions_no_delete BEFORE DELETE ON registry_versions
        BEGIN SELECT RAISE(ABORT, 'a model version is immutable'); END;

      CREATE TABLE registry_aliases (
        model_id   TEXT NOT NULL REFERENCES registry_models(id),
        alias      TEXT NOT NULL,
        version_id TEXT NOT NULL REFERENCES registry_versions(id),
        since      TEXT NOT NULL,
        PRIMARY KEY (model_id, alias)
      ) STRICT;

      -- Every move of every alias, kept forever: rollback reads it, the UI draws it.
      CREATE TABLE registry_alias_history (
        id                  INTEGER PRIMARY KEY,
        model_id            TEXT NOT NULL REFERENCES registry_models(id),
        alias               TEXT NOT NULL,
        version_id          TEXT NOT NULL REFERENCES registry_versions(id),
        previous_version_id TEXT REFERENCES registry_versions(id),
        kind                TEXT NOT NULL CHECK (kind IN ('promote', 'rollback')),
        forced              INTEGER NOT NULL DEFAULT 0,
        gate_json           TEXT,
        reason              TEXT,
        cause               TEXT,
        time                TEXT NOT NULL,
        actor               TEXT NOT NULL
      ) STRICT;
      CREATE INDEX registry_alias_history_alias ON registry_alias_history(model_id, alias, id);

      CREATE TABLE registry_gates (
        model_id    TEXT NOT NULL REFERENCES registry_models(id),
        alias       TEXT NOT NULL,
        config_json TEXT NOT NULL,
        updated_at  TEXT NOT NULL,
        PRIMARY KEY (model_id, alias)
      ) STRICT;
    `)
  },
}
