import { describe, expect, it } from 'vitest'
import { expectedIris, importedSignature, importedTensorOnnx, irisClassifierOnnx, irisSignature } from '../../fixtures/serving/onnx-models.js'
import { postJson, servingFixture } from './helpers.js'

const good = { petal_length: 1.4, petal_width: 0.2, color: 'red' }

interface BadCase {
  name: string
  path: string
  body: unknown
  status: number
  /** A word the message must contain: the column or field it names. */
  names: string
}

const mlflowCases: BadCase[] = [
  { name: 'missing column', path: '/invocations', body: { dataframe_records: [{ petal_length: 1, color: 'red' }] }, status: 400, names: 'petal_width' },
  { name: 'extra column', path: '/invocations', body: { dataframe_records: [{ ...good, sepal: 3 }] }, status: 400, names: 'sepal' },
  {
    name: 'text in a numeric column',
    path: '/invocations',
    body: { dataframe_records: [{ ...good, petal_length: 'long' }] },
    status: 400,
    names: 'petal_length',
  },
  { name: 'number in a text column', path: '/invocations', body: { dataframe_records: [{ ...good, color: 7 }] }, status: 400, names: 'color' },
  {
    name: 'null where missing values are not allowed',
    path: '/invocations',
    body: { dataframe_records: [{ ...good, petal_length: null }] },
    status: 400,
    names: 'petal_length',
  },
  { name: 'empty batch', path: '/invocations', body: { dataframe_records: [] }, status: 400, names: 'dataframe_records' },
  {
    name: 'empty split',
    path: '/invocations',
    body: { dataframe_split: { columns: ['petal_length', 'petal_width', 'color'], data: [] } },
    status: 400,
    names: 'data',
  },
  { name: 'not JSON', path: '/invocations', body: '{"dataframe_records": [', status: 400, names: 'JSON' },
  { name: 'no payload key', path: '/invocations', body: { rows: [good] }, status: 400, names: 'dataframe_split' },
  { name: 'two payload keys', path: '/invocations', body: { instances: [good], inputs: [good] }, status: 400, names: 'instances' },
  { name: 'a JSON list as the body', path: '/invocations', body: [good], status: 400, names: 'body' },
  {
    name: 'short split row',
    path: '/invocations',
    body: { dataframe_split: { columns: ['petal_length', 'petal_width', 'color'], data: [[1, 2]] } },
    status: 400,
    names: 'row 0',
  },
  {
    name: 'deeply nested junk in a cell',
    path: '/invocations',
    body: { dataframe_records: [{ ...good, petal_width: JSON.parse('['.repeat(500) + ']'.repeat(500)) }] },
    status: 400,
    names: 'petal_width',
  },
  {
    name: 'deeply nested junk as the payload',
    path: '/invocations',
    body: JSON.parse(`{"instances": ${'['.repeat(2000)}${']'.repeat(2000)}}`),
    status: 400,
    names: 'instances',
  },
  { name: 'an object where a row belongs', path: '/invocations', body: { dataframe_records: [[1, 2, 3]] }, status: 400, names: 'dataframe_records[0]' },
]

const v2Cases: BadCase[] = [
  {
    name: 'v2 shape does not match data',
    path: '/v2/models/iris/infer',
    body: {
      inputs: [
        { name: 'petal_length', shape: [2, 1], datatype: 'FP32', data: [1] },
        { name: 'petal_width', shape: [1], datatype: 'FP32', data: [1] },
        { name: 'color', shape: [1], datatype: 'BYTES', data: ['red'] },
      ],
    },
    status: 400,
    names: 'petal_length',
  },
  {
    name: 'v2 wrong datatype',
    path: '/v2/models/iris/infer',
    body: {
      inputs: [
        { name: 'petal_length', shape: [1], datatype: 'FP32', data: [1] },
        { name: 'petal_width', shape: [1], datatype: 'FP32', data: [1] },
        { name: 'color', shape: [1], datatype: 'FP32', data: [3] },
      ],
    },
    status: 400,
    names: 'color',
  },
  {
    name: 'v2 missing input',
    path: '/v2/models/iris/infer',
    body: { inputs: [{ name: 'petal_length', shape: [1], datatype: 'FP32', data: [1] }] },
    status: 400,
    names: 'petal_width',
  },
  { name: 'v2 no inputs', path: '/v2/models/iris/infer', body: { inputs: [] }, status: 400, names: 'inputs' },
  {
    name: 'v2 NaN-like null in a float',
    path: '/v2/models/iris/infer',
    body: {
      inputs: [
        { name: 'petal_length', shape: [1], datatype: 'FP32', data: [null] },
        { name: 'petal_width', shape: [1], datatype: 'FP32', data: [1] },
        { name: 'color', shape: [1], datatype: 'BYTES', data: ['red'] },
      ],
    },
    status: 400,
    names: 'petal_length',
  },
  { name: 'v2 unknown model', path: '/v2/models/nope/infer', body: { inputs: [] }, status: 404, names: 'nope' },
  { name: 'v2 bad version', path: '/v2/models/iris/versions/x/infer', body: { inputs: [] }, status: 400, names: 'version' },
  { name: 'v2 version that does not exist', path: '/v2/models/iris/versions/9/infer', body: { inputs: [] }, status: 404, names: 'iris' },
  {
    name: 'v2 imported model: wrong inner dimension',
    path: '/v2/models/imported/infer',
    body: { inputs: [{ name: 'input', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }] },
    status: 400,
    names: 'dimension 1 must be 4',
  },
  {
    name: 'v2 imported model: ragged tensor',
    path: '/v2/models/imported/infer',
    body: {
      inputs: [
        {
          name: 'input',
          shape: [2, 4],
          datatype: 'FP32',
          data: [
            [1, 2, 3, 4],
            [1, 2],
          ],
        },
      ],
    },
    status: 400,
    names: 'ragged',
  },
  { name: 'v2 not JSON', path: '/v2/models/iris/infer', body: 'nope', status: 400, names: 'JSON' },
]

describe('requests that do not fit the model are refused with a 4xx naming what is wrong', () => {
  it("answers each bad payload in its protocol's error shape, and still answers correctly afterwards", async () => {
    const f = servingFixture()
    f.models.add('iris', 1, irisClassifierOnnx(), irisSignature)
    f.models.add('imported', 1, importedTensorOnnx(), importedSignature)
    f.models.setAlias('iris', 'production', 1)
    f.models.setAlias('imported', 'production', 1)
    const { url } = await f.engine.call('serving.start', { port: 0, maxBodyBytes: 64 * 1024, models: [{ model: 'iris' }, { model: 'imported' }] })

    for (const c of [...mlflowCases, ...v2Cases]) {
      const res = await postJson(`${url}${c.path}`, c.body)
      expect(res.status, c.name).toBe(c.status)
      if (c.path.startsWith('/v2')) {
        expect(Object.keys(res.body), c.name).toContain('error')
        expect(res.body.error, c.name).toContain(c.names)
      } else {
        expect(res.body.error_code, c.name).toBe(c.status === 404 ? 'RESOURCE_DOES_NOT_EXIST' : 'BAD_REQUEST')
        expect(res.body.message, c.name).toContain(c.names)
      }
      expect(res.headers.get('x-request-id'), c.name).toBeTruthy()
    }

    // Over the body limit: 413 on both protocols.
    const huge = { dataframe_records: Array.from({ length: 3000 }, () => good) }
    const tooBig = await postJson(`${url}/invocations`, huge)
    expect(tooBig.status).toBe(413)
    expect(tooBig.body.error_code).toBe('BAD_REQUEST')
    expect(tooBig.body.message).toContain('limit')
    const tooBigV2 = await postJson(`${url}/v2/models/iris/infer`, {
      inputs: [{ name: 'color', shape: [20000], datatype: 'BYTES', data: Array(20000).fill('red') }],
    })
    expect(tooBigV2.status).toBe(413)
    expect(tooBigV2.body.error).toContain('limit')

    // Unknown routes keep the protocol's shape too.
    const lost = await fetch(`${url}/v2/nothing`)
    expect(lost.status).toBe(404)
    expect(await lost.json()).toHaveProperty('error')

    // The server is unharmed: a good request gets the right answer.
    const after = await postJson(`${url}/invocations`, { dataframe_records: [good] })
    expect(after.status).toBe(200)
    expect(after.body.predictions).toEqual([expectedIris(good).label])

    // Refusals are counted, and nothing refused reached the prediction log.
    const recent = await f.engine.call('serving.requests', { limit: 200 })
    expect(recent.filter((r) => r.status >= 400).length).toBe(mlflowCases.length + v2Cases.length + 3)
    await f.service.log.drain()
    const conn = await f.engine.workspace.monitor()
    const logged = (await conn.runAndReadAll('SELECT count(*)::INTEGER AS n FROM prediction_log')).getRowObjectsJS()
    expect(logged[0]!.n).toBe(1)
  })

  it("applies the training dataset's per-value rules (not_null, range, allowed_values) to every request", async () => {
    const f = servingFixture()
    f.models.add('iris', 1, irisClassifierOnnx(), irisSignature, [
      { kind: 'not_null', column: 'petal_width' },
      { kind: 'range', column: 'petal_length', min: 0, max: 10 },
      { kind: 'allowed_values', column: 'color', values: ['red', 'green', 'blue'] },
      { kind: 'unique', column: 'petal_length' }, // a whole-table rule: means nothing for one request
      { kind: 'range', column: 'not_a_feature', min: 0 },
    ])
    f.models.setAlias('iris', 'production', 1)
    const { url } = await f.engine.call('serving.start', { port: 0, models: [{ model: 'iris' }] })
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ ...good, petal_width: null }, 'not_null'],
      [{ ...good, petal_length: 12 }, 'maximum 10'],
      [{ ...good, petal_length: -1 }, 'minimum 0'],
      [{ ...good, color: 'mauve' }, 'allowed values'],
    ]
    for (const [row, says] of cases) {
      const res = await postJson(`${url}/invocations`, { dataframe_records: [good, row] })
      expect(res.status, says).toBe(400)
      expect(res.body.message, says).toContain(says)
      expect(res.body.message, says).toContain('row 1')
      const v2 = await postJson(`${url}/v2/models/iris/infer`, {
        inputs: Object.keys(good).map((name) => ({ name, shape: [1], datatype: name === 'color' ? 'BYTES' : 'FP32', data: [row[name]] })),
      })
      expect(v2.status, says).toBe(400)
      expect(v2.body.error, says).toContain(says)
    }
    const fine = await postJson(`${url}/invocations`, { dataframe_records: [good, { ...good, petal_length: 10, color: 'blue' }] })
    expect(fine.status).toBe(200)
  })

  it('requires the bearer token when bound beyond loopback, and says so in the status', async () => {
    const f = servingFixture()
    f.models.add('iris', 1, irisClassifierOnnx(), irisSignature)
    f.models.setAlias('iris', 'production', 1)
    const status = await f.engine.call('serving.start', { port: 0, host: '0.0.0.0', models: [{ model: 'iris' }] })
    expect(status.token).toBeTruthy()
    const url = `http://127.0.0.1:${status.port}`
    const anonymous = await postJson(`${url}/invocations`, { dataframe_records: [good] })
    expect(anonymous.status).toBe(401)
    expect(anonymous.body.error_code).toBe('UNAUTHENTICATED')
    const wrong = await postJson(`${url}/v2/models/iris/infer`, { inputs: [] }, { authorization: 'Bearer nope' })
    expect(wrong.status).toBe(401)
    expect(wrong.body).toHaveProperty('error')
    expect((await fetch(`${url}/ping`)).status).toBe(200)
    const authorized = await postJson(`${url}/invocations`, { dataframe_records: [good] }, { authorization: `Bearer ${status.token}` })
    expect(authorized.status).toBe(200)
    expect((await fetch(`${url}/metrics`)).status).toBe(401)
  })

  it('on loopback needs no token and refuses a foreign Host header', async () => {
    const f = servingFixture()
    f.models.add('iris', 1, irisClassifierOnnx(), irisSignature)
    f.models.setAlias('iris', 'production', 1)
    const status = await f.engine.call('serving.start', { port: 0, models: [{ model: 'iris' }] })
    expect(status.token).toBeNull()
    const res = await postJson(`${status.url}/invocations`, { dataframe_records: [good] })
    expect(res.status).toBe(200)
    const { request } = await import('node:http')
    const code = await new Promise<number>((resolve, reject) => {
      const req = request(`${status.url}/ping`, { headers: { host: 'evil.example:80' } }, (r) => {
        r.resume()
        resolve(r.statusCode!)
      })
      req.on('error', reject)
      req.end()
    })
    expect(code).toBe(403)
  })
})
