import { describe, expect, it } from 'vitest'
import { defaultPredictionLogOptions } from '../../../src-main/engine/serving/prediction-log.js'
import { irisClassifierOnnx, writeModel } from '../../fixtures/serving/onnx-models.js'
import { startLathe } from '../../cli/run-lathe.js'
import { openTestEngine, tempDir } from '../../helpers/workspace.js'

/** Requests in flight at once, and how many are answered before the kill (bounded: the bench does the long runs). */
const CLIENTS = 8
const BEFORE_KILL = 400
/**
 * What the log may lose: one flush interval, plus what a busy shared machine adds
 * between the flush timer's due time and the file write (event-loop lag, the thread
 * pool) and between sending the kill and its landing.
 */
const MAY_LOSE_MS = defaultPredictionLogOptions.flushIntervalMs + 150

const records = [
  { petal_length: 1.4, petal_width: 0.2, color: 'red' },
  { petal_length: 6.1, petal_width: 0.1, color: 'blue' },
]

describe('the prediction log when the serving engine is killed', () => {
  it('kill -9 under load, then a restart: the log is readable and holds every request answered more than a flush interval before the kill', async () => {
    const dir = tempDir('lathe-kill-')
    const setup = openTestEngine(dir)
    await setup.call('registry.versions.import', { file: writeModel(tempDir(), 'iris', irisClassifierOnnx(1)), name: 'iris' })
    await setup.call('registry.promote', { model: 'iris', version: 1, alias: 'production' })
    await setup.close()

    const { child, first, exited } = await startLathe(['serve', '--port', '0', '--json', '-w', dir])
    const answered: Array<{ id: string; at: number }> = []
    let killed = false
    let n = 0
    const client = async () => {
      while (!killed) {
        const body = JSON.stringify({ dataframe_records: n++ % 2 ? records : [records[0]] })
        const res = await fetch(`${first.url}/invocations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
        const json = (await res.json()) as { request_id: string }
        if (res.status === 200) answered.push({ id: json.request_id, at: Date.now() })
      }
    }
    const clients = Array.from({ length: CLIENTS }, client)
    // Killed while the clients are still sending, once enough requests have been answered.
    while (answered.length < BEFORE_KILL) await new Promise((resolve) => setTimeout(resolve, 20))
    const killedAt = Date.now()
    child.kill('SIGKILL')
    killed = true
    await Promise.allSettled(clients)
    expect((await exited).signal).toBe('SIGKILL')

    // A restart opens the workspace (the lock of a dead process is stale) and the serving writer recovers the segments.
    const after = openTestEngine(dir)
    await after.call('serving.log.drain', {})
    const conn = await after.workspace.monitor()
    const logged = (
      await conn.runAndReadAll('SELECT request_id, count(*)::INTEGER AS n, count(DISTINCT row_index)::INTEGER AS d FROM prediction_log GROUP BY 1')
    ).getRowObjectsJS()
    const byId = new Map(logged.map((r) => [String(r.request_id), r]))
    const mustHave = answered.filter((a) => a.at < killedAt - MAY_LOSE_MS)
    expect(mustHave.length).toBeGreaterThan(0)
    const missing = mustHave.filter((a) => !byId.has(a.id))
    expect(missing, `${missing.length} of ${mustHave.length} requests answered before ${killedAt - MAY_LOSE_MS} are not in the log`).toEqual([])
    // No row twice, and no half row: each logged request has 1 or 2 rows with distinct indexes.
    expect(logged.every((r) => r.n === r.d && (r.n === 1 || r.n === 2))).toBe(true)
  })
})
