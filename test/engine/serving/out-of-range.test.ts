import { describe, expect, it } from 'vitest'
import type { ModelSignature } from '../../../src-main/engine/api/common/signature.js'
import { irisClassifierOnnx, irisSignature } from '../../fixtures/serving/onnx-models.js'
import { postJson, servingFixture } from './helpers.js'

/** The iris fixture as a Lathe-trained model would describe it: each numeric column with its training range. */
const ranged: ModelSignature = {
  ...irisSignature,
  columns: irisSignature.columns!.map((c) =>
    c.name === 'petal_length' ? { ...c, range: { min: 1, max: 6.9 } } : c.name === 'petal_width' ? { ...c, range: { min: 0.1, max: 2.5 } } : c,
  ),
}

/** A body with `petal_length` written as raw JSON text (JSON.stringify would turn 1e309 into null). */
const bodies = (length: string) => ({
  'MLflow records': { path: '/invocations', body: `{"dataframe_records": [{"petal_length": ${length}, "petal_width": 0.2, "color": "red"}]}` },
  'MLflow split': {
    path: '/invocations',
    body: `{"dataframe_split": {"columns": ["petal_length", "petal_width", "color"], "data": [[1.4, 0.2, "red"], [${length}, 0.2, "red"]]}}`,
  },
  'OIP v2': {
    path: '/v2/models/iris/infer',
    body: `{"inputs": [{"name": "petal_length", "shape": [1], "datatype": "FP32", "data": [${length}]}, {"name": "petal_width", "shape": [1], "datatype": "FP32", "data": [0.2]}, {"name": "color", "shape": [1], "datatype": "BYTES", "data": ["red"]}]}`,
  },
})

const refused: Array<{ value: string; says: RegExp }> = [
  { value: '1e308', says: /column "petal_length" in row \d is 1e\+308, outside the float32 range/ },
  { value: '-3.5e38', says: /column "petal_length" in row \d is -3\.5e\+38, outside the float32 range/ },
  { value: '1e309', says: /column "petal_length" in row \d is Infinity, not a finite number/ },
  { value: '-1e400', says: /column "petal_length" in row \d is -Infinity, not a finite number/ },
]

async function serving() {
  const f = servingFixture()
  f.models.add('iris', 1, irisClassifierOnnx(), ranged)
  f.models.setAlias('iris', 'production', 1)
  const { url } = await f.engine.call('serving.start', { port: 0, models: [{ model: 'iris' }] })
  return { f, url }
}

describe('inputs out of range', () => {
  it('refuses non-finite numbers and numbers outside float32 with a 400 naming the column, on both protocols', async () => {
    const { f, url } = await serving()
    for (const { value, says } of refused) {
      for (const [protocol, { path, body }] of Object.entries(bodies(value))) {
        const res = await postJson(`${url}${path}`, body)
        expect(res.status, `${protocol} ${value}`).toBe(400)
        expect(String(res.body.message ?? res.body.error), `${protocol} ${value}`).toMatch(says)
      }
    }
    await f.service.log.drain()
    const conn = await f.engine.workspace.monitor()
    expect((await conn.runAndReadAll('SELECT count(*)::INTEGER AS n FROM prediction_log')).getRowObjectsJS()[0]!.n).toBe(0)
  })

  it('serves values outside the training range with a warning (MLflow header, v2 parameters), a flag in the log and a count in /metrics', async () => {
    const { f, url } = await serving()
    const plain = await postJson(`${url}/invocations`, JSON.parse(bodies('1.4')['MLflow records'].body))
    expect(plain.status).toBe(200)
    expect(plain.headers.get('x-lathe-warning')).toBeNull()

    const far = bodies('50')
    const mlflow = await postJson(`${url}${far['MLflow split'].path}`, far['MLflow split'].body)
    expect(mlflow.status).toBe(200)
    expect(mlflow.headers.get('x-lathe-warning')).toBe('petal_length outside the training range [1, 6.9] (with margin [0.41, 7.49]) in row 1')
    expect(mlflow.body.predictions).toHaveLength(2)
    const v2 = await postJson(`${url}${far['OIP v2'].path}`, far['OIP v2'].body)
    expect(v2.status).toBe(200)
    expect(v2.body.parameters.warnings).toEqual(['petal_length outside the training range [1, 6.9] (with margin [0.41, 7.49]) in row 0'])
    expect(v2.body.parameters.out_of_range).toMatchObject([{ column: 'petal_length', rows: [0], count: 1, min: 1, max: 6.9 }])
    // No answer carries a NaN.
    for (const p of [...mlflow.body.predictions]) expect(typeof p).toBe('string')
    for (const x of v2.body.outputs.find((o: { name: string }) => o.name === 'probabilities').data) expect(Number.isFinite(x)).toBe(true)

    const metrics = await fetch(`${url}/metrics`).then((r) => r.text())
    expect(metrics).toContain('lathe_serving_out_of_range_values_total{model="iris",column="petal_length"} 2')
    await f.service.log.drain()
    const conn = await f.engine.workspace.monitor()
    const logged = (await conn.runAndReadAll('SELECT route, row_index, out_of_range FROM prediction_log ORDER BY time, route, row_index')).getRowObjectsJS()
    expect(logged).toEqual([
      { route: 'invocations', row_index: 0, out_of_range: null },
      { route: 'invocations', row_index: 0, out_of_range: null },
      { route: 'invocations', row_index: 1, out_of_range: ['petal_length'] },
      { route: 'v2', row_index: 0, out_of_range: ['petal_length'] },
    ])
  })
})
