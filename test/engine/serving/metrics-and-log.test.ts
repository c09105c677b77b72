import { describe, expect, it } from 'vitest'
import { irisClassifierOnnx, irisSignature } from '../../fixtures/serving/onnx-models.js'
import { defaultPredictionLogOptions } from '../../../src-main/engine/serving/prediction-log.js'
import { postJson, servingFixture } from './helpers.js'

const row = { petal_length: 1.4, petal_width: null, color: 'red' }

/**
 * A strict reading of the Prometheus text exposition format (version 0.0.4): every
 * line is a HELP/TYPE comment or `name{labels} value`, every sample belongs to a
 * declared family, and label values are properly quoted.
 */
function parsePrometheus(text: string): Map<string, Array<{ labels: Record<string, string>; value: number }>> {
  const samples = new Map<string, Array<{ labels: Record<string, string>; value: number }>>()
  const types = new Map<string, string>()
  const sampleLine = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (-?[0-9.eE+-]+|NaN|\+Inf|-Inf)$/
  const labelPair = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/y
  for (const line of text.split('\n')) {
    if (line === '') continue
    if (line.startsWith('# HELP ')) continue
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line)
    if (type) {
      types.set(type[1]!, type[2]!)
      continue
    }
    const m = sampleLine.exec(line)
    if (!m) throw new Error(`not a Prometheus sample line: ${line}`)
    const labels: Record<string, string> = {}
    if (m[3]) {
      labelPair.lastIndex = 0
      while (labelPair.lastIndex < m[3].length) {
        const pair = labelPair.exec(m[3])
        if (!pair) throw new Error(`bad labels in: ${line}`)
        labels[pair[1]!] = pair[2]!
      }
    }
    const family = m[1]!.replace(/_(bucket|sum|count)$/, '')
    if (!types.has(m[1]!) && !types.has(family)) throw new Error(`sample ${m[1]} has no # TYPE`)
    const list = samples.get(m[1]!) ?? []
    list.push({ labels, value: Number(m[4]) })
    samples.set(m[1]!, list)
  }
  return samples
}

describe('metrics and the prediction log', () => {
  it('/metrics parses as Prometheus text and counts requests, latency, batches, the log queue and model loads', async () => {
    const f = servingFixture()
    f.models.add('iris', 1, irisClassifierOnnx(), irisSignature)
    f.models.setAlias('iris', 'production', 1)
    const { url } = await f.engine.call('serving.start', { port: 0, models: [{ model: 'iris' }] })
    // 20 concurrent single-row requests: the micro-batcher runs them in fewer session runs.
    const answers = await Promise.all(Array.from({ length: 20 }, () => postJson(`${url}/invocations`, { dataframe_records: [row] })))
    expect(answers.every((a) => a.status === 200)).toBe(true)
    await postJson(`${url}/invocations`, { dataframe_records: [] })

    const res = await fetch(`${url}/metrics`)
    expect(res.headers.get('content-type')).toContain('text/plain')
    const metrics = parsePrometheus(await res.text())
    const requests = metrics.get('lathe_serving_requests_total')!
    expect(requests.find((s) => s.labels.status === '200')).toEqual({ labels: { model: 'iris', version: '1', route: 'invocations', status: '200' }, value: 20 })
    expect(requests.find((s) => s.labels.status === '400')?.value).toBe(1)
    expect(metrics.get('lathe_serving_request_duration_seconds_count')!.find((s) => s.labels.route === 'invocations')!.value).toBe(21)
    const runs = metrics.get('lathe_serving_batch_rows_count')![0]!.value
    const batchedRows = metrics.get('lathe_serving_batch_rows_sum')![0]!.value
    expect(batchedRows).toBe(20)
    expect(runs).toBeLessThan(20)
    expect(metrics.get('lathe_serving_log_queue_rows')).toBeDefined()
    expect(metrics.get('lathe_serving_log_dropped_rows_total')![0]!.value).toBe(0)
    expect(metrics.get('lathe_serving_model_load_seconds')![0]!.labels).toEqual({ model: 'iris', version: '1' })
  })

  it('logs every row with its request id, inputs and prediction; logging can be turned off per deployment', async () => {
    const f = servingFixture()
    f.models.add('iris', 1, irisClassifierOnnx(), irisSignature)
    f.models.add('quiet', 1, irisClassifierOnnx(), irisSignature)
    f.models.setAlias('iris', 'production', 1)
    f.models.setAlias('quiet', 'production', 1)
    const { url } = await f.engine.call('serving.start', { port: 0, models: [{ model: 'iris' }, { model: 'quiet', logging: false }] })
    const rows = [row, { petal_length: 6.1, petal_width: 2.5, color: 'blue' }]
    const res = await postJson(`${url}/invocations?probabilities=true`, { dataframe_records: rows }, { 'x-request-id': 'client-chosen-id-1' })
    expect(res.body.request_id).toBe('client-chosen-id-1')
    const quiet = await postJson(`${url}/v2/models/quiet/infer`, {
      inputs: [
        { name: 'petal_length', shape: [1], datatype: 'FP32', data: [1] },
        { name: 'petal_width', shape: [1], datatype: 'FP32', data: [1] },
        { name: 'color', shape: [1], datatype: 'BYTES', data: ['red'] },
      ],
    })
    expect(quiet.status).toBe(200)

    await f.service.log.drain()
    const conn = await f.engine.workspace.monitor()
    const logged = (
      await conn.runAndReadAll(
        `SELECT request_id, row_index, model, version, route, status, inputs, prediction, probabilities, latency_ms FROM prediction_log ORDER BY row_index`,
      )
    ).getRowObjectsJS()
    expect(logged).toHaveLength(2)
    expect(logged.map((r) => [r.request_id, r.row_index, r.model, r.version, r.route, r.status])).toEqual([
      ['client-chosen-id-1', 0, 'iris', 1, 'invocations', 200],
      ['client-chosen-id-1', 1, 'iris', 1, 'invocations', 200],
    ])
    expect(JSON.parse(logged[0]!.inputs as string)).toEqual(row)
    expect(JSON.parse(logged[1]!.prediction as string)).toBe(res.body.predictions[1])
    const probs = JSON.parse(logged[1]!.probabilities as string)
    expect(Object.keys(probs)).toEqual(irisSignature.classes)
    expect(Object.values(probs)).toEqual(res.body.probabilities[1])
    expect(logged[0]!.latency_ms).toBeGreaterThan(0)
  })

  it('when the log queue is full, requests still succeed and the dropped rows are counted', async () => {
    // A queue of 3 rows that is only written every 10 s: the fourth row onwards is dropped.
    const f = servingFixture({ ...defaultPredictionLogOptions, maxQueuedRows: 3, flushIntervalMs: 10_000 })
    f.models.add('iris', 1, irisClassifierOnnx(), irisSignature)
    f.models.setAlias('iris', 'production', 1)
    const { url } = await f.engine.call('serving.start', { port: 0, models: [{ model: 'iris' }] })
    for (let i = 0; i < 5; i++) expect((await postJson(`${url}/invocations`, { dataframe_records: [row] })).status).toBe(200)
    const text = await fetch(`${url}/metrics`).then((r) => r.text())
    expect(text).toContain('lathe_serving_log_dropped_rows_total{reason="queue"} 2')
    expect(text).toContain('lathe_serving_log_dropped_rows_total{reason="limit"} 0')
    expect(text).toContain('lathe_serving_log_queue_rows 3')
    const status = await f.engine.call('serving.status', {})
    expect(status.log).toMatchObject({ queuedRows: 3, droppedRows: 2, dropped: { queue: 2 }, full: null })
    await f.service.log.drain()
    const conn = await f.engine.workspace.monitor()
    expect((await conn.runAndReadAll('SELECT count(*)::INTEGER AS n FROM prediction_log')).getRowObjectsJS()[0]!.n).toBe(3)
  })
})

describe('feedback and the "try it" path', () => {
  it('POST /v2/models/{name}/feedback joins labels to logged predictions by request id', async () => {
    const f = servingFixture()
    f.models.add('iris', 1, irisClassifierOnnx(), irisSignature)
    f.models.setAlias('iris', 'production', 1)
    const { url } = await f.engine.call('serving.start', { port: 0, models: [{ model: 'iris' }] })
    const answered = await postJson(`${url}/invocations`, { dataframe_records: [row, row] })
    await f.service.log.drain()
    const res = await postJson(`${url}/v2/models/iris/feedback`, {
      items: [
        { request_id: answered.body.request_id, row_index: 1, label: 'setosa' },
        { request_id: 'never-served', label: 'setosa' },
      ],
    })
    expect(res.status).toBe(200)
    expect(res.body).toEqual({ model: 'iris', recorded: 1, unknown: [{ request_id: 'never-served', row_index: 0 }] })
    const bad = await postJson(`${url}/v2/models/iris/feedback`, { labels: [] })
    expect(bad.status).toBe(400)
    expect(bad.body.error).toContain('items')
  })

  it('serving.invoke sends the request to the running endpoint over HTTP', async () => {
    const f = servingFixture()
    f.models.add('iris', 1, irisClassifierOnnx(), irisSignature)
    f.models.setAlias('iris', 'production', 1)
    await expect(f.engine.call('serving.invoke', { path: '/invocations', body: {} })).rejects.toThrow(/not running/)
    await f.engine.call('serving.start', { port: 0, models: [{ model: 'iris' }] })
    const answer = await f.engine.call('serving.invoke', { path: '/invocations', body: { dataframe_records: [row] } })
    expect(answer.status).toBe(200)
    expect((answer.body as { request_id: string }).request_id).toBe(answer.requestId)
    const refused = await f.engine.call('serving.invoke', { path: '/invocations', body: { dataframe_records: [] } })
    expect(refused.status).toBe(400)
    await expect(f.engine.call('serving.invoke', { path: '/metrics', body: {} })).rejects.toThrow(/path must be/)
    expect((await f.engine.call('serving.requests', { limit: 5 })).map((r) => r.status)).toEqual([400, 200])
  })
})
