import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'
import { parse } from 'yaml'
import { describe, expect, it } from 'vitest'
import { afterThisTest, tempDir } from '../helpers/workspace.js'
import { exampleYaml, weatherProject } from '../engine/pipelines/helpers.js'
import { cleanEnv, lathe, root } from './run-lathe.js'

const bin = path.join(root, 'bin', 'lathe.mjs')

/** Reads the workspace's lathe.db read-only, as an observer beside a running lathe. */
function query<T>(workspace: string, sql: string): T[] {
  const file = path.join(workspace, 'lathe.db')
  if (!fs.existsSync(file)) return []
  const db = new Database(file, { readonly: true, fileMustExist: true })
  try {
    return db.prepare(sql).all() as T[]
  } catch {
    return []
  } finally {
    db.close()
  }
}

describe('lathe pipeline', () => {
  it('exits 2 with FILE:LINE:COLUMN for a typo in a stage reference and for a cycle, and records nothing', async () => {
    const ws = tempDir()
    const { file } = weatherProject({ yaml: exampleYaml.replace('dataset: recent', 'dataset: recnt') })
    const typo = await lathe(['pipeline', 'run', file, '-w', ws])
    expect(typo.code, typo.stderr).toBe(2)
    expect(typo.stderr).toContain(`lathe: ${file}:9:22: stage "model" refers to "recnt"`)
    expect(typo.stderr).toContain('did you mean "recent"?')

    const cycle = weatherProject({
      yaml: `pipeline: loop\nstages:\n  a:\n    sql: SELECT * FROM b\n  b:\n    sql: SELECT * FROM a\n`,
    })
    for (const command of ['run', 'status', 'show']) {
      const result = await lathe(['pipeline', command, cycle.file, '-w', ws])
      expect(result.code, `${command}: ${result.stderr}`).toBe(2)
      expect(result.stderr).toContain(`${cycle.file}:6:24: stages form a cycle: a -> b -> a`)
    }
    expect(query(ws, 'SELECT id FROM pipeline_runs')).toEqual([])
  })

  it('show prints the graph; a misnamed --force is a usage error', async () => {
    const ws = tempDir()
    const { file } = weatherProject()
    const show = await lathe(['pipeline', 'show', file, '-w', ws])
    expect(show.code, show.stderr).toBe(0)
    expect(show.stdout).toContain('recent [sql] <- raw')
    expect(show.stdout).toContain('release [promote] <- model')
    const force = await lathe(['pipeline', 'run', file, '-w', ws, '--force', 'modle'])
    expect(force.code).toBe(2)
    expect(force.stderr).toContain('--force modle: no stage of that name')
  })

  it('a kill -9 in the middle of a run leaves a state from which the next run completes, with no duplicate versions', async () => {
    const ws = tempDir()
    const { file } = weatherProject()
    const child = spawn(process.execPath, [bin, 'pipeline', 'run', file, '-w', ws], { cwd: root, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] })
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('close', (_code, signal) => resolve(signal)))
    afterThisTest(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      await exited
    })
    // Kill it once the train stage has started its training run (and raw and recent have landed).
    for (let i = 0; i < 1200; i++) {
      const started = query<{ progress_json: string | null }>(ws, `SELECT progress_json FROM pipeline_stage_runs WHERE stage = 'model'`)
      if (started[0]?.progress_json) break
      await new Promise((r) => setTimeout(r, 100))
    }
    child.kill('SIGKILL')
    expect(await exited).toBe('SIGKILL')
    expect(query<{ status: string }>(ws, 'SELECT status FROM pipeline_runs')).toEqual([{ status: 'running' }])

    const next = await lathe(['pipeline', 'run', file, '-w', ws, '--json'])
    expect(next.code, next.stderr).toBe(0)
    const run = JSON.parse(next.stdout)
    expect(run.status).toBe('passed')
    expect(run.stages.map((s: { stage: string; status: string }) => `${s.stage}:${s.status}`)).toEqual([
      'raw:skipped',
      'recent:skipped',
      'model:ran',
      'release:ran',
    ])
    expect(query(ws, `SELECT status FROM pipeline_runs ORDER BY started_at`)).toEqual([{ status: 'interrupted' }, { status: 'passed' }])
    // One version of each dataset, one model version, production on it.
    expect(query(ws, `SELECT d.name, count(*) AS n FROM dataset_versions v JOIN datasets d ON d.id = v.dataset_id GROUP BY d.name ORDER BY d.name`)).toEqual([
      { name: 'weather.raw', n: 1 },
      { name: 'weather.recent', n: 1 },
    ])
    const models = await lathe(['models', 'show', 'weather', '-w', ws, '--json'])
    const shown = JSON.parse(models.stdout)
    expect(shown.versions).toHaveLength(1)
    expect(shown.model.aliases).toEqual([expect.objectContaining({ alias: 'production', version: 1 })])

    const again = await lathe(['pipeline', 'run', file, '-w', ws, '--json'])
    expect(JSON.parse(again.stdout).stages.every((s: { status: string }) => s.status === 'skipped')).toBe(true)
  })

  it('docs/ci/github-actions.yml: its status, run and post steps work as written (Lathe from this checkout, gh recorded)', () => {
    const workflow = parse(fs.readFileSync(path.join(root, 'docs', 'ci', 'github-actions.yml'), 'utf8'))
    const steps: Array<{ name?: string; run?: string; uses?: string }> = workflow.jobs.pipeline.steps
    const step = (name: string) => steps.find((s) => s.name === name)!.run!
    expect(step('Install Lathe')).toContain('npm install --global lathe')

    // The installed `lathe` is this checkout's; `gh` records what it would post.
    const { dir } = weatherProject({ rules: true })
    const tools = tempDir()
    fs.writeFileSync(path.join(tools, 'lathe'), `#!/bin/sh\nexec "${process.execPath}" "${bin}" "$@"\n`, { mode: 0o755 })
    fs.writeFileSync(path.join(tools, 'gh'), `#!/bin/sh\necho "$@" > "${tools}/gh-args"\ncp "$5" "${tools}/posted.md"\n`, { mode: 0o755 })
    const env = cleanEnv({ PATH: `${tools}:${process.env.PATH}`, LATHE_WORKSPACE: path.join(dir, '.lathe'), GH_TOKEN: 'test' })
    const sh = (script: string) =>
      spawnSync('bash', ['-e', '-c', script.replaceAll('${{ github.event.pull_request.number }}', '7')], { cwd: dir, env, encoding: 'utf8', timeout: 300_000 })

    const status = sh(step('Pipeline status'))
    expect(status.status, status.stderr).toBe(0)
    expect(status.stdout).toContain('raw      import   stale  never run')
    const run = sh(step('Run the pipeline'))
    expect(run.status, run.stderr).toBe(0)
    expect(run.stdout).toContain('pipeline weather')
    const post = sh(step('Post the report'))
    expect(post.status, post.stderr).toBe(0)
    expect(fs.readFileSync(path.join(tools, 'gh-args'), 'utf8')).toBe('pr comment 7 --body-file lathe-report.md\n')
    const posted = fs.readFileSync(path.join(tools, 'posted.md'), 'utf8')
    expect(posted).toContain('## ✅ Pipeline `weather`: passed')
    expect(posted).toContain('#### Gate for production: passed')
    expect(posted).toContain('| metric test.accuracy >= 0.6 | ✅ pass |')
  })
})
