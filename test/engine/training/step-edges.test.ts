import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, test } from 'vitest'
import { chooseBackend } from '../../../src-main/engine/training/backends.js'
import { TabularModel } from '../../../src-main/engine/training/model.js'
import { TrainingStep, type StepBatch } from '../../../src-main/engine/training/step.js'
import { TrainParams, type ModelFamily, type Task } from '../../../src-main/engine/training/types.js'

beforeAll(async () => {
  await chooseBackend('wasm')
})

interface Data {
  numericCount: number
  blockSizes: number[]
  rows: number
  classes: number
}

function makeData(d: Data, seed: number) {
  const width = d.numericCount + d.blockSizes.reduce((a, b) => a + b, 0)
  let s = seed
  const rnd = () => (s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32
  const numeric = Float32Array.from({ length: d.rows * d.numericCount }, () => rnd() * 4 - 2)
  const hot = new Int32Array(d.rows * d.blockSizes.length)
  const dense = new Float32Array(d.rows * width)
  for (let r = 0; r < d.rows; r++) {
    dense.set(numeric.subarray(r * d.numericCount, (r + 1) * d.numericCount), r * width)
    let off = d.numericCount
    d.blockSizes.forEach((size, b) => {
      const h = off + Math.floor(rnd() * size)
      hot[r * d.blockSizes.length + b] = h
      dense[r * width + h] = 1
      off += size
    })
  }
  const y = Float32Array.from({ length: d.rows }, () => (d.classes > 0 ? Math.floor(rnd() * d.classes) : rnd() * 2 - 1))
  return { width, numeric, hot, dense, y }
}

function check(name: string, family: ModelFamily, task: Task, activation: TrainParams['activation'], hidden: number[], l2: number, d: Data, sizes: number[]) {
  for (const backend of ['wasm', 'cpu'] as const) {
    test(`${name} on ${backend}, batch sizes ${sizes}`, async () => {
      await tf.setBackend(backend)
      const params = TrainParams.parse({ hidden, activation, l2 })
      const outputs = task === 'classification' ? d.classes : 1
      const width = d.numericCount + d.blockSizes.reduce((a, b) => a + b, 0)
      const model = TabularModel.initialize(tf, { family, task, params, seed: 3, inputs: width, outputs })
      const sparse = d.blockSizes.length > 0
      const step = new TrainingStep(tf, model.exportWeights().layers, {
        family,
        task,
        params,
        seed: 5,
        layout: { numericCount: d.numericCount, blocks: sparse ? d.blockSizes.length : 0 },
      })
      if (!sparse) expect(width).toBe(d.numericCount)
      for (const [k, n] of sizes.entries()) {
        const data = makeData({ ...d, rows: n }, 100 + k)
        // The trainer reuses batch arrays sized for the largest batch.
        const batch: StepBatch = sparse ? { n, numeric: data.numeric, hot: data.hot, y: data.y } : { n, x: data.numeric, y: data.y }
        const loss = step.gradients(batch)
        const x = tf.tensor2d(data.dense, [n, width])
        const { value, grads } = tf.variableGrads(() => {
          const out = model.forward(x)
          const dl =
            task === 'classification'
              ? tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d(data.y, 'int32'), outputs), out)
              : tf.losses.meanSquaredError(tf.tensor2d(data.y, [n, 1]), out)
          const kernels = model.trainable.filter((_, i) => i % 2 === 0)
          return (l2 > 0 && family === 'mlp' ? tf.add(dl, tf.mul(l2, tf.addN(kernels.map((k) => tf.sum(tf.square(k)))))) : dl) as tf.Scalar
        }, model.trainable)
        expect(loss).toBeCloseTo(value.dataSync()[0]!, 4)
        const expected = model.trainable.flatMap((v) => Array.from(grads[v.name]!.dataSync()))
        const ours = Array.from(step.grads)
        expect(ours.length).toBe(expected.length)
        ours.forEach((v, j) => expect(v, `grad ${j} at n=${n}`).toBeCloseTo(expected[j]!, 4))
        x.dispose()
        value.dispose()
        Object.values(grads).forEach((g) => g.dispose())
        // take a step and sync so the next comparison is on moved weights
        step.update()
        step.writeTo(model)
      }
      step.dispose()
      model.dispose()
    })
  }
}

describe('edges', () => {
  check('relu mlp dense class', 'mlp', 'classification', 'relu', [5, 4], 0, { numericCount: 3, blockSizes: [], rows: 0, classes: 3 }, [6, 1, 4, 1])
  check('sigmoid mlp dense reg', 'mlp', 'regression', 'sigmoid', [5, 4], 0.01, { numericCount: 3, blockSizes: [], rows: 0, classes: 0 }, [7, 1, 3])
  check('tanh mlp dense class 2 layers', 'mlp', 'classification', 'tanh', [5, 4], 0.02, { numericCount: 40, blockSizes: [], rows: 0, classes: 2 }, [9, 2, 1])
  check('tanh mlp sparse no numeric', 'mlp', 'classification', 'tanh', [5], 0, { numericCount: 0, blockSizes: [3, 4], rows: 0, classes: 2 }, [6, 1, 5])
  check('linear sparse no numeric reg', 'linear', 'regression', 'relu', [], 0, { numericCount: 0, blockSizes: [3, 4], rows: 0, classes: 0 }, [6, 1, 5])
  check('linear sparse numeric class', 'linear', 'classification', 'relu', [], 0, { numericCount: 2, blockSizes: [1, 4], rows: 0, classes: 2 }, [6, 1, 5])
  check('linear dense class', 'linear', 'classification', 'relu', [], 0, { numericCount: 2, blockSizes: [], rows: 0, classes: 4 }, [6, 1, 5])
  check('linear dense reg one col', 'linear', 'regression', 'relu', [], 0, { numericCount: 1, blockSizes: [], rows: 0, classes: 0 }, [1, 3, 1])
  check('sigmoid mlp sparse 3 layers', 'mlp', 'regression', 'sigmoid', [4, 3, 2], 0.1, { numericCount: 2, blockSizes: [2, 2], rows: 0, classes: 0 }, [5, 1, 2])
})

describe('dropout with L2', () => {
  test.each(['wasm', 'cpu'] as const)("the gradient is the loss's derivative under the same masks, on %s", async (backend) => {
    await tf.setBackend(backend)
    const d = { numericCount: 3, blockSizes: [3], rows: 8, classes: 3 }
    const data = makeData(d, 9)
    const params = TrainParams.parse({ hidden: [6, 5], activation: 'tanh', l2: 0.05, dropout: 0.3 })
    const model = TabularModel.initialize(tf, { family: 'mlp', task: 'classification', params, seed: 3, inputs: data.width, outputs: 3 })
    const make = () =>
      new TrainingStep(tf, model.exportWeights().layers, { family: 'mlp', task: 'classification', params, seed: 21, layout: { numericCount: 3, blocks: 1 } })
    const batch: StepBatch = { n: d.rows, numeric: data.numeric, hot: data.hot, y: data.y }
    const at = make()
    at.gradients(batch)
    const g = Float64Array.from(at.grads)
    const norm = g.reduce((s, v) => s + v * v, 0)
    const e = 1e-2 / Math.sqrt(norm)
    // Same seed: the first call of a fresh step draws the same masks.
    const lossAt = (sign: number) => {
      const s = make()
      s.params.forEach((p, i) => (s.params[i] = p + sign * e * g[i]!))
      const l = s.gradients(batch)
      s.dispose()
      return l
    }
    const directional = (lossAt(1) - lossAt(-1)) / (2 * e)
    expect(Math.abs(directional - norm) / norm).toBeLessThan(2e-2)
    at.dispose()
    model.dispose()
  })
})
