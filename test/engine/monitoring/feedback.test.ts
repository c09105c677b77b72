import { describe, expect, it } from 'vitest'
import { LatheError } from '../../../src-main/engine/api/common/errors.js'
import { recordFeedback } from '../../../src-main/engine/monitoring/feedback.js'
import { openTestEngine } from '../../helpers/workspace.js'
import { logPredictions } from './logHelpers.js'

describe('feedback', () => {
  it('joins labels to logged rows by request id and reports the ones it cannot place', async () => {
    const engine = openTestEngine()
    const conn = await engine.workspace.monitor()
    await logPredictions(engine, [
      { request_id: 'a', model: 'weather', inputs: { temp: 3 }, prediction: 'rain' },
      { request_id: 'b', model: 'weather', inputs: { temp: 9 }, prediction: 'sun' },
      { request_id: 'b', row_index: 1, model: 'weather', inputs: { temp: 8 }, prediction: 'sun' },
      { request_id: 'c', model: 'other', inputs: { temp: 1 }, prediction: 'fog' },
    ])
    const result = await recordFeedback(engine.context, {
      model: 'weather',
      items: [
        { request_id: 'a', label: 'sun' },
        { request_id: 'b', row_index: 1, label: 'rain' },
        { request_id: 'c', label: 'fog' },
        { request_id: 'zzz', label: 'sun' },
      ],
    })
    expect(result.recorded).toBe(2)
    expect(result.unknown).toEqual([
      { request_id: 'c', row_index: 0 },
      { request_id: 'zzz', row_index: 0 },
    ])
    const stored = (await conn.runAndReadAll('SELECT request_id, row_index, label::VARCHAR AS label FROM feedback ORDER BY 1, 2')).getRowObjectsJS()
    expect(stored).toEqual([
      { request_id: 'a', row_index: 0, label: '"sun"' },
      { request_id: 'b', row_index: 1, label: '"rain"' },
    ])
  })

  it('a second label for the same row replaces the first', async () => {
    const engine = openTestEngine()
    const conn = await engine.workspace.monitor()
    await logPredictions(engine, [{ request_id: 'a', model: 'm', inputs: { x: 1 }, prediction: 2.5 }])
    await recordFeedback(engine.context, { model: 'm', items: [{ request_id: 'a', label: 1 }] })
    await recordFeedback(engine.context, { model: 'm', items: [{ request_id: 'a', label: 2 }] })
    const stored = (await conn.runAndReadAll('SELECT label::DOUBLE AS label FROM feedback')).getRowObjectsJS()
    expect(stored).toEqual([{ label: 2 }])
  })

  it('before any traffic every label is reported unknown', async () => {
    const engine = openTestEngine()
    const result = await recordFeedback(engine.context, { model: 'm', items: [{ request_id: 'x', label: 'a' }] })
    expect(result).toEqual({ model: 'm', recorded: 0, unknown: [{ request_id: 'x', row_index: 0 }] })
  })

  it('rejects an empty upload with a message naming the field', async () => {
    const engine = openTestEngine()
    await expect(recordFeedback(engine.context, { model: 'm', items: [] })).rejects.toThrow(LatheError)
    await expect(recordFeedback(engine.context, { model: 'm', items: [] })).rejects.toThrow(/items/)
  })
})
