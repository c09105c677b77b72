import fs from 'node:fs'
import path from 'node:path'
import * as ort from 'onnxruntime-node'
import { describe, expect, it } from 'vitest'
import { MlflowRestError, TestMlflowClient } from './client.js'
import { fixturesDir, modelFolderFiles, startMlflowEngine } from './helpers.js'

const N = 10_000

/** The MLmodel a 2.x `mlflow.onnx.log_model(model, "model")` writes (fixture 04's, with this run's id). */
function mlmodelFor(runId: string): string {
  return [
    'artifact_path: model',
    'flavors:',
    '  onnx:',
    '    code: null',
    '    data: model.onnx',
    '    onnx_version: 1.12.0',
    '  python_function:',
    '    data: model.onnx',
    '    loader_module: mlflow.onnx',
    '    python_version: 3.11.7',
    'mlflow_version: 2.22.0',
    `run_id: ${runId}`,
    "utc_time_created: '2025-12-01 08:00:02.100000'",
    '',
  ].join('\n')
}

describe('a script logging through the MLflow API (test client following the spec)', () => {
  it('logs a run with 10k metric points and an artifact, uploads an ONNX model folder, registers it, promotes it through the gate and serves it', async () => {
    const host = await startMlflowEngine()
    const client = new TestMlflowClient(host.api.url, host.api.token)

    // set_experiment("scripts")
    await expect(client.call('GET', 'experiments/get-by-name', { experiment_name: 'scripts' })).rejects.toMatchObject({
      status: 404,
      errorCode: 'RESOURCE_DOES_NOT_EXIST',
    })
    const { experiment_id: experimentId } = await client.call('POST', 'experiments/create', { name: 'scripts' })
    expect((await client.call('GET', 'experiments/get', { experiment_id: experimentId })).experiment.lifecycle_stage).toBe('active')

    // start_run(): the first answer is lost, the client resends the same bytes, and gets the same run.
    client.loseNextResponse((method, p) => method === 'POST' && p.endsWith('/runs/create'))
    const created = await client.call('POST', 'runs/create', {
      experiment_id: experimentId,
      user_id: 'alice',
      start_time: Date.now(),
      tags: [
        { key: 'mlflow.user', value: 'alice' },
        { key: 'mlflow.source.name', value: 'train.py' },
        { key: 'mlflow.source.type', value: 'LOCAL' },
      ],
    })
    const runId: string = created.run.info.run_id
    const artifactUri: string = created.run.info.artifact_uri
    expect(client.sent.filter((s) => s.path.endsWith('/runs/create'))).toHaveLength(2)
    const search = await client.call('POST', 'runs/search', { experiment_ids: [experimentId] })
    expect(search.runs.map((r: any) => r.info.run_id)).toEqual([runId])

    // log_param, twice (a retry), then 10k points of "loss" by log_batch, one batch's answer lost and resent.
    client.loseNextResponse((method, p) => method === 'POST' && p.endsWith('/runs/log-parameter'))
    await client.call('POST', 'runs/log-parameter', { ...client.runRef(runId), key: 'lr', value: '0.01' })
    const t0 = 1_764_576_000_000
    const loss = (i: number) => 1 / (i + 1)
    client.loseNextResponse((method, p) => method === 'POST' && p.endsWith('/runs/log-batch'))
    for (let start = 0; start < N; start += 1000) {
      const metrics = Array.from({ length: 1000 }, (_, j) => ({ key: 'loss', value: loss(start + j), timestamp: t0 + start + j, step: start + j }))
      await client.call('POST', 'runs/log-batch', { run_id: runId, metrics })
    }
    for (const [step, value] of [NaN, Infinity, -Infinity].entries()) {
      await client.call('POST', 'runs/log-metric', { ...client.runRef(runId), key: 'odd', value: TestMlflowClient.double(value), timestamp: t0, step })
    }
    await client.call('POST', 'runs/log-metric', { ...client.runRef(runId), key: 'accuracy', value: 0.95, timestamp: t0, step: 0 })

    // get-history, paged as the client pages it.
    const points: any[] = []
    let pageToken: string | undefined
    do {
      const page = await client.call('GET', 'metrics/get-history', { ...client.runRef(runId), metric_key: 'loss', max_results: 2500, page_token: pageToken })
      points.push(...page.metrics)
      pageToken = page.next_page_token
    } while (pageToken)
    expect(points).toHaveLength(N)
    expect(points.every((p, i) => p.step === i && p.value === loss(i) && p.timestamp === t0 + i)).toBe(true)
    const odd = await client.call('GET', 'metrics/get-history', { ...client.runRef(runId), metric_key: 'odd' })
    expect(odd.metrics.map((p: any) => p.value)).toEqual(['NaN', 'Infinity', '-Infinity'])

    // log_artifact("notes.txt"), then the run's listing and the bytes back.
    await client.putArtifact(artifactUri, 'notes.txt', 'epoch,loss\n1,0.5\n', 'text/plain')
    expect(await client.call('GET', 'artifacts/list', client.runRef(runId))).toEqual({
      root_uri: artifactUri,
      files: [{ path: 'notes.txt', is_dir: false, file_size: 17 }],
    })
    expect((await client.getArtifact(artifactUri, 'notes.txt')).toString()).toBe('epoch,loss\n1,0.5\n')

    // mlflow.onnx.log_model(model, "model", registered_model_name="m"), as the 2.x client does it.
    const files = { ...modelFolderFiles(), MLmodel: Buffer.from(mlmodelFor(runId)) }
    for (const [name, bytes] of Object.entries(files)) {
      const type = /\.(ya?ml|txt)$|^MLmodel$/.test(name) ? 'text/plain' : 'application/octet-stream'
      await client.putArtifact(artifactUri, `model/${name}`, bytes, type)
    }
    await client.call('POST', 'runs/log-model', {
      run_id: runId,
      model_json: JSON.stringify({
        run_id: runId,
        artifact_path: 'model',
        utc_time_created: '2025-12-01 08:00:02.100000',
        flavors: { onnx: { data: 'model.onnx' } },
      }),
    })
    await client.call('POST', 'registered-models/create', { name: 'm' })
    const { model_version: version } = await client.call('POST', 'model-versions/create', {
      name: 'm',
      source: `${artifactUri}/model`,
      run_id: runId,
    })
    expect(version).toMatchObject({ name: 'm', version: '1', status: 'READY', current_stage: 'None', run_id: runId })
    expect(version.status_message).toBeUndefined()
    await client.call('POST', 'runs/update', { ...client.runRef(runId), status: 'FINISHED', end_time: Date.now() })

    // Production goes through Lathe's gate: refused while accuracy is below its threshold, listing why.
    await host.engine.call('registry.gate.set', { model: 'm', alias: 'production', gate: { thresholds: [{ metric: 'accuracy', op: '>=', value: 0.99 }] } })
    const refused = await client
      .call('POST', 'model-versions/transition-stage', { name: 'm', version: '1', stage: 'Production', archive_existing_versions: false })
      .catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(MlflowRestError)
    expect(refused).toMatchObject({ status: 400, errorCode: 'INVALID_PARAMETER_VALUE' })
    expect((refused as Error).message).toMatch(/metric accuracy >= 0\.99 \(v1 accuracy = 0\.9500, required >= 0\.99\)/)
    expect((await client.call('GET', 'model-versions/get', { name: 'm', version: '1' })).model_version.current_stage).toBe('None')

    await host.engine.call('registry.gate.set', { model: 'm', alias: 'production', gate: { thresholds: [{ metric: 'accuracy', op: '>=', value: 0.9 }] } })
    const promoted = await client.call('POST', 'model-versions/transition-stage', {
      name: 'm',
      version: '1',
      stage: 'Production',
      archive_existing_versions: true,
    })
    expect(promoted.model_version.current_stage).toBe('Production')
    await client.call('POST', 'registered-models/alias', { name: 'm', alias: 'champion', version: '1' })
    expect((await client.call('GET', 'registered-models/alias', { name: 'm', alias: 'champion' })).model_version.version).toBe('1')
    expect((await client.call('GET', 'model-versions/get-download-uri', { name: 'm', version: '1' })).artifact_uri).toBe(`${artifactUri}/model`)

    // Served from the production alias: the endpoint's predictions equal onnxruntime's on the same rows.
    const status = await host.engine.call('serving.start', { port: 0, models: [{ model: 'm', selector: 'production', default: true, logging: false }] })
    const rows = Array.from({ length: 32 }, (_, i) => [Math.sin(i), Math.cos(i) * 2, (i % 7) - 3, i / 10])
    const served = await fetch(`${status.url}/invocations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: rows }),
    })
    const predictions = ((await served.json()) as { predictions: number[][] }).predictions
    const session = await ort.InferenceSession.create(path.join(fixturesDir, 'onnx-model', 'model.onnx'))
    const out = await session.run({ x: new ort.Tensor('float32', Float32Array.from(rows.flat()), [rows.length, 4]) })
    const expected = Array.from({ length: rows.length }, (_, r) => Array.from((out.probabilities!.data as Float32Array).slice(r * 3, r * 3 + 3)))
    await session.release()
    expect(served.status).toBe(200)
    expect(predictions).toEqual(expected)
    // The registry version carries the run's metrics and its lineage to the MLflow run.
    const resolved = await host.engine.call('registry.resolve', { model: 'm', version: 'production' })
    expect(resolved).toMatchObject({ version: 1, runId, metrics: { accuracy: 0.95 } })
    expect(fs.existsSync(resolved.path)).toBe(true)
  })
})
