import { describe, expect, test } from 'vitest'
import { Engine } from '../../../src-main/engine/engine.js'
import { trainingQueue } from '../../../src-main/engine/training/service.js'
import type { TrainingProgress } from '../../../src-main/engine/training/types.js'
import { afterThisTest, openTestEngine, tempDir } from '../../helpers/workspace.js'
import { importVega, trainAndWait, torchFloors } from './helpers.js'

function firstProgress(engine: Engine, runId: string): Promise<TrainingProgress> {
  return new Promise((resolve) => {
    const off = engine.events.subscribe(['training.progress'], (e) => {
      const p = e.payload as TrainingProgress
      if (p.runId === runId) {
        off()
        resolve(p)
      }
    })
  })
}

describe('training quality against the PyTorch peer', () => {
  test('seattle-weather `weather`: accuracy no worse than the peer by more than split noise', async () => {
    const engine = openTestEngine()
    await importVega(engine, 'seattle-weather.csv', 'weather')
    const run = await trainAndWait(engine, { dataset: 'weather', target: 'weather', params: { epochs: 30, batchSize: 64 } })
    expect(run.status, run.error ?? '').toBe('finished')
    // 'date' is a DATE column: left out of the features unless named.
    expect(run.features.map((f) => f.name)).toEqual(['precipitation', 'temp_max', 'temp_min', 'wind'])
    expect(run.metrics!.test.accuracy).toBeGreaterThanOrEqual(torchFloors.weather.accuracy! - 0.05)
    expect(run.metrics!.confusion!.labels).toEqual(['drizzle', 'fog', 'rain', 'snow', 'sun'])
    for (const m of ['accuracy', 'precision', 'recall', 'f1', 'log_loss']) expect(run.metrics!.validation[m]).toBeTypeOf('number')
    const { series } = await engine.call('training.runs.show', { run: run.id })
    expect(series.epoch_seconds).toHaveLength(30)
    expect(series.loss!.at(-1)!.value).toBeLessThan(series.loss![0]!.value)
  }, 240_000)

  test('penguins `species`: categorical features with missing values, accuracy near the peer', async () => {
    const engine = openTestEngine()
    await importVega(engine, 'penguins.json', 'penguins')
    const run = await trainAndWait(engine, { dataset: 'penguins', target: 'Species', params: { epochs: 30, batchSize: 32 } })
    expect(run.status, run.error ?? '').toBe('finished')
    expect(run.metrics!.test.accuracy).toBeGreaterThanOrEqual(torchFloors.penguins.accuracy! - 0.05)
  }, 240_000)

  test('cars `Miles_per_Gallon` (regression): RMSE within 25% of the peer', async () => {
    const engine = openTestEngine()
    await importVega(engine, 'cars.json', 'cars')
    const run = await trainAndWait(engine, {
      dataset: 'cars',
      target: 'Miles_per_Gallon',
      exclude: ['Name'],
      params: { epochs: 60, batchSize: 32, learningRate: 0.003 },
    })
    expect(run.status, run.error ?? '').toBe('finished')
    expect(run.task).toBe('regression')
    expect(run.metrics!.test.rmse).toBeLessThanOrEqual(torchFloors.cars.rmse! * 1.25)
    expect(run.metrics!.test.r2).toBeGreaterThan(0.6)
    expect(run.metrics!.confusion).toBeNull()
  }, 240_000)
})

describe('runs', () => {
  test('same seed, data, backend and parameters give the same metrics to the last digit; another seed does not', async () => {
    const engine = openTestEngine()
    await importVega(engine, 'seattle-weather.csv', 'weather')
    const spec = { dataset: 'weather', target: 'weather', seed: 7, params: { epochs: 3, dropout: 0.2 } }
    const a = await trainAndWait(engine, spec)
    const b = await trainAndWait(engine, spec)
    const c = await trainAndWait(engine, { ...spec, seed: 8 })
    expect(a.status).toBe('finished')
    expect(b.metrics).toEqual(a.metrics)
    // The ONNX files differ only in their runId metadata; the weights are bit for bit the same.
    expect(b.model!.weightsSha256).toBe(a.model!.weightsSha256)
    expect(c.metrics!.validation.log_loss).not.toBe(a.metrics!.validation.log_loss)
    expect(a.backend!.name).toBe('wasm')
    expect(a.backend!.versions['@tensorflow/tfjs']).toMatch(/^\d+\.\d+/)
    expect(a.seed).toBe(7)
    expect(a.appVersion).toMatch(/^\d+\.\d+/)
  }, 240_000)

  test('reproducible through the sparse first layer too (categorical features)', async () => {
    const engine = openTestEngine()
    await importVega(engine, 'penguins.json', 'penguins')
    const spec = { dataset: 'penguins', target: 'Species', seed: 11, params: { epochs: 3, hidden: [16] } }
    const a = await trainAndWait(engine, spec)
    const b = await trainAndWait(engine, spec)
    expect(a.features.filter((f) => f.kind === 'categorical').map((f) => f.name)).toEqual(['Island', 'Sex'])
    expect(b.metrics).toEqual(a.metrics)
    expect(b.model!.weightsSha256).toBe(a.model!.weightsSha256)
  }, 240_000)

  test('cancel stops a running worker within a second and marks the run cancelled', async () => {
    const engine = openTestEngine()
    await importVega(engine, 'seattle-weather.csv', 'weather')
    const run = await engine.call('training.start', { dataset: 'weather', target: 'weather', params: { epochs: 5000, batchSize: 8 } })
    await firstProgress(engine, run.id)
    const started = performance.now()
    const cancelled = await engine.call('training.runs.cancel', { run: run.id })
    const seconds = (performance.now() - started) / 1000
    expect(cancelled.status).toBe('cancelled')
    expect(seconds).toBeLessThan(1)
    expect(cancelled.model).toBeNull()
    await expect(engine.call('training.runs.cancel', { run: run.id })).rejects.toThrow(/is cancelled/)
  }, 120_000)

  test('runs wait in the queue while a worker is busy (concurrency 1), and a queued run cancels at once', async () => {
    const engine = openTestEngine()
    await importVega(engine, 'seattle-weather.csv', 'weather')
    const first = await engine.call('training.start', { dataset: 'weather', target: 'weather', params: { epochs: 5000, batchSize: 8 } })
    const second = await engine.call('training.start', { dataset: 'weather', target: 'weather', params: { epochs: 1 } })
    await firstProgress(engine, first.id)
    const { runs } = await engine.call('training.runs.list', {})
    expect(Object.fromEntries(runs.map((r) => [r.id, r.status]))).toEqual({ [first.id]: 'running', [second.id]: 'queued' })
    const cancelledWhileQueued = await engine.call('training.runs.cancel', { run: second.id })
    expect(cancelledWhileQueued.status).toBe('cancelled')
    expect(cancelledWhileQueued.startedAt).toBeNull()
    await engine.call('training.runs.cancel', { run: first.id })
  }, 120_000)

  test('a worker killed with SIGKILL fails its run with the reason, and the next run still trains', async () => {
    const engine = openTestEngine()
    await importVega(engine, 'seattle-weather.csv', 'weather')
    const run = await engine.call('training.start', { dataset: 'weather', target: 'weather', params: { epochs: 5000, batchSize: 8 } })
    await firstProgress(engine, run.id)
    process.kill(trainingQueue(engine.context).workerPid(run.id)!, 'SIGKILL')
    const failed = await engine.call('training.runs.wait', { run: run.id, timeoutMs: 30_000 })
    expect(failed.status).toBe('failed')
    expect(failed.error).toMatch(/training worker killed by SIGKILL/)
    const next = await trainAndWait(engine, { dataset: 'weather', target: 'weather', params: { epochs: 1 } })
    expect(next.status).toBe('finished')
  }, 120_000)

  test('a worker that runs out of memory fails its run with the tail of its stderr', async () => {
    const engine = openTestEngine()
    await importVega(engine, 'seattle-weather.csv', 'weather')
    const previous = process.env.LATHE_TRAINING_WORKER_NODE_OPTIONS
    // Exporting a 2048x2048 layer's weights needs far more JavaScript heap than 96 MB.
    process.env.LATHE_TRAINING_WORKER_NODE_OPTIONS = '--max-old-space-size=96'
    afterThisTest(() => {
      if (previous === undefined) delete process.env.LATHE_TRAINING_WORKER_NODE_OPTIONS
      else process.env.LATHE_TRAINING_WORKER_NODE_OPTIONS = previous
    })
    const run = await trainAndWait(engine, { dataset: 'weather', target: 'weather', params: { epochs: 1, hidden: [2048, 2048] } })
    expect(run.status).toBe('failed')
    expect(run.error).toMatch(/training worker (exited|killed)/)
    expect(run.error).toMatch(/memory|heap|allocation/i)
  }, 120_000)

  test('runs left running by an engine that died are failed (engine stopped) when the workspace reopens', async () => {
    const dir = tempDir()
    const first = Engine.open({ workspaceDir: dir, holder: 'test' })
    await importVega(first, 'seattle-weather.csv', 'weather')
    const run = await first.call('training.start', { dataset: 'weather', target: 'weather', params: { epochs: 5000, batchSize: 8 } })
    await firstProgress(first, run.id)
    // Simulate a crash: the row says running, no engine holds it any more.
    first.workspace.db.prepare(`UPDATE training_runs SET status = 'running' WHERE id = ?`).run(run.id)
    await first.close()
    const second = openTestEngine(dir)
    const shown = await second.call('training.runs.show', { run: run.id })
    expect(shown.run.status).toBe('failed')
    expect(shown.run.error).toBe('engine stopped')
  }, 120_000)

  test('bad specs are refused with the field named, and no run is recorded', async () => {
    const engine = openTestEngine()
    await importVega(engine, 'seattle-weather.csv', 'weather')
    await expect(engine.call('training.start', { dataset: 'nope', target: 'x' })).rejects.toMatchObject({ code: 'not_found', field: 'dataset' })
    await expect(engine.call('training.start', { dataset: 'weather', target: 'wetter' })).rejects.toMatchObject({ code: 'bad_request', field: 'target' })
    await expect(engine.call('training.start', { dataset: 'weather', target: 'weather', task: 'regression' })).rejects.toMatchObject({
      field: 'task',
    })
    await expect(engine.call('training.start', { dataset: 'weather', target: 'weather', exclude: ['zzz'] })).rejects.toMatchObject({
      field: 'exclude',
    })
    await expect(
      engine.call('training.start', { dataset: 'weather', target: 'weather', split: { train: 0.9, validation: 0.2, test: 0.1 } }),
    ).rejects.toMatchObject({ field: 'split' })
    await expect(engine.call('training.start', { dataset: 'weather', target: 'weather', params: { epochs: 0 } })).rejects.toMatchObject({
      code: 'bad_request',
    })
    await expect(engine.call('training.runs.show', { run: 'run-missing' })).rejects.toMatchObject({ code: 'not_found', field: 'run' })
    expect((await engine.call('training.runs.list', {})).runs).toHaveLength(0)
  })
})
