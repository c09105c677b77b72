import type Database from 'better-sqlite3'
import type { PipelineRun, StageRun, StageOutput, RunGraphStage } from './types.js'

/** Every SQL statement against the pipeline tables (migration 011). */

interface RunRow {
  id: string
  pipeline: string
  file: string
  status: PipelineRun['status']
  failed_stage: string | null
  error: string | null
  trigger: string
  cause: string | null
  forced_json: string
  graph_json: string
  actor: string
  started_at: string
  finished_at: string | null
}

interface StageRow {
  run_id: string
  stage: string
  kind: string
  key: string
  status: StageRun['status']
  output_json: string | null
  progress_json: string | null
  error: string | null
  detail_json: string | null
  started_at: string
  finished_at: string | null
}

const parse = <T>(json: string | null): T | null => (json === null ? null : (JSON.parse(json) as T))

function stageOf(row: StageRow): StageRun {
  return {
    runId: row.run_id,
    stage: row.stage,
    kind: row.kind as StageRun['kind'],
    key: row.key,
    status: row.status,
    output: parse<StageOutput>(row.output_json),
    progress: parse<Record<string, string>>(row.progress_json),
    error: row.error,
    detail: parse<Record<string, unknown>>(row.detail_json),
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  }
}

function runOf(db: Database.Database, row: RunRow): PipelineRun {
  const stages = (db.prepare('SELECT * FROM pipeline_stage_runs WHERE run_id = ? ORDER BY started_at, rowid').all(row.id) as StageRow[]).map(stageOf)
  return {
    id: row.id,
    pipeline: row.pipeline,
    file: row.file,
    status: row.status,
    failedStage: row.failed_stage,
    error: row.error,
    trigger: row.trigger,
    cause: row.cause,
    forced: JSON.parse(row.forced_json) as string[],
    graph: JSON.parse(row.graph_json) as RunGraphStage[],
    actor: row.actor,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    stages,
  }
}

export function insertRun(
  db: Database.Database,
  run: Pick<PipelineRun, 'id' | 'pipeline' | 'file' | 'trigger' | 'cause' | 'forced' | 'graph' | 'actor' | 'startedAt'>,
): void {
  db.prepare(
    `INSERT INTO pipeline_runs (id, pipeline, file, status, trigger, cause, forced_json, graph_json, actor, started_at)
     VALUES (?, ?, ?, 'running', ?, ?, ?, ?, ?, ?)`,
  ).run(run.id, run.pipeline, run.file, run.trigger, run.cause, JSON.stringify(run.forced), JSON.stringify(run.graph), run.actor, run.startedAt)
}

export function finishRun(db: Database.Database, id: string, end: { status: 'passed' | 'failed'; failedStage: string | null; error: string | null }): void {
  db.prepare('UPDATE pipeline_runs SET status = ?, failed_stage = ?, error = ?, finished_at = ? WHERE id = ?').run(
    end.status,
    end.failedStage,
    end.error,
    new Date().toISOString(),
    id,
  )
}

/**
 * Runs (and their stages) left `running` by a process that died: marked interrupted.
 * Only one engine holds a workspace, so a running row this engine did not start is dead.
 */
export function settleInterruptedRuns(db: Database.Database, live: ReadonlySet<string>): string[] {
  const rows = db.prepare(`SELECT id FROM pipeline_runs WHERE status = 'running'`).all() as Array<{ id: string }>
  const dead = rows.map((r) => r.id).filter((id) => !live.has(id))
  const now = new Date().toISOString()
  db.transaction(() => {
    for (const id of dead) {
      db.prepare(`UPDATE pipeline_runs SET status = 'interrupted', error = 'the process running it stopped', finished_at = ? WHERE id = ?`).run(now, id)
    }
  })()
  return dead
}

export function getRun(db: Database.Database, id: string): PipelineRun | null {
  const row = db.prepare('SELECT * FROM pipeline_runs WHERE id = ?').get(id) as RunRow | undefined
  return row ? runOf(db, row) : null
}

export function listRuns(db: Database.Database, filter: { pipeline?: string; limit?: number } = {}): PipelineRun[] {
  const rows = (
    filter.pipeline
      ? db.prepare('SELECT * FROM pipeline_runs WHERE pipeline = ? ORDER BY started_at DESC, rowid DESC LIMIT ?').all(filter.pipeline, filter.limit ?? 50)
      : db.prepare('SELECT * FROM pipeline_runs ORDER BY started_at DESC, rowid DESC LIMIT ?').all(filter.limit ?? 50)
  ) as RunRow[]
  return rows.map((r) => runOf(db, r))
}

/** Every pipeline this workspace has run, with the file its latest run read. */
export function listPipelines(db: Database.Database): Array<{ pipeline: string; file: string; runs: number; lastRunAt: string }> {
  return db
    .prepare(
      `SELECT pipeline, (SELECT file FROM pipeline_runs r2 WHERE r2.pipeline = r.pipeline ORDER BY started_at DESC, rowid DESC LIMIT 1) AS file,
              count(*) AS runs, max(started_at) AS lastRunAt
       FROM pipeline_runs r GROUP BY pipeline ORDER BY pipeline`,
    )
    .all() as Array<{ pipeline: string; file: string; runs: number; lastRunAt: string }>
}

export function startStage(db: Database.Database, runId: string, pipeline: string, stage: { stage: string; kind: string; key: string }): void {
  db.prepare(`INSERT INTO pipeline_stage_runs (run_id, pipeline, stage, kind, key, status, started_at) VALUES (?, ?, ?, ?, ?, 'running', ?)`).run(
    runId,
    pipeline,
    stage.stage,
    stage.kind,
    stage.key,
    new Date().toISOString(),
  )
}

export function recordSkippedStage(
  db: Database.Database,
  runId: string,
  pipeline: string,
  stage: { stage: string; kind: string; key: string },
  output: StageOutput,
): void {
  const now = new Date().toISOString()
  db.prepare(
    `INSERT INTO pipeline_stage_runs (run_id, pipeline, stage, kind, key, status, output_json, started_at, finished_at) VALUES (?, ?, ?, ?, ?, 'skipped', ?, ?, ?)`,
  ).run(runId, pipeline, stage.stage, stage.kind, stage.key, JSON.stringify(output), now, now)
}

/** What a stage started that outlives a kill (a training run id): recorded before waiting on it. */
export function setStageProgress(db: Database.Database, runId: string, stage: string, progress: Record<string, string>): void {
  db.prepare('UPDATE pipeline_stage_runs SET progress_json = ? WHERE run_id = ? AND stage = ?').run(JSON.stringify(progress), runId, stage)
}

export function endStage(
  db: Database.Database,
  runId: string,
  stage: string,
  end: { status: 'ran' | 'failed'; output?: StageOutput | null; error?: string | null; detail?: Record<string, unknown> | null },
): void {
  db.prepare('UPDATE pipeline_stage_runs SET status = ?, output_json = ?, error = ?, detail_json = ?, finished_at = ? WHERE run_id = ? AND stage = ?').run(
    end.status,
    end.output ? JSON.stringify(end.output) : null,
    end.error ?? null,
    end.detail ? JSON.stringify(end.detail) : null,
    new Date().toISOString(),
    runId,
    stage,
  )
}

/** The output of the latest successful run of this stage with this key: the cache. */
export function cachedOutput(db: Database.Database, pipeline: string, stage: string, key: string): StageOutput | null {
  const row = db
    .prepare(
      `SELECT output_json FROM pipeline_stage_runs WHERE pipeline = ? AND stage = ? AND key = ? AND status IN ('ran', 'skipped') AND output_json IS NOT NULL
       ORDER BY started_at DESC, rowid DESC LIMIT 1`,
    )
    .get(pipeline, stage, key) as { output_json: string } | undefined
  return row ? (JSON.parse(row.output_json) as StageOutput) : null
}

/** What an earlier, unfinished attempt at this stage with this key had started (to adopt rather than repeat). */
export function unfinishedProgress(db: Database.Database, pipeline: string, stage: string, key: string): Record<string, string> | null {
  const row = db
    .prepare(
      `SELECT progress_json FROM pipeline_stage_runs WHERE pipeline = ? AND stage = ? AND key = ? AND status = 'running' AND progress_json IS NOT NULL
       ORDER BY started_at DESC, rowid DESC LIMIT 1`,
    )
    .get(pipeline, stage, key) as { progress_json: string } | undefined
  return row ? (JSON.parse(row.progress_json) as Record<string, string>) : null
}

/** The latest recorded state of each stage of a pipeline (for status and the UI). */
export function latestStageRuns(db: Database.Database, pipeline: string): Map<string, StageRun> {
  const rows = db
    .prepare(
      `SELECT s.* FROM pipeline_stage_runs s
       WHERE s.pipeline = ? AND s.rowid = (SELECT max(rowid) FROM pipeline_stage_runs t WHERE t.pipeline = s.pipeline AND t.stage = s.stage)`,
    )
    .all(pipeline) as StageRow[]
  return new Map(rows.map((r) => [r.stage, stageOf(r)]))
}
