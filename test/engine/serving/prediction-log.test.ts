import fs from 'node:fs'
import path from 'node:path'
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api'
import { describe, expect, it } from 'vitest'
import type { InputBatch } from '../../../src-main/engine/serving/loaded-model.js'
import {
  PredictionLogWriter,
  defaultPredictionLogOptions,
  type LoggedRequest,
  type PredictionLogOptions,
} from '../../../src-main/engine/serving/prediction-log.js'
import { Workspace } from '../../../src-main/engine/workspace/workspace.js'
import { afterThisTest, tempDir } from '../../helpers/workspace.js'

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

function openWorkspace(dir = tempDir()): Workspace {
  const workspace = Workspace.open(dir, { holder: 'test' })
  afterThisTest(() => workspace.close())
  return workspace
}

/** A writer on a real workspace: its segment folder, and monitor.duckdb's `prediction_log` view to read it back. */
async function writer(options: Partial<PredictionLogOptions> = {}, workspace = openWorkspace()) {
  const errors: unknown[] = []
  const log = new PredictionLogWriter(
    workspace.predictionLogDir,
    () => workspace.monitor(),
    { ...defaultPredictionLogOptions, flushIntervalMs: 20, ...options },
    (e) => errors.push(e),
  )
  afterThisTest(() => log.close())
  return { log, conn: await workspace.monitor(), errors, workspace }
}

async function rows(conn: DuckDBConnection, sql = 'SELECT * FROM prediction_log ORDER BY request_id, row_index') {
  return (await conn.runAndReadAll(sql)).getRowObjectsJS()
}

const segmentFiles = (dir: string, ext: string) => fs.readdirSync(dir).filter((f) => f.endsWith(ext) && !f.startsWith('0-schema'))

describe('PredictionLogWriter', () => {
  it('writes every row, with its fields, across several buffers and segments', async () => {
    const { log, conn, workspace } = await writer({ segmentBytes: 200_000 })
    // 1-row and 100-row requests, a few large rows (larger than a buffer), and non-ASCII text.
    const wide = 'é✓𝄞'.repeat(300_000)
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
    expect(first).toMatchObject({
      row_index: 0,
      model: 'iris',
      version: 2,
      route: 'invocations',
      status: 200,
      latency_ms: 0.25,
      prediction: '"setosa"',
      out_of_range: null,
    })
    expect(JSON.parse(first.inputs as string)).toEqual({ petal_length: 0.5, petal_width: null, color: wide })
    expect(JSON.parse(first.probabilities as string)).toEqual({ setosa: 0.5, versicolor: 0.25, virginica: 0.25 })
    expect(await rows(conn, "SELECT epoch_ms(time)::BIGINT AS ms FROM prediction_log WHERE request_id = 'r0005'")).toEqual([
      { ms: BigInt(Date.UTC(2026, 10, 23, 12, 0, 0, 250)) },
    ])
    const r10 = written.filter((r) => r.request_id === 'r0010')
    expect(r10.map((r) => r.row_index)).toEqual(Array.from({ length: 100 }, (_, i) => i))
    expect(JSON.parse(r10[99]!.inputs as string)).toEqual({ petal_length: 99.5, petal_width: null, color: 'c-10-ü' })

    // Segments past 200 kB were closed and compacted to Parquet; every row is still there exactly once.
    await log.close()
    expect(segmentFiles(workspace.predictionLogDir, '.parquet').length).toBeGreaterThan(1)
    expect(await rows(conn, 'SELECT count(*)::INTEGER AS n, count(DISTINCT (request_id, row_index))::INTEGER AS d FROM prediction_log')).toEqual([
      { n: expected, d: expected },
    ])
  })

  it('counts rows past the bounded queue as dropped, and writes the rest', async () => {
    const { log, conn } = await writer({ maxQueuedRows: 150, flushIntervalMs: 10_000 })
    expect(log.append(request('a', 100))).toBe(true)
    expect(log.append(request('b', 60))).toBe(false)
    expect(log.append(request('c', 50))).toBe(true)
    expect(log.append(request('d', 1))).toBe(false)
    expect(log.queueDepth).toBe(150)
    expect(log.dropped).toMatchObject({ queue: 61 })
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

  it('a bad entry never throws into the event loop: its rows are counted as dropped', async () => {
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
    expect(log.dropped.error).toBe(3)
    expect(log.failures).toBe(2)
    expect(errors.length).toBe(2)
  })

  it('when the segment folder cannot be written, queued rows are dropped and counted, and serving goes on', async () => {
    const blocked = path.join(tempDir(), 'not-a-folder')
    fs.writeFileSync(blocked, 'a file where the folder should be')
    const errors: unknown[] = []
    const log = new PredictionLogWriter(
      blocked,
      async () => {
        throw new Error('no database')
      },
      { ...defaultPredictionLogOptions, flushIntervalMs: 10 },
      (e) => errors.push(e),
    )
    log.append(request('x', 5))
    log.append(request('y', 5))
    await log.drain()
    expect(log.dropped.error).toBe(10)
    expect(log.queueDepth).toBe(0)
    expect(errors.length).toBeGreaterThan(0)
  })

  it('a restart cuts a half-written line, compacts what the killed process left, and never shows a row twice', async () => {
    const dir = tempDir()
    const first = await writer({}, openWorkspace(dir))
    for (let i = 0; i < 20; i++) first.log.append(request(`k${i}`, 2))
    await first.log.drain()
    // As a kill mid-write leaves it: the open segment ends in half a line, and nothing was compacted.
    const [open] = segmentFiles(first.workspace.predictionLogDir, '.ndjson')
    fs.appendFileSync(path.join(first.workspace.predictionLogDir, open!), '{"request_id":"half","time_us":17')
    expect((await rows(first.conn, 'SELECT count(*)::INTEGER AS n FROM prediction_log'))[0]!.n).toBe(40)
    await first.log.close()
    await first.workspace.close()

    const second = await writer({}, openWorkspace(dir))
    second.log.append(request('after', 1))
    await second.log.drain()
    await second.log.close()
    const logDir = second.workspace.predictionLogDir
    expect(segmentFiles(logDir, '.parquet').map((f) => f.replace('.parquet', ''))).toContain(open!.replace('.ndjson', ''))
    expect(fs.readFileSync(path.join(logDir, open!), 'utf8').endsWith('}\n')).toBe(true)
    expect(await rows(second.conn, 'SELECT count(*)::INTEGER AS n, count(DISTINCT (request_id, row_index))::INTEGER AS d FROM prediction_log')).toEqual([
      { n: 41, d: 41 },
    ])
  })

  it('at the size limit new rows are dropped and counted; segments past the age limit are removed', async () => {
    const { log, conn, workspace } = await writer({ segmentBytes: 1_000, retention: { maxAgeDays: 1, maxBytes: 20_000 } })
    for (let round = 0; round < 40 && !log.full; round++) {
      log.append(request(`s${round}`, 20))
      await log.drain()
      await log.segments.sweep()
    }
    expect(log.full).toBe('limit')
    expect(log.append(request('over', 5))).toBe(false)
    expect(log.dropped.limit).toBeGreaterThanOrEqual(5)

    // Age the compacted segments past a day: the next sweep removes them and the log takes rows again.
    await log.close()
    const logDir = workspace.predictionLogDir
    const old = (Date.now() - 2 * 86_400_000) / 1000
    for (const f of [...segmentFiles(logDir, '.parquet'), ...segmentFiles(logDir, '.ndjson')]) fs.utimesSync(path.join(logDir, f), old, old)
    await log.segments.sweep()
    expect(segmentFiles(logDir, '.parquet')).toEqual([])
    expect(log.segments.limitReached).toBe(false)
    const left = (await rows(conn, 'SELECT count(*)::INTEGER AS n FROM prediction_log'))[0]!.n as number
    expect(left).toBeLessThan(log.writtenRows)
  })
})

describe('monitor.duckdb migrations', () => {
  it('moves an old prediction_log table into a segment the view reads, records the schema version, and refuses a newer schema', async () => {
    const dir = tempDir()
    // A workspace from before numbered migrations: the log was a table.
    const old = await DuckDBInstance.create(path.join(dir, 'monitor.duckdb'))
    const oldConn = await old.connect()
    await oldConn.run(`CREATE TABLE prediction_log (request_id VARCHAR, row_index INTEGER, time TIMESTAMPTZ, model VARCHAR, version INTEGER,
      route VARCHAR, status INTEGER, latency_ms DOUBLE, inputs JSON, prediction JSON, probabilities JSON)`)
    await oldConn.run(`INSERT INTO prediction_log VALUES ('old-1', 0, '2026-01-01T00:00:00Z', 'iris', 1, 'invocations', 200, 0.5, '{"x":1}', '"setosa"', NULL)`)
    oldConn.closeSync()
    old.closeSync()

    const workspace = openWorkspace(dir)
    const { log, conn } = await writer({}, workspace)
    log.append(request('new-1', 1))
    await log.drain()
    expect(await rows(conn, 'SELECT request_id, model, inputs FROM prediction_log ORDER BY request_id')).toEqual([
      { request_id: 'new-1', model: 'iris', inputs: '{"petal_length":0.5,"petal_width":null,"color":"red"}' },
      { request_id: 'old-1', model: 'iris', inputs: '{"x":1}' },
    ])
    expect(await rows(conn, 'SELECT version FROM lathe_schema')).toEqual([{ version: 2 }])
    await conn.run('UPDATE lathe_schema SET version = 99')
    await log.close()
    await workspace.close()

    const again = Workspace.open(dir, { holder: 'test' })
    afterThisTest(() => again.close())
    await expect(again.monitor()).rejects.toThrow(
      /monitor\.duckdb in this workspace was written by a newer Lathe \(monitor schema 99, this build knows 2\); upgrade Lathe to open it/,
    )
  })
})
