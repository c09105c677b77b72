import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, test } from 'vitest'
import { chooseBackend } from '../../../src-main/engine/training/backends.js'
import { LatheError } from '../../../src-main/engine/api/common/errors.js'
import { loadFeed } from '../../../src-main/engine/training/feed.js'
import { trainModel } from '../../../src-main/engine/training/trainer.js'
import { TrainParams, type FeatureColumn } from '../../../src-main/engine/training/types.js'

/** The trainer on small tables read by DuckDB: which weights end up in the model it returns. */

beforeAll(async () => {
  await chooseBackend('wasm')
  await tf.setBackend('wasm')
})

function table(withValidation: boolean): string {
  const rows: string[] = []
  for (let i = 0; i < 90; i++) {
    const split = i % 5 === 0 ? 'validation' : i % 7 === 0 ? 'test' : 'train'
    if (split === 'validation' && !withValidation) continue
    rows.push(`(${(i * 0.37) % 5}, ${(i * 1.3) % 7}, '${['a', 'b', 'c'][i % 3]}', '${split}', ${i}, '${(i * 7) % 3 === 0 ? 'x' : 'y'}')`)
  }
  return `SELECT * FROM (VALUES ${rows.join(', ')}) t(a, b, c, __split, __row, k)`
}

const features: FeatureColumn[] = [
  { name: 'a', kind: 'numeric' },
  { name: 'b', kind: 'numeric' },
  { name: 'c', kind: 'categorical' },
] as FeatureColumn[]

async function train(withValidation: boolean, extra: Partial<TrainParams> = {}) {
  const feed = await loadFeed({ sourceSql: table(withValidation), features, target: 'k', task: 'classification' })
  const params = TrainParams.parse({ epochs: 6, hidden: [8], batchSize: 16, learningRate: 0.05, dropout: 0.1, l2: 0.001, ...extra })
  const reports: Array<Record<string, number>> = []
  const result = await trainModel(tf, feed, { family: 'mlp', task: 'classification', params, seed: 4, onEpoch: (e) => void reports.push(e.validation) })
  result.model.dispose()
  return { result, reports, feed }
}

describe('trainModel', () => {
  test("without a validation split, the returned model has the last step's weights (as with one)", async () => {
    const a = await train(true)
    const b = await train(false)
    expect(b.feed.validation.rows).toBe(0)
    expect(b.result.weights).toEqual(a.result.weights)
    expect(b.result.metrics.test).toEqual(a.result.metrics.test)
  })

  test("early stopping restores the best epoch's weights: the final validation metrics are that epoch's", async () => {
    const { result, reports } = await train(true, { epochs: 30, learningRate: 0.5, earlyStopping: { metric: 'val_loss', patience: 2 } } as Partial<TrainParams>)
    const best = Math.min(...reports.map((r) => r.loss!))
    expect(result.metrics.validation.loss).toBe(best)
  })

  test('a training split smaller than the batch size trains in one batch per epoch', async () => {
    const { result } = await train(true, { batchSize: 10_000 })
    expect(result.epochsRun).toBe(6)
    expect(result.weights.layers[0]!.kernel.every(Number.isFinite)).toBe(true)
  })

  test('a diverging run stops with the reason (the loss, where, the learning rate) instead of exporting a NaN model', async () => {
    const error = await train(true, { optimizer: 'sgd', learningRate: 10, hidden: [64, 64], dropout: 0, l2: 0 }).then(
      () => new Error('trained without diverging'),
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(LatheError)
    expect((error as LatheError).message).toMatch(
      /training diverged: the loss became (NaN|Infinity|-Infinity) at epoch \d+, batch \d+ \(sgd, learning rate 10\); try a lower learning rate/,
    )
    expect((error as LatheError).field).toBe('params.learningRate')
  })
})
