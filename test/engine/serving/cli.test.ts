import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { createHttpClient } from '../../../src-main/engine/api/common/client.js'
import type { Contract } from '../../../src-main/engine/contract.js'
import { findRunningEngine } from '../../../src-main/engine/workspace/lock.js'
import { expectedIris, irisClassifierOnnx, writeModel } from '../../fixtures/serving/onnx-models.js'
import { latheSync, startLathe } from '../../cli/run-lathe.js'
import { openTestEngine, tempDir } from '../../helpers/workspace.js'
import { postJson } from './helpers.js'

const runLathe = (args: string[]) => latheSync(args, { timeoutMs: 60_000 })

/** A workspace whose registry holds two imported versions of the iris classifier, v1 in production. */
async function workspaceWithIris(): Promise<string> {
  const dir = tempDir('lathe-serve-cli-')
  const files = tempDir('lathe-serve-files-')
  const engine = openTestEngine(dir)
  await engine.call('registry.versions.import', { file: writeModel(files, 'iris-v1', irisClassifierOnnx(1)), name: 'iris' })
  await engine.call('registry.versions.import', { file: writeModel(files, 'iris-v2', irisClassifierOnnx(3)), name: 'iris' })
  await engine.call('registry.promote', { model: 'iris', version: 1, alias: 'production', force: true, reason: 'test setup' })
  await engine.close()
  return dir
}

const rows = [
  { petal_length: 1.4, petal_width: 0.2, color: 'red' },
  { petal_length: 6.1, petal_width: 0.1, color: 'blue' },
]

describe('lathe serve and lathe predict, with the real registry', () => {
  it('serves the production version, hot-swaps on promote, and predicts a CSV through the running engine', async () => {
    const dir = await workspaceWithIris()
    const { first: status } = await startLathe(['serve', '--port', '0', '--json', '-w', dir], { stop: 'SIGTERM' })
    expect(status.deployments).toMatchObject([{ model: 'iris', selector: 'production', version: 1, isDefault: true }])
    const v1 = await postJson(`${status.url}/invocations`, { dataframe_records: rows })
    expect(v1.status).toBe(200)
    expect(v1.body.predictions).toEqual(rows.map((r) => expectedIris(r, 1).label))

    // Promote v2 from another process, as `lathe models promote` would: the server follows.
    const engine = findRunningEngine(dir)!
    const client = createHttpClient<Contract>({ baseUrl: engine.url, token: engine.token })
    await client.call('registry.promote', { model: 'iris', version: 2, alias: 'production', force: true, reason: 'test' })
    let after = await postJson(`${status.url}/invocations`, { dataframe_records: rows })
    for (let i = 0; i < 50 && after.headers.get('x-model-version') !== '2'; i++) {
      await new Promise((r) => setTimeout(r, 50))
      after = await postJson(`${status.url}/invocations`, { dataframe_records: rows })
    }
    expect(after.headers.get('x-model-version')).toBe('2')
    expect(after.body.predictions).toEqual(rows.map((r) => expectedIris(r, 3).label))

    const csv = path.join(tempDir(), 'score.csv')
    fs.writeFileSync(csv, `petal_length,petal_width,color,species\n${rows.map((r) => `${r.petal_length},${r.petal_width},${r.color},x`).join('\n')}\n`)
    const predicted = runLathe(['predict', 'iris@1', csv, '--json', '-w', dir])
    expect(predicted.stderr).toBe('')
    expect(predicted.code).toBe(0)
    expect(JSON.parse(predicted.stdout).map((r: { prediction: string }) => r.prediction)).toEqual(rows.map((r) => expectedIris(r, 1).label))
    const out = path.join(tempDir(), 'scored.csv')
    expect(runLathe(['predict', 'iris', csv, '--output', out, '--probabilities', '-w', dir]).code).toBe(0)
    const lines = fs.readFileSync(out, 'utf8').trim().split('\n')
    // Imported models carry no class names: probability columns are numbered.
    expect(lines[0]).toBe('petal_length,petal_width,color,prediction,p_0,p_1,p_2')
    expect(lines).toHaveLength(3)
  }, 60_000)

  it('asks the engine that holds the workspace to start the endpoint', async () => {
    const dir = await workspaceWithIris()
    const { first: ui } = await startLathe(['ui', '--port', '0', '--json', '-w', dir], { stop: 'SIGTERM' })
    const served = runLathe(['serve', '--port', '0', '--json', '-w', dir])
    expect(served.stderr).toBe('')
    expect(served.code).toBe(0)
    const status = JSON.parse(served.stdout)
    expect(status.running).toBe(true)
    const res = await postJson(`${status.url}/invocations`, { dataframe_records: rows })
    expect(res.body.predictions).toEqual(rows.map((r) => expectedIris(r).label))
    // The UI's engine reports the same server.
    const client = createHttpClient<Contract>({ baseUrl: ui.url, token: ui.token })
    expect((await client.call('serving.status', {})).url).toBe(status.url)
    const missing = runLathe(['predict', 'nope', path.join(dir, 'none.csv'), '-w', dir])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toMatch(/^lathe: .*nope/)
  }, 60_000)
})
