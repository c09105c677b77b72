import { describe, expect, it } from 'vitest'
import { lathe, startLatheUi } from '../../cli/run-lathe.js'
import { tempDir } from '../../helpers/workspace.js'
import { TestMlflowClient } from './client.js'

describe('lathe mlflow-env, lathe token, lathe runs show (a running lathe ui)', () => {
  it('prints the two variables for the running engine, shows a script run, and rotates the token', async () => {
    const workspace = tempDir('lathe-mlflow-cli-')
    const none = await lathe(['mlflow-env', '--workspace', workspace])
    expect(none.code).toBe(1)
    expect(none.stderr).toMatch(/no engine is running on .*start the app or `lathe ui` first/)

    const ui = await startLatheUi(workspace)
    const env = await lathe(['mlflow-env', '--workspace', workspace])
    expect(env.code).toBe(0)
    expect(env.stdout).toBe(`MLFLOW_TRACKING_URI=${ui.url}\nMLFLOW_TRACKING_TOKEN=${ui.token}\n`)

    const client = new TestMlflowClient(ui.url, ui.token)
    const { run } = await client.call('POST', 'runs/create', {
      experiment_id: '0',
      user_id: 'alice',
      start_time: 1_764_576_001_000,
      tags: [
        { key: 'mlflow.source.name', value: 'train.py' },
        { key: 'mlflow.source.type', value: 'LOCAL' },
      ],
    })
    const runId = run.info.run_id as string
    await client.call('POST', 'runs/log-batch', {
      run_id: runId,
      params: [{ key: 'lr', value: '0.01' }],
      metrics: [
        { key: 'loss', value: 0.5, timestamp: 1, step: 1 },
        { key: 'loss', value: 'NaN', timestamp: 2, step: 2 },
      ],
    })
    await client.putArtifact(run.info.artifact_uri, 'f.txt', 'hi', 'text/plain')
    const shown = await lathe(['runs', 'show', runId, '--workspace', workspace])
    expect(shown.code).toBe(0)
    expect(shown.stdout).toContain(`run ${runId} (${run.info.run_name}): RUNNING, logged through the MLflow API`)
    expect(shown.stdout).toMatch(/user alice, source train\.py \(LOCAL\)/)
    expect(shown.stdout).toMatch(/lr\s+0\.01/)
    expect(shown.stdout).toMatch(/loss\s+NaN\s+2/)
    expect(shown.stdout).toMatch(/f\.txt\s+2/)

    const listed = await lathe(['runs', 'list', '--workspace', workspace])
    expect(listed.stdout).toContain('Runs logged through the MLflow API')
    expect(listed.stdout).toMatch(new RegExp(`${runId}\\s+${run.info.run_name}\\s+Default\\s+RUNNING\\s+alice\\s+train\\.py\\s+loss NaN`))

    const rotated = await lathe(['token', '--rotate', '--json', '--workspace', workspace])
    expect(rotated.code).toBe(0)
    const { token } = JSON.parse(rotated.stdout) as { token: string }
    expect(token).not.toBe(ui.token)
    const after = await lathe(['mlflow-env', '--workspace', workspace])
    expect(after.stdout).toContain(`MLFLOW_TRACKING_TOKEN=${token}\n`)
    const old = await fetch(`${ui.url}/api/2.0/mlflow/runs/get?run_id=${runId}`, { headers: { authorization: `Bearer ${ui.token}` } })
    expect(old.status).toBe(401)
  })
})
