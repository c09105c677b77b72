import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Engine } from '../src-main/engine/engine.js'
import { runSync } from '../src-main/engine/sync/sync.js'
import { addProject, addUser, createToken } from '../src-main/team/accounts.js'
import { openDb } from '../src-main/team/db.js'
import { cliActor, initTeamServer } from '../src-main/team/init.js'
import { createTeamServer } from '../src-main/team/server.js'
import { startPostgres } from '../test/helpers/postgres.js'
import { recordRun } from '../test/helpers/synced-records.js'

/**
 * `npm run bench -- sync [--kills K]`: a throwaway PostgreSQL and the team server in
 * this process, a workspace with 100 runs x 10 metrics x 1000 steps (1M points).
 * 1. push from a cold outbox, end to end (1000-step segments, 8 MiB batches);
 * 2. replay of the applied outbox (every answer lost: all resent, all `duplicate`), then
 *    the digest comparison `--verify` asks for (a sync no longer runs it unasked);
 * 3. beside it, the same 1M points stored the way MLflow's tracking server does
 *    (one metrics row per point, a log-batch of 1000 per transaction), same database;
 * 4. `lathe sync` SIGKILLed at random moments K times (default 100), then a clean sync:
 *    duplicates and lost operations counted on the server.
 */
const RUNS = 100
const METRICS = 10
const STEPS = 1000

const seconds = (ms: number) => `${(ms / 1000).toFixed(3)} s`

export async function run(): Promise<void> {
  const killsArg = process.argv.indexOf('--kills')
  const kills = killsArg > 0 ? Number(process.argv[killsArg + 1]) : 100
  const cluster = await startPostgres()
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lathe-bench-sync-'))
  try {
    const dbUrl = await cluster.createDatabase()
    const db = await openDb(dbUrl)
    await initTeamServer(db, path.join(dir, 'objects'))
    await addProject(db, cliActor(), 'bench')
    await addUser(db, cliActor(), 'ana', 'maintainer', 'bench')
    const { token } = await createToken(db, cliActor(), 'ana', null)
    const server = await createTeamServer({ db, objectsDir: path.join(dir, 'objects'), logLevel: 'silent' })
    const url = await server.listen('127.0.0.1', 0)

    const workspace = path.join(dir, 'ws')
    const engine = Engine.open({ workspaceDir: workspace, holder: 'bench' })
    const dataset = { name: 'bench', version: 1, versionId: 'bench-v1' }
    let t = performance.now()
    for (let r = 0; r < RUNS; r++) recordRun(engine, { dataset, metrics: Array.from({ length: METRICS }, (_, i) => `m${i}`), steps: STEPS })
    process.stdout.write(
      `workspace: ${RUNS} runs x ${METRICS} metrics x ${STEPS} steps = ${RUNS * METRICS * STEPS} points recorded in ${seconds(performance.now() - t)}\n`,
    )
    await engine.call('sync.connect', { url, token, project: 'bench' })
    const ops = (await engine.call('sync.status', {})).pending

    t = performance.now()
    const pushed = await runSync(engine.context, { pull: false })
    const pushMs = performance.now() - t
    process.stdout.write(`push from a cold outbox: ${ops} ops (${JSON.stringify(pushed.pushed)}) in ${seconds(pushMs)}; agreed: ${pushed.agreed}\n`)

    // Every answer lost: the whole outbox goes again.
    engine.context.workspace.db.prepare(`UPDATE sync_outbox SET state = 'pending'`).run()
    t = performance.now()
    const replay = await runSync(engine.context, { pull: false })
    const replayMs = performance.now() - t
    process.stdout.write(`replay of the applied outbox: ${JSON.stringify(replay.pushed)} in ${seconds(replayMs)}\n`)
    // What a sync no longer does unless asked (lathe sync --verify, lathe team status --verify).
    t = performance.now()
    const verified = await engine.call('sync.status', { verify: true })
    process.stdout.write(`verify (digests of both sides compared, on demand): agreed ${verified.verified?.agreed} in ${seconds(performance.now() - t)}\n`)

    // MLflow's shape: a metrics row per point, log-batch requests of at most 1000 metrics, one transaction each.
    await db.query(`CREATE TABLE mlflow_metrics (run_uuid text, key text, value double precision, timestamp bigint, step bigint, is_nan boolean,
                    PRIMARY KEY (run_uuid, key, timestamp, step, value))`)
    t = performance.now()
    for (let r = 0; r < RUNS; r++) {
      for (let m = 0; m < METRICS; m++) {
        const values: unknown[] = []
        const rows: string[] = []
        for (let s = 0; s < STEPS; s++) {
          const o = values.length
          rows.push(`($${o + 1}, $${o + 2}, $${o + 3}, $${o + 4}, $${o + 5}, false)`)
          values.push(`run${r}`, `m${m}`, 1 / (s + 1) + m, 1700000000000 + s, s)
        }
        await db.query(`INSERT INTO mlflow_metrics VALUES ${rows.join(', ')}`, values)
      }
    }
    const mlflowMs = performance.now() - t
    process.stdout.write(
      `MLflow-shaped storage of the same points (row per point, 1000 per log-batch transaction): ${seconds(mlflowMs)}; ` +
        `Lathe's end-to-end push is ${(mlflowMs / pushMs).toFixed(2)}x faster than that storage step alone\n`,
    )
    await engine.close()

    if (kills > 0) {
      const applied = await killLoop(workspace, kills, url, db)
      process.stdout.write(applied)
    }
    await server.close()
    await db.end()
  } finally {
    await cluster.stop()
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

/** K syncs of a fresh outbox (one more run each time), each SIGKILLed at a random moment, then one clean sync. */
async function killLoop(workspace: string, kills: number, _url: string, db: Awaited<ReturnType<typeof openDb>>): Promise<string> {
  const bin = path.resolve('bin/lathe.mjs')
  let killed = 0
  const started = performance.now()
  for (let i = 0; i < kills; i++) {
    const engine = Engine.open({ workspaceDir: workspace, holder: 'bench' })
    recordRun(engine, { dataset: { name: 'bench', version: 1, versionId: 'bench-v1' }, metrics: ['loss'], steps: 3000 })
    await engine.close()
    const code = await new Promise<NodeJS.Signals | number | null>((resolve) => {
      const child = spawn(process.execPath, [bin, 'sync', '-w', workspace, '--json'], { stdio: 'ignore', env: { ...process.env, NODE_OPTIONS: '' } })
      const timer = setTimeout(() => child.kill('SIGKILL'), 500 + Math.random() * 6000)
      child.on('exit', (c, s) => {
        clearTimeout(timer)
        resolve(s ?? c)
      })
    })
    if (code === 'SIGKILL') killed += 1
  }
  const engine = Engine.open({ workspaceDir: workspace, holder: 'bench' })
  const final = await runSync(engine.context, {})
  const local = engine.context.workspace.db.prepare('SELECT count(*) FROM training_runs').pluck().get() as number
  const points = engine.context.workspace.db.prepare('SELECT count(*) FROM training_metrics').pluck().get() as number
  await engine.close()
  const q = async (sql: string) => Number((await db.query(sql)).rows[0].n)
  const serverRuns = await q(`SELECT count(*) AS n FROM sync_records WHERE kind = 'run' AND project = 'bench'`)
  const serverPoints = await q(`SELECT coalesce(sum(points), 0) AS n FROM sync_segments WHERE project = 'bench'`)
  const duplicates = Math.max(0, serverRuns - local) + Math.max(0, serverPoints - points)
  const lost = Math.max(0, local - serverRuns) + Math.max(0, points - serverPoints)
  return (
    `kill -9 loop: K=${kills} syncs (${killed} killed mid-way) in ${seconds(performance.now() - started)}, then one clean sync: ` +
    `agreed ${final.agreed}; runs ${local} here / ${serverRuns} server, points ${points} / ${serverPoints}; duplicates ${duplicates}, lost ${lost}\n`
  )
}
