import { Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { startEngineHost } from '../../../src-main/engine/host.js'
import { tempDir } from '../../helpers/workspace.js'
import { MlflowRestError, TestMlflowClient } from './client.js'
import { modelFolderFiles, startMlflowEngine } from './helpers.js'

async function newRun(client: TestMlflowClient, experimentId = '0') {
  const { run } = await client.call('POST', 'runs/create', {
    experiment_id: experimentId,
    start_time: Date.now(),
    tags: [{ key: 'mlflow.source.name', value: 'x.py' }],
  })
  return run.info as { run_id: string; artifact_uri: string }
}

const json = (response: Response) => response.json() as Promise<any>
const errorOf = (promise: Promise<unknown>) =>
  promise.then(
    () => null,
    (e: unknown) => e as MlflowRestError,
  )

describe('MLflow API: artifacts', () => {
  it('streams an octet-stream upload of 80 MiB and a text upload over 1 MiB (fastify would answer 415 and 413), and streams them back', async () => {
    const host = await startMlflowEngine()
    const client = new TestMlflowClient(host.api.url, host.api.token)
    const run = await newRun(client)
    const chunk = Buffer.alloc(1024 * 1024, 7)
    const size = 80
    const body = Readable.from(
      (function* () {
        for (let i = 0; i < size; i++) yield chunk
      })(),
    )
    const url = `${client.resolve(run.artifact_uri)}/big.bin`
    const put = await fetch(url, {
      method: 'PUT',
      headers: { authorization: `Bearer ${host.api.token}`, 'content-type': 'application/octet-stream' },
      body: Readable.toWeb(body) as ReadableStream,
      duplex: 'half',
    } as RequestInit)
    expect(put.status).toBe(200)
    expect(await json(put)).toEqual({})
    const text = 'a,b\n'.repeat(600_000)
    await client.putArtifact(run.artifact_uri, 'table.csv', text, 'text/plain')
    await client.putArtifact(run.artifact_uri, 'empty.txt', '', 'text/plain')
    const back = await fetch(url, { headers: { authorization: `Bearer ${host.api.token}` } })
    expect(back.headers.get('content-disposition')).toBe('attachment; filename="big.bin"')
    let bytes = 0
    for await (const part of back.body as unknown as AsyncIterable<Uint8Array>) bytes += part.length
    expect(bytes).toBe(size * 1024 * 1024)
    expect((await client.getArtifact(run.artifact_uri, 'table.csv')).toString()).toBe(text)
    expect((await client.getArtifact(run.artifact_uri, 'empty.txt')).length).toBe(0)
  })

  it('lists as MLflow lists: the proxy gives base names (and {} for an empty folder), artifacts/list paths under the run root', async () => {
    const host = await startMlflowEngine()
    const client = new TestMlflowClient(host.api.url, host.api.token)
    const run = await newRun(client)
    await client.putArtifact(run.artifact_uri, 'model/MLmodel', 'flavors: {}\n', 'text/plain')
    await client.putArtifact(run.artifact_uri, 'model/data/w.bin', 'xyz', 'application/octet-stream')
    await client.putArtifact(run.artifact_uri, 'a.txt', 'a', 'text/plain')
    const root = run.artifact_uri.slice('mlflow-artifacts:/'.length)
    const proxy = await fetch(`${host.api.url}/api/2.0/mlflow-artifacts/artifacts?path=${root}/model`, {
      headers: { authorization: `Bearer ${host.api.token}` },
    })
    expect(await json(proxy)).toEqual({
      files: [
        { path: 'MLmodel', is_dir: false, file_size: 12 },
        { path: 'data', is_dir: true },
      ],
    })
    const empty = await fetch(`${host.api.url}/api/2.0/mlflow-artifacts/artifacts?path=${root}/nothing`, {
      headers: { authorization: `Bearer ${host.api.token}` },
    })
    expect(await json(empty)).toEqual({})
    expect(await client.call('GET', 'artifacts/list', { ...client.runRef(run.run_id), path: 'model' })).toEqual({
      root_uri: run.artifact_uri,
      files: [
        { path: 'model/MLmodel', is_dir: false, file_size: 12 },
        { path: 'model/data', is_dir: true },
      ],
    })
    expect((await client.call('GET', 'artifacts/list', client.runRef(run.run_id))).files.map((f: any) => f.path)).toEqual(['a.txt', 'model'])
  })

  it('refuses traversal and paths outside a run or logged model with a 400, writing nothing', async () => {
    const host = await startMlflowEngine()
    const client = new TestMlflowClient(host.api.url, host.api.token)
    const run = await newRun(client)
    const base = client.resolve(run.artifact_uri)
    for (const bad of [`${base}/%2e%2e/%2e%2e/x.txt`, `${base}/a/..%2F..%2Fx.txt`, `${base}/a%5Cb.txt`]) {
      const response = await fetch(bad, { method: 'PUT', headers: { authorization: `Bearer ${host.api.token}`, 'content-type': 'text/plain' }, body: 'x' })
      expect(response.status, bad).toBe(400)
      expect((await json(response)).error_code).toBe('INVALID_PARAMETER_VALUE')
    }
    const elsewhere = await fetch(`${host.api.url}/api/2.0/mlflow-artifacts/artifacts/0/not-a-run/artifacts/x.txt`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${host.api.token}`, 'content-type': 'text/plain' },
      body: 'x',
    })
    expect(elsewhere.status).toBe(400)
    expect((await json(elsewhere)).message).toMatch(/not under a run's or a logged model's artifacts/)
    expect(await client.call('GET', 'artifacts/list', client.runRef(run.run_id))).toEqual({ root_uri: run.artifact_uri })
  })
})

describe('MLflow API: errors are 4xx with {error_code, message}, never a 5xx for the request', () => {
  it('malformed JSON, a wrong type, a missing field, an unknown endpoint, a deleted run, an unknown run', async () => {
    const host = await startMlflowEngine()
    const client = new TestMlflowClient(host.api.url, host.api.token, 0)
    const auth = { authorization: `Bearer ${host.api.token}`, 'content-type': 'application/json' }
    const raw = await fetch(`${host.api.url}/api/2.0/mlflow/runs/create`, { method: 'POST', headers: auth, body: '{"experiment_id": ' })
    expect(raw.status).toBe(400)
    expect((await json(raw)).error_code).toBe('BAD_REQUEST')
    const array = await fetch(`${host.api.url}/api/2.0/mlflow/runs/create`, { method: 'POST', headers: auth, body: '[1]' })
    expect(array.status).toBe(400)
    const run = await newRun(client)
    expect(await errorOf(client.call('POST', 'runs/log-metric', { run_id: run.run_id, key: 'l', value: 'lots', timestamp: 1 }))).toMatchObject({
      status: 400,
      errorCode: 'INVALID_PARAMETER_VALUE',
    })
    expect(await errorOf(client.call('POST', 'runs/log-metric', { run_id: run.run_id, key: 'l', value: 1, timestamp: 'soon' }))).toMatchObject({ status: 400 })
    expect(await errorOf(client.call('POST', 'runs/log-metric', { run_id: run.run_id, key: '../x', value: 1, timestamp: 1 }))).toMatchObject({ status: 400 })
    expect(await errorOf(client.call('POST', 'runs/log-parameter', { run_id: run.run_id, key: 'k' }))).toMatchObject({ status: 400 })
    expect(await errorOf(client.call('POST', 'runs/create', { experiment_id: '99' }))).toMatchObject({ status: 404, errorCode: 'RESOURCE_DOES_NOT_EXIST' })
    expect(await errorOf(client.call('POST', 'runs/create', { experiment_id: 'abc' }))).toMatchObject({ status: 400 })
    expect(await errorOf(client.call('GET', 'experiments/list', {}))).toMatchObject({ status: 404, errorCode: 'ENDPOINT_NOT_FOUND' })
    for (const unsupported of ['/api/3.0/mlflow/traces/search', '/ajax-api/2.0/mlflow/runs/search', '/api/2.0/mlflow/traces']) {
      const response = await fetch(host.api.url + unsupported, { method: 'POST', headers: auth, body: '{}' })
      expect(response.status, unsupported).toBe(404)
      expect((await json(response)).error_code).toBe('ENDPOINT_NOT_FOUND')
    }
    expect(await errorOf(client.call('POST', 'runs/search', { experiment_ids: ['0'], filter: 'metrics.loss >' }))).toMatchObject({ status: 400 })
    expect(
      await errorOf(
        client.call('POST', 'runs/log-batch', { run_id: run.run_id, metrics: Array.from({ length: 1001 }, (_, i) => ({ key: 'a', value: i, timestamp: i })) }),
      ),
    ).toMatchObject({ status: 400 })
    expect(await errorOf(client.call('POST', 'model-versions/create', { name: 'nope', source: 'x' }))).toMatchObject({ status: 404 })
    await client.call('POST', 'registered-models/create', { name: 'm' })
    expect(await errorOf(client.call('POST', 'model-versions/create', { name: 'm', source: 's3://bucket/model' }))).toMatchObject({ status: 400 })
    await client.call('POST', 'runs/delete', { run_id: run.run_id })
    const deleted = await errorOf(client.call('POST', 'runs/log-parameter', { ...client.runRef(run.run_id), key: 'k', value: 'v' }))
    expect(deleted).toMatchObject({ status: 400, errorCode: 'INVALID_PARAMETER_VALUE' })
    expect(deleted!.message).toMatch(/must be in the 'active' state/)
    // Nothing above was the server's fault: no attempt was answered with a 5xx.
    expect(client.sent.filter((s) => typeof s.status === 'number' && s.status >= 500)).toEqual([])
  })

  it('answers 401 UNAUTHENTICATED in MLflow shape without the token', async () => {
    const host = await startMlflowEngine()
    const response = await fetch(`${host.api.url}/api/2.0/mlflow/experiments/get?experiment_id=0`)
    expect(response.status).toBe(401)
    expect(await json(response)).toMatchObject({ error_code: 'UNAUTHENTICATED' })
  })
})

describe('MLflow API: runs and models', () => {
  it('runs/create replayed verbatim returns the same run; a new body makes a new run', async () => {
    const host = await startMlflowEngine()
    const client = new TestMlflowClient(host.api.url, host.api.token)
    const body = { experiment_id: '0', user_id: 'u', start_time: 1_764_576_001_000 }
    const a = await client.call('POST', 'runs/create', body)
    const b = await client.call('POST', 'runs/create', body)
    const c = await client.call('POST', 'runs/create', { ...body, start_time: 1_764_576_001_001 })
    expect(b.run.info.run_id).toBe(a.run.info.run_id)
    expect(c.run.info.run_id).not.toBe(a.run.info.run_id)
    expect((await client.call('POST', 'runs/search', { experiment_ids: ['0'] })).runs).toHaveLength(2)
  })

  it('model-versions/create replayed verbatim returns the version it made: one MLflow version, one Lathe version', async () => {
    const host = await startMlflowEngine()
    const client = new TestMlflowClient(host.api.url, host.api.token)
    const run = await newRun(client)
    const files = { ...modelFolderFiles(), MLmodel: Buffer.from('flavors:\n  onnx:\n    data: model.onnx\n') }
    for (const [name, bytes] of Object.entries(files)) await client.putArtifact(run.artifact_uri, `model/${name}`, bytes, 'application/octet-stream')
    await client.call('POST', 'registered-models/create', { name: 'm' })
    client.loseNextResponse((method, p) => method === 'POST' && p.endsWith('/model-versions/create'))
    const created = await client.call('POST', 'model-versions/create', { name: 'm', source: `${run.artifact_uri}/model`, run_id: run.run_id })
    expect(created.model_version.version).toBe('1')
    expect(client.sent.filter((s) => s.path.endsWith('/model-versions/create'))).toHaveLength(2)
    expect((await client.call('GET', 'model-versions/search', { filter: "name = 'm'" })).model_versions).toHaveLength(1)
    expect((await host.engine.call('registry.models.show', { model: 'm' })).versions).toHaveLength(1)
  })

  it("runs/search with MLflow's filter syntax and order_by", async () => {
    const host = await startMlflowEngine()
    const client = new TestMlflowClient(host.api.url, host.api.token)
    const ids: string[] = []
    for (const [i, lr] of ['0.1', '0.01', '0.001'].entries()) {
      const run = await newRun(client)
      ids.push(run.run_id)
      await client.call('POST', 'runs/log-batch', {
        run_id: run.run_id,
        params: [{ key: 'lr', value: lr }],
        metrics: [{ key: 'val loss', value: i / 10, timestamp: 1, step: 0 }],
        tags: [{ key: 'team', value: i === 2 ? 'vision' : 'nlp' }],
      })
    }
    await client.call('POST', 'runs/update', { run_id: ids[0], status: 'FINISHED' })
    const search = async (filter: string, order_by?: string[]) =>
      (await client.call('POST', 'runs/search', { experiment_ids: ['0'], filter, order_by })).runs?.map((r: any) => r.info.run_id) ?? []
    expect(await search('metrics.`val loss` < 0.15', ['metrics.`val loss` ASC'])).toEqual([ids[0], ids[1]])
    expect(await search("params.lr = '0.01'")).toEqual([ids[1]])
    expect(await search("tags.team LIKE 'vis%' and params.lr != '0.1'")).toEqual([ids[2]])
    expect(await search("attributes.status = 'FINISHED'")).toEqual([ids[0]])
    expect(await search("params.lr IN ('0.1', '0.001')", ['params.lr DESC'])).toEqual([ids[0], ids[2]])
    expect(await search("tags.team ILIKE 'NLP'", ['metrics."val loss" DESC'])).toEqual([ids[1], ids[0]])
  })

  it('a version of another flavor is artifact-only: listed, downloadable, not servable, saying why; one missing its external data too', async () => {
    const host = await startMlflowEngine()
    const client = new TestMlflowClient(host.api.url, host.api.token)
    const run = await newRun(client)
    await client.putArtifact(run.artifact_uri, 'skl/MLmodel', 'flavors:\n  sklearn:\n    pickled_model: model.pkl\n  python_function: {}\n', 'text/plain')
    await client.putArtifact(run.artifact_uri, 'skl/model.pkl', 'pickle bytes', 'application/octet-stream')
    const files = modelFolderFiles()
    await client.putArtifact(run.artifact_uri, 'onnx/MLmodel', 'flavors:\n  onnx:\n    data: model.onnx\n', 'text/plain')
    await client.putArtifact(run.artifact_uri, 'onnx/model.onnx', files['model.onnx']!, 'application/octet-stream')
    await client.call('POST', 'registered-models/create', { name: 'other' })
    const skl = (await client.call('POST', 'model-versions/create', { name: 'other', source: `runs:/${run.run_id}/skl` })).model_version
    expect(skl).toMatchObject({ version: '1', status: 'READY', run_id: run.run_id })
    expect(skl.status_message).toMatch(/not servable: flavors sklearn, python_function: Lathe serves only the onnx flavor/)
    const partial = (await client.call('POST', 'model-versions/create', { name: 'other', source: `${run.artifact_uri}/onnx` })).model_version
    expect(partial.status_message).toMatch(/keeps tensor W1 in 6f1c2a3e-cf0b-11f0-9d2e-0242ac120002\.data, which was not uploaded/)
    expect((await client.call('GET', 'registered-models/get', { name: 'other' })).registered_model.latest_versions).toHaveLength(1)
    const uri = (await client.call('GET', 'model-versions/get-download-uri', { name: 'other', version: '1' })).artifact_uri
    expect((await client.getArtifact(uri, 'model.pkl')).toString()).toBe('pickle bytes')
    // Not in Lathe's registry, so there is nothing to serve; a Production move is recorded in MLflow's stages only.
    expect((await host.engine.call('registry.models.list', {})).map((m) => m.name)).not.toContain('other')
    const moved = await client.call('POST', 'model-versions/transition-stage', {
      name: 'other',
      version: '1',
      stage: 'Production',
      archive_existing_versions: false,
    })
    expect(moved.model_version.current_stage).toBe('Production')
  })

  it('an engine started with no port (the desktop app) listens where it did last time, so MLFLOW_TRACKING_URI stays valid', async () => {
    const dir = tempDir('lathe-mlflow-port-')
    const first = await startEngineHost({ workspaceDir: dir, holder: 'port test' })
    const url = first.api.url
    await first.stop()
    const second = await startEngineHost({ workspaceDir: dir, holder: 'port test' })
    try {
      expect(second.api.url).toBe(url)
    } finally {
      await second.stop()
    }
  })

  it('the token survives an engine restart; mlflow.token.rotate changes it at once', async () => {
    const dir = tempDir('lathe-mlflow-token-')
    const first = await startEngineHost({ workspaceDir: dir, holder: 'token test', port: 0 })
    const token = first.api.token
    const env = await first.engine.call('mlflow.env', {})
    expect(env).toEqual({ trackingUri: first.api.url, token })
    await first.stop()
    const second = await startEngineHost({ workspaceDir: dir, holder: 'token test', port: 0 })
    try {
      expect(second.api.token).toBe(token)
      const ok = await fetch(`${second.api.url}/api/2.0/mlflow/experiments/get?experiment_id=0`, { headers: { authorization: `Bearer ${token}` } })
      expect(ok.status).toBe(200)
      const { token: rotated } = await second.engine.call('mlflow.token.rotate', {})
      expect(rotated).not.toBe(token)
      const old = await fetch(`${second.api.url}/api/2.0/mlflow/experiments/get?experiment_id=0`, { headers: { authorization: `Bearer ${token}` } })
      expect(old.status).toBe(401)
      const fresh = await fetch(`${second.api.url}/api/2.0/mlflow/experiments/get?experiment_id=0`, { headers: { authorization: `Bearer ${rotated}` } })
      expect(fresh.status).toBe(200)
    } finally {
      await second.stop()
    }
  })
})
