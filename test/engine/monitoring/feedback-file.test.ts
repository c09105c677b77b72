import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { LatheError } from '../../../src-main/engine/api/common/errors.js'
import { openTestEngine, tempDir } from '../../helpers/workspace.js'
import { logPredictions } from './logHelpers.js'

describe('late labels from a file', () => {
  it('joins a CSV of request ids and labels, in chunks with progress, and lists the ids it cannot place', async () => {
    const engine = openTestEngine()
    await logPredictions(
      engine,
      Array.from({ length: 30 }, (_, i) => ({ request_id: `r${i}`, model: 'weather', inputs: { temp: i }, prediction: 'sun' })),
    )
    const dir = tempDir()
    const file = path.join(dir, 'labels.csv')
    // Quoted fields and a label with a comma: DuckDB's reader, not a split(',').
    fs.writeFileSync(file, ['id,truth', ...Array.from({ length: 25 }, (_, i) => `r${i},"rain, light"`), 'ghost,sun'].join('\n'))
    const progress: number[] = []
    const stop = engine.events.subscribe(['monitoring.feedback.progress'], (e) => progress.push(e.payload.done))
    const result = await engine.call('monitoring.feedback.import', { model: 'weather', path: file, idColumn: 'id', labelColumn: 'truth' })
    stop()
    expect(result).toEqual({ model: 'weather', rows: 26, recorded: 25, unknown: [{ request_id: 'ghost', row_index: 0 }] })
    expect(progress).toEqual([26])
    const conn = await engine.workspace.monitor()
    const labels = (await conn.runAndReadAll('SELECT DISTINCT label::VARCHAR FROM feedback')).getRows()
    expect(labels).toEqual([['"rain, light"']])
  })

  it('refuses a file without the named columns, saying which it has, and records nothing', async () => {
    const engine = openTestEngine()
    await logPredictions(engine, [{ request_id: 'a', model: 'weather', inputs: { temp: 1 }, prediction: 'sun' }])
    const file = path.join(tempDir(), 'labels.csv')
    fs.writeFileSync(file, 'id,truth\na,sun\n')
    const error = await engine.call('monitoring.feedback.import', { model: 'weather', path: file, fileName: 'labels.csv' }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(LatheError)
    expect(error).toMatchObject({ field: 'idColumn', message: 'labels.csv has no column "request_id" (its columns: id, truth)' })
    fs.writeFileSync(file, 'request_id,label\na,sun\n,rain\n')
    const blank = await engine.call('monitoring.feedback.import', { model: 'weather', path: file, fileName: 'labels.csv' }).catch((e: unknown) => e)
    expect(blank).toMatchObject({ field: 'file', line: 3 })
    const conn = await engine.workspace.monitor()
    expect(Number((await conn.runAndReadAll('SELECT count(*) FROM feedback')).getRows()[0]![0])).toBe(0)
  })
})
