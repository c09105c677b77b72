import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, test } from 'vitest'
import { specOfRun, startRun, waitForRun } from '../../../src-main/engine/training/service.js'
import { getRun } from '../../../src-main/engine/training/store.js'
import { openTestEngine, tempDir } from '../../helpers/workspace.js'
import { importVega, trainAndWait, vegaData } from './helpers.js'

describe('sweeps, early stopping and retraining on new data', () => {
  test('a grid sweep queues one run per combination and names the best by the chosen metric', async () => {
    const engine = openTestEngine()
    await importVega(engine, 'penguins.json', 'penguins')
    const sweep = await engine.call('training.sweep.start', {
      base: { dataset: 'penguins', target: 'Species', params: { epochs: 2 } },
      space: { learningRate: [0.001, 0.02], hidden: [[8], [16, 16]] },
      metric: 'accuracy',
    })
    expect(sweep.runs).toHaveLength(4)
    for (const run of sweep.runs) await engine.call('training.runs.wait', { run: run.id })
    const summary = await engine.call('training.sweep.show', { sweep: sweep.sweepId })
    expect(summary.runs.map((r) => [r.params.learningRate, r.params.hidden])).toEqual([
      [0.001, [8]],
      [0.001, [16, 16]],
      [0.02, [8]],
      [0.02, [16, 16]],
    ])
    const best = summary.runs.find((r) => r.id === summary.bestRunId)!
    const accuracies = summary.runs.map((r) => r.metrics!.validation.accuracy!)
    expect(best.metrics!.validation.accuracy).toBe(Math.max(...accuracies))
    const { runs } = await engine.call('training.runs.list', { sweepId: sweep.sweepId })
    expect(runs).toHaveLength(4)
  }, 240_000)

  test('a sweep with a bad value queues nothing', async () => {
    const engine = openTestEngine()
    await importVega(engine, 'penguins.json', 'penguins')
    await expect(
      engine.call('training.sweep.start', {
        base: { dataset: 'penguins', target: 'Species' },
        space: { learningRate: [0.01, -1] },
      }),
    ).rejects.toMatchObject({ code: 'bad_request', field: 'space' })
    await expect(engine.call('training.sweep.start', { base: { dataset: 'penguins', target: 'Species' }, space: { colour: ['red'] } })).rejects.toMatchObject({
      field: 'space.colour',
    })
    expect((await engine.call('training.runs.list', {})).runs).toHaveLength(0)
  })

  test('early stopping ends a run before its epochs when validation loss stops improving', async () => {
    const engine = openTestEngine()
    await importVega(engine, 'penguins.json', 'penguins')
    const run = await trainAndWait(engine, {
      dataset: 'penguins',
      target: 'Species',
      params: { epochs: 200, learningRate: 0.05, earlyStopping: { metric: 'loss', patience: 2 } },
    })
    expect(run.status).toBe('finished')
    expect(run.epochsRun).toBeLessThan(200)
  }, 240_000)

  test('the same spec on a newer dataset version trains a new run (continuous training)', async () => {
    const engine = openTestEngine()
    await importVega(engine, 'seattle-weather.csv', 'weather')
    const first = await trainAndWait(engine, { dataset: 'weather', target: 'weather', params: { epochs: 1 } })
    // A second version: the first 1000 rows only.
    const lines = fs.readFileSync(vegaData('seattle-weather.csv'), 'utf8').split('\n').slice(0, 1001)
    const file = path.join(tempDir(), 'weather-v2.csv')
    fs.writeFileSync(file, lines.join('\n') + '\n')
    await engine.call('data.import', { name: 'weather', path: file })
    const queued = await startRun(engine.context, specOfRun(first, { dataset: 'weather' }))
    const second = await waitForRun(engine.context, queued.id)
    expect(second.status).toBe('finished')
    expect(second.dataset.version).toBe(2)
    expect(second.params).toEqual(first.params)
    expect(getRun(engine.workspace.db, first.id).dataset.version).toBe(1)
  }, 240_000)
})
