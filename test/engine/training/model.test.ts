import * as tf from '@tensorflow/tfjs'
import { describe, expect, test } from 'vitest'
import { chooseBackend } from '../../../src-main/engine/training/backends.js'
import { addBias, matMul, TabularModel } from '../../../src-main/engine/training/model.js'
import { TrainParams } from '../../../src-main/engine/training/types.js'

describe('the sparse first layer', () => {
  test('gives the same outputs and gradients as the dense one-hot matmul on the wasm backend, repeated categories included', async () => {
    await chooseBackend('wasm')
    await tf.setBackend('wasm')
    // 2 numeric columns, then blocks of 4 and 3 one-hot slots: width 9.
    const numeric = [0.5, -1, 2, 0.25, -0.3, 0.1, 1.5, 1.5]
    const hot = [
      [2, 6],
      [2, 8],
      [5, 6],
      [2, 6],
    ] // row 0 and 3 share both categories: the scatter must sum them
    const rows = hot.length
    const dense = new Float32Array(rows * 9)
    hot.forEach((h, r) => {
      dense[r * 9] = numeric[r * 2]!
      dense[r * 9 + 1] = numeric[r * 2 + 1]!
      for (const c of h) dense[r * 9 + c] = 1
    })
    const model = TabularModel.initialize(tf, {
      family: 'mlp',
      task: 'regression',
      params: TrainParams.parse({ hidden: [5] }),
      seed: 3,
      inputs: 9,
      outputs: 1,
    })
    const target = tf.tensor2d([1, -1, 0.5, 2], [rows, 1])
    const gradsOf = (f: () => tf.Tensor2D) => {
      const { value, grads } = tf.variableGrads(() => tf.losses.meanSquaredError(target, f()) as tf.Scalar, model.trainable)
      return { loss: value.dataSync()[0]!, grads: model.trainable.map((v) => Array.from(grads[v.name]!.dataSync())) }
    }
    const a = gradsOf(() => model.forward(tf.tensor2d(dense, [rows, 9]), false))
    const b = gradsOf(() => model.forwardSparse(tf.tensor2d(numeric, [rows, 2]), tf.tensor1d(hot.flat(), 'int32'), rows, 2, false))
    expect(b.loss).toBeCloseTo(a.loss, 6)
    a.grads.forEach((g, i) => g.forEach((v, j) => expect(b.grads[i]![j]).toBeCloseTo(v, 5)))
    // The first kernel's rows for unused categories get no gradient in either path.
    expect(a.grads[0]![3 * 5]).toBe(0)
    model.dispose()
  })
})

describe('matMul with transposed-operand gradients', () => {
  test('gives the same product and gradients as tf.matMul on the wasm backend', async () => {
    await chooseBackend('wasm')
    await tf.setBackend('wasm')
    const a = tf.tensor2d(Array.from({ length: 15 }, (_, i) => Math.sin(i + 1)), [5, 3])
    const b = tf.tensor2d(Array.from({ length: 12 }, (_, i) => Math.cos(i * 0.7)), [3, 4])
    const weight = tf.tensor2d(Array.from({ length: 20 }, (_, i) => (i % 7) - 3), [5, 4])
    const gradsOf = (f: (x: tf.Tensor2D, y: tf.Tensor2D) => tf.Tensor2D) =>
      tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(f(x as tf.Tensor2D, y as tf.Tensor2D), weight)))([a, b]).map((g) => Array.from(g.dataSync()))
    expect(Array.from(matMul(tf, a, b).dataSync())).toEqual(Array.from(tf.matMul(a, b).dataSync()))
    const ours = gradsOf((x, y) => matMul(tf, x, y))
    const theirs = gradsOf((x, y) => tf.matMul(x, y))
    ours.forEach((g, i) => g.forEach((v, j) => expect(v).toBeCloseTo(theirs[i]![j]!, 5)))
  })
})

describe('addBias with a product for the bias gradient', () => {
  test('gives the same sum and gradients as the broadcasting tf.add on the wasm backend', async () => {
    await chooseBackend('wasm')
    await tf.setBackend('wasm')
    const h = tf.tensor2d(Array.from({ length: 15 }, (_, i) => Math.sin(i + 1)), [5, 3])
    const bias = tf.tensor1d([0.5, -1, 2])
    const weight = tf.tensor2d(Array.from({ length: 15 }, (_, i) => (i % 7) - 3), [5, 3])
    const gradsOf = (f: (x: tf.Tensor2D, b: tf.Tensor) => tf.Tensor2D) =>
      tf.grads((x: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(f(x as tf.Tensor2D, b), weight)))([h, bias]).map((g) => Array.from(g.dataSync()))
    expect(Array.from(addBias(tf, h, bias).dataSync())).toEqual(Array.from(tf.add(h, bias).dataSync()))
    const ours = gradsOf((x, b) => addBias(tf, x, b))
    const theirs = gradsOf((x, b) => tf.add(x, b) as tf.Tensor2D)
    expect(ours[1]!.length).toBe(3)
    ours.forEach((g, i) => g.forEach((v, j) => expect(v).toBeCloseTo(theirs[i]![j]!, 5)))
  })
})
