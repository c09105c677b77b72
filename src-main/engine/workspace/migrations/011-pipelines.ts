import type { Migration } from './types.js'

export const migration011: Migration = {
  version: 11,
  name: 'pipelines: runs of lathe.yaml and their stages (the cache)',
  up(db) {
    db.exec(`
      -- One row per \`lathe pipeline run\` (by hand, CI, the UI or a monitor's run-pipeline action).
      CREATE TABLE pipeline_runs (
        id            TEXT PRIMARY KEY,
        pipeline      TEXT NOT NULL,
        file          TEXT NOT NULL,
        status        TEXT NOT NULL CHECK (status IN ('running', 'passed', 'failed', 'interrupted')),
        failed_stage  TEXT,
        error         TEXT,
        -- cli, ui, monitor; cause is the alert id when a monitor started it.
        trigger       TEXT NOT NULL,
        cause         TEXT,
        forced_json   TEXT NOT NULL,
        -- The stages in run order with their dependencies, as the file said at the time.
        graph_json    TEXT NOT NULL,
        actor         TEXT NOT NULL,
        started_at    TEXT NOT NULL,
        finished_at   TEXT
      ) STRICT;
      CREATE INDEX pipeline_runs_by_pipeline ON pipeline_runs (pipeline, started_at);

      -- One row per stage per run. A stage whose key (hash of its definition and inputs)
      -- matches an earlier ran/skipped row is skipped with that row's output: the cache.
      CREATE TABLE pipeline_stage_runs (
        run_id        TEXT NOT NULL REFERENCES pipeline_runs (id),
        pipeline      TEXT NOT NULL,
        stage         TEXT NOT NULL,
        kind          TEXT NOT NULL,
        key           TEXT NOT NULL,
        status        TEXT NOT NULL CHECK (status IN ('running', 'ran', 'skipped', 'failed')),
        output_json   TEXT,
        -- What a stage started that outlives a killed process (a training run, a sweep), so a re-run adopts it.
        progress_json TEXT,
        error         TEXT,
        detail_json   TEXT,
        started_at    TEXT NOT NULL,
        finished_at   TEXT,
        PRIMARY KEY (run_id, stage)
      ) STRICT;
      CREATE INDEX pipeline_stage_runs_by_key ON pipeline_stage_runs (pipeline, stage, key);
    `)
  },
}
