import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api'
import { afterEach, describe, expect, it } from 'vitest'
import type { InputBatch } from '../../../src-main/engine/serving/loaded-model.js'
import { PredictionLogWriter, type LoggedRequest, type PredictionLogOptions } from '../../../src-main/engine/serving/prediction-log.js'

const classes = ['setosa', 'versicolor', 'virginica']

/** A request of `rows` rows whose inputs carry `text` (to make rows of any size and alphabet). */
function request(id: string, rows: number, text = 'red'): LoggedRequest {
  const records = Array.from({ length: rows }, (_, i) => ({ petal_length: i + 0.5, petal_width: null, color: text }))
  const batch: InputBatch = { rows, feeds: [], records: () => records }
  return {
    requestId: id,
    time: Date.UTC(2026, 10, 23, 12, 0, 0, 250),
    model: 'iris',
    version: 2,
    route: 'invocations',
    status: 200,
    latencyMs: 0.25,
    batch,
    predictions: Array.from({ length: rows }, (_, i) => ({ prediction: classes[i % 3], probabilities: [0.5, 0.25, 0.25] })),
    classes,
  }
}

const opened: DuckDBInstance[] = []
afterEach(() => {
  for (const db of opened.splice(0)) db.closeSync()
})

async function writer(options: Partial<PredictionLogOptions> = {}) {
  const db = await DuckDBInstance.create(':memory:')
  opened.push(db)
  const conn = await db.connect()
  const errors: unknown[] = []
  const log = new PredictionLogWriter(async () => conn, { maxQueuedRows: 100_000, flushIntervalMs: 20, flushRows: 2_000, ...options }, (e) => errors.push(e))
  return { log, conn, errors }
}

async function rows(conn: DuckDBConnection, sql = 'SELECT * FROM prediction_log ORDER BY request_id, row_index') {
  return (await conn.runAndReadAll(sql)).getRowObjectsJS()
}

describe('PredictionLogWriter', () => {
  it('writes every row, with its fields, across several statements and buffer growth', async () => {
    const { log, conn } = await writer({ flushRows: 250 })
    // 1-row and 100-row requests, a few large rows (the first slice buffer must grow), and non-ASCII text.
    const wide = 'é✓𝄞'.repeat(30_000)
    const sent: LoggedRequest[] = []
    for (let i = 0; i < 300; i++) sent.push(request(`r${String(i).padStart(4, '0')}`, i % 10 === 0 ? 100 : 1, i % 97 === 5 ? wide : `c-${i}-ü`))
    for (const r of sent) expect(log.append(r)).toBe(true)
    await log.drain()
    const expected = sent.reduce((n, r) => n + r.batch.rows, 0)
    expect(log.writtenRows).toBe(expected)
    expect(log.droppedRows).toBe(0)
    expect(log.queueDepth).toBe(0)
    const written = await rows(conn)
    expect(written.length).toBe(expected)
    const first = written.find((r) => r.request_id === 'r0005')!
    expect(first).toMatchObject({ row_index: 0, model: 'iris', version: 2, route: 'invocations', status: 200, latency_ms: 0.25, prediction: '"setosa"' })
    expect(JSON.parse(first.inputs as string)).toEqual({ petal_length: 0.5, petal_width: null, color: wide })
    expect(JSON.parse(first.probabilities as string)).toEqual({ setosa: 0.5, versicolor: 0.25, virginica: 0.25 })
    expect(await rows(conn, "SELECT epoch_ms(time)::BIGINT AS ms FROM prediction_log WHERE request_id = 'r0005'")).toEqual([{ ms: BigInt(Date.UTC(2026, 10, 23, 12, 0, 0, 250)) }])
    const r10 = written.filter((r) => r.request_id === 'r0010')
    expect(r10.map((r) => r.row_index)).toEqual(Array.from({ length: 100 }, (_, i) => i))
    expect(JSON.parse(r10[99]!.inputs as string)).toEqual({ petal_length: 99.5, petal_width: null, color: 'c-10-ü' })
  })

  it('counts rows past the bounded queue as dropped, and writes the rest', async () => {
    const { log, conn } = await writer({ maxQueuedRows: 150, flushIntervalMs: 10_000, flushRows: 10_000 })
    expect(log.append(request('a', 100))).toBe(true)
    expect(log.append(request('b', 60))).toBe(false)
    expect(log.append(request('c', 50))).toBe(true)
    expect(log.append(request('d', 1))).toBe(false)
    expect(log.queueDepth).toBe(150)
    expect(log.droppedRows).toBe(61)
    await log.drain()
    expect(log.queueDepth).toBe(0)
    expect(await rows(conn, 'SELECT request_id, count(*)::INTEGER AS n FROM prediction_log GROUP BY 1 ORDER BY 1')).toEqual([
      { request_id: 'a', n: 100 },
      { request_id: 'c', n: 50 },
    ])
    // Once written, the queue takes rows again.
    expect(log.append(request('e', 100))).toBe(true)
  })

  it('close writes what is queued, including rows appended in the same turn, and refuses rows after', async () => {
    const { log, conn } = await writer({ flushIntervalMs: 10_000 })
    for (let i = 0; i < 5; i++) log.append(request(`q${i}`, 3))
    await log.close()
    expect((await rows(conn)).length).toBe(15)
    expect(log.append(request('late', 1))).toBe(false)
    expect(log.droppedRows).toBe(1)
  })

  it('a bad entry or a failing insert never throws into the event loop: its rows are counted as dropped', async () => {
    const { log, conn, errors } = await writer()
    const bad = request('bad', 2)
    bad.batch.records = () => {
      throw new Error('records exploded')
    }
    const cyclic = request('cyclic', 1)
    const loop: Record<string, unknown> = {}
    loop.self = loop
    cyclic.predictions[0]!.prediction = loop
    log.append(request('ok1', 1))
    log.append(bad)
    log.append(cyclic)
    log.append(request('ok2', 1))
    await log.drain()
    expect((await rows(conn)).map((r) => r.request_id)).toEqual(['ok1', 'ok2'])
    expect(log.droppedRows).toBe(3)
    expect(log.failures).toBe(2)
    expect(errors.length).toBe(2)

    // The table goes away under the writer: the insert is prepared again and the rows arrive.
    await conn.run('DROP TABLE prediction_log')
    log.append(request('after-drop', 2))
    await log.drain()
    expect((await rows(conn)).map((r) => r.request_id)).toEqual(['after-drop', 'after-drop'])
    expect(log.queueDepth).toBe(0)
  })

  it('when the database cannot be reached, queued rows are dropped and counted, and serving goes on', async () => {
    const errors: unknown[] = []
    const log = new PredictionLogWriter(
      async () => {
        throw new Error('workspace closed')
      },
      { maxQueuedRows: 1000, flushIntervalMs: 10, flushRows: 100 },
      (e) => errors.push(e),
    )
    log.append(request('x', 5))
    log.append(request('y', 5))
    await log.drain()
    expect(log.droppedRows).toBe(10)
    expect(log.queueDepth).toBe(0)
    expect(errors.length).toBeGreaterThan(0)
  })
})

describe('rows encoded for the log from the payload', () => {
  it('a split or columns payload gives each row the JSON its record would (nulls, quotes, unicode, odd names)', async () => {
    const { parseMlflowPayload } = await import('../../../src-main/engine/serving/payload.js')
    const signature = {
      task: 'regression',
      inputs: [
        { name: 'a "quoted" name', dtype: 'float32', shape: [null, 1] },
        { name: 'city', dtype: 'string', shape: [null, 1] },
        { name: '__proto__', dtype: 'float32', shape: [null, 1] },
      ],
      outputs: [{ name: 'prediction', dtype: 'float32', shape: [null, 1] }],
      columns: [
        { name: 'a "quoted" name', kind: 'numeric', sourceType: 'DOUBLE', nullable: true },
        { name: 'city', kind: 'categorical', sourceType: 'VARCHAR', nullable: true },
        { name: '__proto__', kind: 'numeric', sourceType: 'DOUBLE', nullable: true },
      ],
      classes: null,
    } as never
    const names = ['city', '__proto__', 'a "quoted" name']
    const data = [
      ['Zürich "x"\n\u2028', 1.5, null],
      [null, -0, 1e-7],
      ['日本', 3, 12345678901234],
    ]
    const split = parseMlflowPayload(JSON.parse(JSON.stringify({ dataframe_split: { columns: names, data } })), signature, new Map())
    const columns = parseMlflowPayload(
      JSON.parse(JSON.stringify({ instances: Object.fromEntries(names.map((n, i) => [n, data.map((row) => row[i])])) })),
      signature,
      new Map(),
    )
    for (const batch of [split, columns]) {
      expect(batch.recordJson).toBeDefined()
      const records = batch.records()
      for (let r = 0; r < batch.rows; r++) expect(batch.recordJson!(r)).toBe(JSON.stringify(records[r]))
    }
  })
})
