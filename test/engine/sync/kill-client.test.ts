import { spawn } from 'node:child_process'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { cleanEnv, lathe, root } from '../../cli/run-lathe.js'
import { usePostgres } from '../../helpers/postgres.js'
import { count, dayOfWork, expectNoDuplicates, startTeamInProcess, teammate } from '../../helpers/team-sync.js'
import { irisOnnx, recordRun } from '../../helpers/synced-records.js'
import { openTestEngine, tempDir } from '../../helpers/workspace.js'

const pg = usePostgres()
const KILLS = Number(process.env.LATHE_TEST_KILLS ?? 30)
const FIRST_RUNS = 20

/** A small deterministic generator, so a failing run can be replayed with the same kill times. */
function lcg(seed: number): () => number {
  let state = seed
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31
    return state / 2 ** 31
  }
}

/** `lathe sync` in its own process, killed with SIGKILL after `ms` (or left to finish first). */
function syncKilledAfter(dir: string, ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(root, 'bin', 'lathe.mjs'), 'sync', '-w', dir, '--json'], { cwd: root, env: cleanEnv(), stdio: 'ignore' })
    const timer = setTimeout(() => child.kill('SIGKILL'), ms)
    child.on('error', reject)
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal })
    })
  })
}

describe('lathe sync killed with SIGKILL at random moments', () => {
  it(`${KILLS} killed syncs, then one clean sync: counts equal on both sides, zero duplicates, digests equal`, { timeout: 300_000 }, async () => {
    const team = await startTeamInProcess(pg.cluster())
    const dir = tempDir()
    const ana = await teammate(team, 'ana', dir)
    await dayOfWork(ana, FIRST_RUNS, 1500)
    const dataset = ana.context.workspace.db
      .prepare(`SELECT dataset_name AS name, dataset_version AS version, dataset_version_id AS versionId FROM training_runs LIMIT 1`)
      .get() as {
      name: string
      version: number
      versionId: string
    }
    await ana.close()

    const random = lcg(20261201)
    const outcomes: string[] = []
    for (let i = 0; i < KILLS; i++) {
      // Each sync has new work to push: a run with 1200 steps of 2 metrics, every fifth time a model version too.
      const engine = openTestEngine(dir)
      recordRun(engine, { dataset, metrics: ['loss', 'acc'], steps: 1200 })
      if (i % 5 === 0) await engine.call('registry.versions.import', { file: irisOnnx, name: 'iris' })
      await engine.close()
      // The built CLI starts in under a second and a sync takes a second or two: kill anywhere from before it connects to near the end.
      const r = await syncKilledAfter(dir, 150 + Math.floor(random() * 2500))
      outcomes.push(r.signal ?? `exit ${r.code}`)
    }
    // Some kills must have landed mid-sync for the test to mean anything: the server holds part of the outbox.
    if (KILLS > 0) expect(outcomes.filter((o) => o === 'SIGKILL').length).toBeGreaterThan(0)
    // Not spawnSync: the team server answers from this process's event loop.
    const clean = await lathe(['sync', '-w', dir, '--json'])
    expect(clean.stderr).not.toMatch(/internal error/)
    expect(JSON.parse(clean.stdout)).toMatchObject({ agreed: true, left: [] })
    expect(clean.code).toBe(0)
    const status = await lathe(['team', 'status', '--verify', '--json', '-w', dir])
    expect(JSON.parse(status.stdout).verified).toEqual({ agreed: true, differences: [] })
    expect(status.code).toBe(0)

    const reopened = openTestEngine(dir)
    await expectNoDuplicates(team, reopened)
    expect(await count(team.db, `SELECT count(*) AS n FROM sync_records WHERE kind = 'run'`)).toBe(FIRST_RUNS + KILLS)
  })
})
