import * as ort from 'onnxruntime-node'
import { describe, expect, it } from 'vitest'
import {
  expectedImported,
  expectedIris,
  importedSignature,
  importedTensorOnnx,
  irisClassifierOnnx,
  irisSignature,
  linearRegressorOnnx,
  linearSignature,
  type IrisRow,
} from '../../fixtures/serving/onnx-models.js'
import { postJson, servingFixture } from './helpers.js'

const rows: IrisRow[] = [
  { petal_length: 1.4, petal_width: 0.2, color: 'red' },
  { petal_length: 4.5, petal_width: 1.5, color: 'green' },
  { petal_length: 6.1, petal_width: null, color: 'blue' },
  { petal_length: 0.3, petal_width: 2.5, color: 'mauve' },
]

/** The offline answer: the same ONNX bytes run directly in onnxruntime, no server in between. */
async function offlineIris() {
  const session = await ort.InferenceSession.create(irisClassifierOnnx())
  const out = await session.run({
    petal_length: new ort.Tensor('float32', Float32Array.from(rows.map((r) => r.petal_length)), [rows.length, 1]),
    petal_width: new ort.Tensor('float32', Float32Array.from(rows.map((r) => r.petal_width ?? NaN)), [rows.length, 1]),
    color: new ort.Tensor(
      'string',
      rows.map((r) => r.color),
      [rows.length, 1],
    ),
  })
  const probs = out.probabilities!.data as Float32Array
  return { labels: [...(out.label!.data as string[])], probabilities: rows.map((_, i) => [...probs.slice(i * 3, i * 3 + 3)]) }
}

async function startIris() {
  const f = servingFixture()
  f.models.add('iris', 1, irisClassifierOnnx(), irisSignature)
  f.models.add('linear', 1, linearRegressorOnnx(), linearSignature)
  f.models.add('imported', 1, importedTensorOnnx(), importedSignature)
  for (const m of ['iris', 'linear', 'imported']) f.models.setAlias(m, 'production', 1)
  const status = await f.engine.call('serving.start', {
    port: 0,
    models: [{ model: 'iris', default: true }, { model: 'linear' }, { model: 'imported' }],
  })
  return { ...f, url: status.url! }
}

describe('the serving endpoint speaks MLflow and Open Inference Protocol v2', () => {
  it('answers every MLflow payload format with the offline predictions of the same version', async () => {
    const { url } = await startIris()
    const offline = await offlineIris()
    // The fixture's weights give these answers when computed by hand, too.
    expect(offline.labels).toEqual(rows.map((r) => expectedIris(r).label))
    expect(new Set(offline.labels).size).toBeGreaterThan(1)
    const columns = ['petal_length', 'petal_width', 'color']
    const payloads = {
      dataframe_split: { dataframe_split: { columns, data: rows.map((r) => [r.petal_length, r.petal_width, r.color]) } },
      dataframe_split_reordered: {
        dataframe_split: { columns: ['color', 'petal_length', 'petal_width'], data: rows.map((r) => [r.color, r.petal_length, r.petal_width]) },
      },
      dataframe_records: { dataframe_records: rows },
      instances_records: { instances: rows },
      instances_rows: { instances: rows.map((r) => [r.petal_length, r.petal_width, r.color]) },
      inputs_columns: {
        inputs: { petal_length: rows.map((r) => r.petal_length), petal_width: rows.map((r) => r.petal_width), color: rows.map((r) => r.color) },
      },
    }
    for (const [name, payload] of Object.entries(payloads)) {
      const res = await postJson(`${url}/invocations?probabilities=true`, payload)
      expect(res.status, name).toBe(200)
      expect(res.body.predictions, name).toEqual(offline.labels)
      expect(res.body.classes).toEqual(irisSignature.classes)
      res.body.probabilities.forEach((p: number[], i: number) => p.forEach((v, k) => expect(v).toBeCloseTo(offline.probabilities[i]![k]!, 6)))
      expect(res.headers.get('x-request-id')).toBe(res.body.request_id)
    }
    const plain = await postJson(`${url}/invocations`, { dataframe_records: rows.slice(0, 1) })
    expect(plain.body).not.toHaveProperty('probabilities')
  })

  it('answers v2 infer with the same tensors, by alias or by named version', async () => {
    const { url } = await startIris()
    const offline = await offlineIris()
    const body = {
      id: 'req-v2-1',
      inputs: [
        { name: 'petal_length', shape: [4, 1], datatype: 'FP32', data: rows.map((r) => r.petal_length) },
        { name: 'petal_width', shape: [4], datatype: 'FP64', data: rows.map((r) => r.petal_width) },
        { name: 'color', shape: [4, 1], datatype: 'BYTES', data: rows.map((r) => [r.color]) },
      ],
    }
    for (const path of ['/v2/models/iris/infer', '/v2/models/iris/versions/1/infer']) {
      const res = await postJson(`${url}${path}`, body)
      expect(res.status, path).toBe(200)
      expect(res.body).toMatchObject({ model_name: 'iris', model_version: '1', id: 'req-v2-1' })
      const label = res.body.outputs.find((o: { name: string }) => o.name === 'label')
      expect(label).toMatchObject({ datatype: 'BYTES', shape: [4] })
      expect(label.data).toEqual(offline.labels)
      const probs = res.body.outputs.find((o: { name: string }) => o.name === 'probabilities')
      expect(probs.shape).toEqual([4, 3])
      probs.data.forEach((v: number, k: number) => expect(v).toBeCloseTo(offline.probabilities[Math.floor(k / 3)]![k % 3]!, 6))
    }
    const only = await postJson(`${url}/v2/models/iris/infer`, { ...body, outputs: [{ name: 'label' }] })
    expect(only.body.outputs.map((o: { name: string }) => o.name)).toEqual(['label'])
  })

  it('serves regression and imported single-tensor models on both protocols', async () => {
    const { url } = await startIris()
    const lin = await postJson(`${url}/v2/models/linear/infer`, {
      inputs: [
        { name: 'x1', shape: [2, 1], datatype: 'FP32', data: [1, 2] },
        { name: 'x2', shape: [2, 1], datatype: 'FP32', data: [0.5, -1] },
      ],
    })
    expect(lin.status).toBe(200)
    expect(lin.body.outputs[0]).toMatchObject({ name: 'prediction', datatype: 'FP32', shape: [2, 1] })
    expect(lin.body.outputs[0].data).toEqual([2 * 1 - 3 * 0.5 + 0.5, 2 * 2 + 3 + 0.5])

    const tensor = [
      [1, 2, 3, 4],
      [0.5, -1, 0, 2],
    ]
    const expected = tensor.map(expectedImported)
    const v2 = await postJson(`${url}/v2/models/imported/infer`, { inputs: [{ name: 'input', shape: [2, 4], datatype: 'FP32', data: tensor.flat() }] })
    expect(v2.status).toBe(200)
    expect(v2.body.outputs[0].shape).toEqual([2, 2])
    v2.body.outputs[0].data.forEach((v: number, k: number) => expect(v).toBeCloseTo(expected[Math.floor(k / 2)]![k % 2]!, 5))

    const meta = await fetch(`${url}/v2/models/imported`).then((r) => r.json() as Promise<any>)
    expect(meta).toMatchObject({ name: 'imported', versions: ['1'], platform: 'onnxruntime', inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 4] }] })
    const ready = await fetch(`${url}/v2/models/imported/ready`).then((r) => r.json() as Promise<any>)
    expect(ready.ready).toBe(true)
    expect((await fetch(`${url}/v2/health/ready`)).status).toBe(200)
    expect((await fetch(`${url}/v2/health/live`)).status).toBe(200)
    expect((await fetch(`${url}/ping`)).status).toBe(200)
    expect((await fetch(`${url}/health`)).status).toBe(200)
  })

  it('with no models named, starts serving every model that has a production version', async () => {
    const f = servingFixture()
    f.models.add('iris', 1, irisClassifierOnnx(), irisSignature)
    f.models.add('linear', 1, linearRegressorOnnx(), linearSignature)
    f.models.add('draft', 1, linearRegressorOnnx(), linearSignature)
    f.models.setAlias('iris', 'production', 1)
    f.models.setAlias('linear', 'production', 1)
    f.models.setAlias('draft', 'staging', 1)
    const status = await f.engine.call('serving.start', { port: 0 })
    expect(status.deployments.map((d) => [d.model, d.version, d.isDefault])).toEqual([
      ['iris', 1, true],
      ['linear', 1, false],
    ])
  })

  it("batch prediction (serving.predict) gives the endpoint's answers", async () => {
    const { engine, url } = await startIris()
    const batch = await engine.call('serving.predict', { model: 'iris', records: rows })
    const online = await postJson(`${url}/invocations?probabilities=true`, { dataframe_records: rows })
    expect(batch.predictions).toEqual(online.body.predictions)
    expect(batch.probabilities).toEqual(online.body.probabilities)
    expect(batch.version).toBe(1)
  })
})

describe('batch prediction from files', () => {
  it('scores a file larger than one slice, and names the input row of a bad value', async () => {
    const fs = await import('node:fs')
    const path = await import('node:path')
    const { tempDir } = await import('../../helpers/workspace.js')
    const f = servingFixture()
    f.models.add('iris', 1, irisClassifierOnnx(), irisSignature)
    f.models.setAlias('iris', 'production', 1)
    const many = Array.from({ length: 60_000 }, (_, i) => rows[i % rows.length]!)
    const file = path.join(tempDir(), 'many.ndjson')
    fs.writeFileSync(file, many.map((r) => JSON.stringify(r)).join('\n'))
    const result = await f.engine.call('serving.predict', { model: 'iris', file })
    expect(result.rows).toBe(60_000)
    expect(result.predictions.slice(0, 8)).toEqual([...rows, ...rows].map((r) => expectedIris(r).label))
    expect(result.predictions[59_999]).toBe(expectedIris(rows[59_999 % rows.length]!).label)

    const bad = path.join(tempDir(), 'bad.ndjson')
    fs.writeFileSync(bad, [...many.slice(0, 50_003), { ...rows[0]!, petal_length: null }].map((r) => JSON.stringify(r)).join('\n'))
    await expect(f.engine.call('serving.predict', { model: 'iris', file: bad })).rejects.toThrow(/row 3 .*from row 50000/)
    await expect(f.engine.call('serving.predict', { model: 'iris', file: 'relative.csv' })).rejects.toThrow(/absolute path/)
    await expect(f.engine.call('serving.predict', { model: 'iris', file: path.join(tempDir(), 'none.csv') })).rejects.toThrow(/no file at/)
  }, 60_000)
})

describe('one-column models', () => {
  it('take a plain list of values as instances, one per row', async () => {
    const { parseMlflowPayload } = await import('../../../src-main/engine/serving/payload.js')
    const signature = { ...linearSignature, inputs: linearSignature.inputs.slice(0, 1), columns: linearSignature.columns!.slice(0, 1) }
    const batch = parseMlflowPayload({ instances: [1, 2.5, 3] }, signature)
    expect(batch.rows).toBe(3)
    expect(batch.feeds[0]!.values).toEqual([1, 2.5, 3])
    expect(batch.records()).toEqual([{ x1: 1 }, { x1: 2.5 }, { x1: 3 }])
    expect(() => parseMlflowPayload({ instances: ['a'] }, signature)).toThrow(/expects a number/)
  })
})
