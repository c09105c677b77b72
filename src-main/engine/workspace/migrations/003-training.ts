import type { Migration } from './types.js'

export const migration003: Migration = {
  version: 3,
  name: 'training: runs, their metric series, sweeps',
  up(db) {
    db.exec(`
      CREATE TABLE training_sweeps (
        id          TEXT PRIMARY KEY,
        created_at  TEXT NOT NULL,
        method      TEXT NOT NULL,
        metric      TEXT NOT NULL,
        spec_json   TEXT NOT NULL
      ) STRICT;

      -- Columns that lists filter and sort on; the rest of the record is JSON, written
      -- once when the run is queued (spec) and once when it ends (outcome).
      CREATE TABLE training_runs (
        id            TEXT PRIMARY KEY,
        seq           INTEGER NOT NULL,
        status        TEXT NOT NULL CHECK (status IN ('queued','running','finished','failed','cancelled')),
        error         TEXT,
        dataset_name  TEXT NOT NULL,
        dataset_version INTEGER NOT NULL,
        dataset_version_id TEXT NOT NULL,
        task          TEXT NOT NULL,
        target        TEXT NOT NULL,
        model_family  TEXT NOT NULL,
        sweep_id      TEXT REFERENCES training_sweeps(id),
        register_as   TEXT,
        created_at    TEXT NOT NULL,
        started_at    TEXT,
        finished_at   TEXT,
        record_json   TEXT NOT NULL
      ) STRICT;
      CREATE INDEX training_runs_status ON training_runs(status);
      CREATE INDEX training_runs_sweep ON training_runs(sweep_id);
      CREATE INDEX training_runs_dataset ON training_runs(dataset_name, dataset_version);

      CREATE TABLE training_metrics (
        run_id  TEXT NOT NULL REFERENCES training_runs(id),
        name    TEXT NOT NULL,
        step    INTEGER NOT NULL,
        value   REAL NOT NULL,
        PRIMARY KEY (run_id, name, step)
      ) STRICT;
    `)
  },
}
