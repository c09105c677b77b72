import type { Migration } from './types.js'

export const migration010: Migration = {
  version: 10,
  name: "mlflow: experiments, scripts' runs and their series, artifacts, logged models, registry entries",
  up(db) {
    db.exec(`
      -- MLflow experiment ids are small integers sent as strings; 0 is "Default".
      CREATE TABLE mlflow_experiments (
        experiment_id    INTEGER PRIMARY KEY,
        name             TEXT NOT NULL UNIQUE,
        lifecycle_stage  TEXT NOT NULL DEFAULT 'active' CHECK (lifecycle_stage IN ('active', 'deleted')),
        creation_time    INTEGER NOT NULL,
        last_update_time INTEGER NOT NULL,
        tags_json        TEXT NOT NULL DEFAULT '{}'
      ) STRICT;
      INSERT INTO mlflow_experiments (experiment_id, name, creation_time, last_update_time)
        VALUES (0, 'Default', CAST(unixepoch('subsec') * 1000 AS INTEGER), CAST(unixepoch('subsec') * 1000 AS INTEGER));

      -- A run logged by a script. request_sha256 and created_ms let a runs/create the
      -- client replays (it retries every POST) return the run it already made.
      CREATE TABLE mlflow_runs (
        run_id          TEXT PRIMARY KEY,
        seq             INTEGER NOT NULL UNIQUE,
        experiment_id   INTEGER NOT NULL REFERENCES mlflow_experiments(experiment_id),
        run_name        TEXT NOT NULL,
        user_id         TEXT NOT NULL,
        status          TEXT NOT NULL CHECK (status IN ('RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED')),
        start_time      INTEGER NOT NULL,
        end_time        INTEGER,
        lifecycle_stage TEXT NOT NULL DEFAULT 'active' CHECK (lifecycle_stage IN ('active', 'deleted')),
        client          TEXT NOT NULL,
        source_name     TEXT,
        source_type     TEXT,
        request_sha256  TEXT NOT NULL,
        created_ms      INTEGER NOT NULL,
        inputs_json     TEXT NOT NULL DEFAULT '[]',
        model_inputs_json TEXT NOT NULL DEFAULT '[]',
        outputs_json    TEXT NOT NULL DEFAULT '[]'
      ) STRICT;
      CREATE INDEX mlflow_runs_experiment ON mlflow_runs(experiment_id, start_time);
      CREATE INDEX mlflow_runs_replay ON mlflow_runs(request_sha256, created_ms);

      CREATE TABLE mlflow_run_params (
        run_id TEXT NOT NULL REFERENCES mlflow_runs(run_id),
        key    TEXT NOT NULL,
        value  TEXT NOT NULL,
        PRIMARY KEY (run_id, key)
      ) STRICT;

      CREATE TABLE mlflow_run_tags (
        run_id TEXT NOT NULL REFERENCES mlflow_runs(run_id),
        key    TEXT NOT NULL,
        value  TEXT NOT NULL,
        PRIMARY KEY (run_id, key)
      ) STRICT;

      -- One row per point, as MLflow keeps them. NaN and the infinities are kept as
      -- their spelling in 'special' (SQLite stores NaN as NULL), so they go back out
      -- exactly as the client sent them; an exact replay of a point is ignored.
      CREATE TABLE mlflow_run_metrics (
        id             INTEGER PRIMARY KEY,
        run_id         TEXT NOT NULL REFERENCES mlflow_runs(run_id),
        key            TEXT NOT NULL,
        step           INTEGER NOT NULL,
        timestamp      INTEGER NOT NULL,
        value          REAL NOT NULL,
        special        TEXT NOT NULL DEFAULT '' CHECK (special IN ('', 'NaN', 'Infinity', '-Infinity')),
        model_id       TEXT NOT NULL DEFAULT '',
        dataset_name   TEXT NOT NULL DEFAULT '',
        dataset_digest TEXT NOT NULL DEFAULT '',
        UNIQUE (run_id, key, timestamp, step, value, special, model_id, dataset_name, dataset_digest)
      ) STRICT;
      CREATE INDEX mlflow_run_metrics_series ON mlflow_run_metrics(run_id, key, step, timestamp);

      -- Artifacts by their path under the mlflow-artifacts root ('1/<run>/artifacts/f.txt');
      -- the bytes are objects in the store. Replacing a file repoints the row.
      CREATE TABLE mlflow_artifacts (
        path         TEXT PRIMARY KEY,
        sha256       TEXT NOT NULL,
        size         INTEGER NOT NULL,
        content_type TEXT NOT NULL,
        updated_at   TEXT NOT NULL
      ) STRICT;

      CREATE TABLE mlflow_logged_models (
        model_id        TEXT PRIMARY KEY,
        experiment_id   INTEGER NOT NULL REFERENCES mlflow_experiments(experiment_id),
        name            TEXT NOT NULL,
        model_type      TEXT,
        source_run_id   TEXT,
        status          TEXT NOT NULL,
        status_message  TEXT,
        creator_id      TEXT,
        creation_ms     INTEGER NOT NULL,
        last_updated_ms INTEGER NOT NULL,
        params_json     TEXT NOT NULL DEFAULT '{}',
        tags_json       TEXT NOT NULL DEFAULT '{}',
        deleted         INTEGER NOT NULL DEFAULT 0
      ) STRICT;

      -- MLflow's registry as scripts see it. A version whose model is ONNX is also a
      -- Lathe registry version (lathe_version); any other flavor is artifact-only and
      -- says why in not_servable.
      CREATE TABLE mlflow_registered_models (
        name          TEXT PRIMARY KEY,
        description   TEXT NOT NULL DEFAULT '',
        tags_json     TEXT NOT NULL DEFAULT '{}',
        user_id       TEXT,
        creation_ms   INTEGER NOT NULL,
        last_updated_ms INTEGER NOT NULL
      ) STRICT;

      CREATE TABLE mlflow_model_versions (
        name            TEXT NOT NULL REFERENCES mlflow_registered_models(name) ON UPDATE CASCADE,
        version         INTEGER NOT NULL,
        source          TEXT NOT NULL,
        storage_path    TEXT NOT NULL,
        run_id          TEXT,
        model_id        TEXT,
        user_id         TEXT,
        description     TEXT NOT NULL DEFAULT '',
        tags_json       TEXT NOT NULL DEFAULT '{}',
        current_stage   TEXT NOT NULL DEFAULT 'None' CHECK (current_stage IN ('None', 'Staging', 'Production', 'Archived')),
        run_link        TEXT,
        lathe_version   INTEGER,
        not_servable    TEXT,
        -- As for runs: a model-versions/create replayed verbatim returns the version it made.
        request_sha256  TEXT NOT NULL,
        creation_ms     INTEGER NOT NULL,
        last_updated_ms INTEGER NOT NULL,
        deleted         INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (name, version)
      ) STRICT;
      CREATE INDEX mlflow_model_versions_replay ON mlflow_model_versions(request_sha256, creation_ms);

      CREATE TABLE mlflow_model_aliases (
        name    TEXT NOT NULL REFERENCES mlflow_registered_models(name) ON UPDATE CASCADE,
        alias   TEXT NOT NULL,
        version INTEGER NOT NULL,
        PRIMARY KEY (name, alias)
      ) STRICT;
    `)
  },
}
