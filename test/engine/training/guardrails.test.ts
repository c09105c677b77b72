import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { openTestEngine, tempDir } from '../../helpers/workspace.js'
import { importVega } from './helpers.js'

/** 2000 rows whose `label` takes 1000 values and whose `amount` takes 2000. */
function manyClassesCsv(): string {
  const lines = ['x,z,amount,label']
  for (let i = 0; i < 2000; i++) lines.push(`${(i % 17) / 17},${(i % 7) / 7},${(i * 0.37).toFixed(2)},c${i % 1000}`)
  const file = path.join(tempDir(), 'many.csv')
  fs.writeFileSync(file, lines.join('\n') + '\n')
  return file
}

describe('training guardrails', () => {
  it('refuses a 1000-class target with a message that says what to do, and queues nothing', async () => {
    const engine = openTestEngine()
    const client = engine.client()
    await client.call('data.import', { name: 'many', path: manyClassesCsv() })
    const spec = { dataset: 'many', target: 'label', exclude: ['amount'], params: { epochs: 1, hidden: [8] } }
    const refusal = await client.call('training.start', spec).then(
      () => null,
      (error: unknown) => error as Error & { code?: string },
    )
    expect(refusal?.message).toMatch(/"label" of many@1 has 1000 distinct values, more than the 100 classes/)
    expect(refusal?.message).toMatch(/derive a column with fewer values/i)
    expect(refusal?.message).toMatch(/--allow-many-classes/)
    expect(refusal?.code).toBe('bad_request')
    expect((await client.call('training.runs.list', {})).runs).toHaveLength(0)

    // A numeric target asked to be classes: the message points at regression.
    await expect(client.call('training.start', { ...spec, target: 'amount', exclude: ['label'], task: 'classification' })).rejects.toThrow(
      /has 2000 distinct values.*train with task regression/,
    )
    // A sweep and a pipeline's train stage plan the same way: nothing queued either.
    await expect(client.call('training.sweep.start', { base: spec, space: { learningRate: [0.01, 0.1] } })).rejects.toThrow(/1000 distinct values/)
    expect((await client.call('training.runs.list', {})).runs).toHaveLength(0)
  })

  it('trains a many-class target when the spec allows it', async () => {
    const engine = openTestEngine()
    const client = engine.client()
    await client.call('data.import', { name: 'many', path: manyClassesCsv() })
    const started = await client.call('training.start', {
      dataset: 'many',
      target: 'label',
      exclude: ['amount'],
      params: { epochs: 1, hidden: [8] },
      allowManyClasses: true,
    })
    const run = await client.call('training.runs.wait', { run: started.id, timeoutMs: 240_000 })
    expect(run.status, run.error ?? '').toBe('finished')
    expect(run.allowManyClasses).toBe(true)
    // The classes are those the training split holds: most of the 1000, far over the limit.
    expect(run.model!.preprocessing.classes!.length).toBeGreaterThan(800)
  }, 240_000)

  it('refuses a DATE target, suggesting a derived column or regression', async () => {
    const engine = openTestEngine()
    await importVega(engine, 'seattle-weather.csv', 'weather')
    const version = await engine.call('data.show', { dataset: 'weather' })
    expect(version.version.columns.find((c) => c.name === 'date')?.type).toBe('DATE')
    await expect(engine.call('training.start', { dataset: 'weather', target: 'date', params: { epochs: 1 } })).rejects.toThrow(
      /"date" of weather@1 is DATE: a date or time cannot be a classification target.*task regression.*derive a column/,
    )
    // The override is for the count only: a date is never a class.
    await expect(engine.call('training.start', { dataset: 'weather', target: 'date', allowManyClasses: true })).rejects.toThrow(/is DATE/)
    expect((await engine.call('training.runs.list', {})).runs).toHaveLength(0)
  })

  it('lists runs without confusion matrices or model details; runs.show has them', async () => {
    const engine = openTestEngine()
    await importVega(engine, 'seattle-weather.csv', 'weather')
    const started = await engine.call('training.start', { dataset: 'weather', target: 'weather', params: { epochs: 1, hidden: [8] } })
    await engine.call('training.runs.wait', { run: started.id, timeoutMs: 240_000 })
    const listed = (await engine.call('training.runs.list', {})).runs[0]!
    expect(listed.metrics!.test.accuracy).toBeGreaterThan(0)
    expect(listed.metrics).not.toHaveProperty('confusion')
    expect(Object.keys(listed.model!).sort()).toEqual(['onnxSha256', 'weightsSha256'])
    const shown = (await engine.call('training.runs.show', { run: started.id })).run
    expect(shown.metrics!.confusion!.labels).toEqual(['drizzle', 'fog', 'rain', 'snow', 'sun'])
    expect(shown.metrics!.confusion!.test.flat().reduce((a, b) => a + b, 0)).toBeGreaterThan(0)
    expect(shown.model!.preprocessing.classes).toHaveLength(5)
    expect(JSON.stringify(listed).length).toBeLessThan(JSON.stringify(shown).length)
  }, 240_000)
})
