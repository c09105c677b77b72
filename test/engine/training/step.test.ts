import * as tf from '@tensorflow/tfjs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { chooseBackend } from '../../../src-main/engine/training/backends.js'
import { TabularModel } from '../../../src-main/engine/training/model.js'
import { stepKernels } from '../../../src-main/engine/training/kernels.js'
import { TrainingStep, type StepBatch } from '../../../src-main/engine/training/step.js'
import { TrainParams, type ModelFamily, type Task } from '../../../src-main/engine/training/types.js'

/**
 * The hand-written training step against TensorFlow.js's own autodiff and optimizers,
 * on the wasm backend training uses (and on the pure-JS cpu backend, the fallback):
 * same loss, same gradients, same updates.
 */

beforeAll(async () => {
  await chooseBackend('wasm')
  await tf.setBackend('wasm')
})
afterAll(async () => {
  await tf.setBackend('wasm')
})

/** 2 numeric columns, then one-hot blocks of 4 and 3 slots: width 9. */
const numericCount = 2
const blockSizes = [4, 3]
const width = numericCount + blockSizes.reduce((a, b) => a + b, 0)
const rows = 6
const numeric = Float32Array.from({ length: rows * numericCount }, (_, i) => Math.sin(i * 1.7) * 2)
// Rows 0 and 3 share both categories: the scatter must add their gradients.
const hot = Int32Array.from([2, 6, 2, 8, 5, 6, 2, 6, 3, 7, 2, 8])
const dense = new Float32Array(rows * width)
for (let r = 0; r < rows; r++) {
  dense.set(numeric.subarray(r * numericCount, (r + 1) * numericCount), r * width)
  for (let b = 0; b < blockSizes.length; b++) dense[r * width + hot[r * blockSizes.length + b]!] = 1
}
const classLabels = Float32Array.from([0, 2, 1, 2, 0, 1])
const targets = Float32Array.from([0.5, -1.2, 0.3, 2, -0.4, 1.1])

interface Case {
  name: string
  family: ModelFamily
  task: Task
  activation: TrainParams['activation']
  hidden: number[]
  l2: number
  sparse: boolean
}

const cases: Case[] = [
  { name: 'relu MLP, classification, dense inputs', family: 'mlp', task: 'classification', activation: 'relu', hidden: [5, 4], l2: 0, sparse: false },
  { name: 'tanh MLP, regression, dense inputs, L2', family: 'mlp', task: 'regression', activation: 'tanh', hidden: [5], l2: 0.01, sparse: false },
  {
    name: 'sigmoid MLP, classification, sparse first layer, L2',
    family: 'mlp',
    task: 'classification',
    activation: 'sigmoid',
    hidden: [4, 3],
    l2: 0.05,
    sparse: true,
  },
  { name: 'relu MLP, regression, sparse first layer', family: 'mlp', task: 'regression', activation: 'relu', hidden: [6], l2: 0, sparse: true },
  { name: 'logistic regression (linear), sparse', family: 'linear', task: 'classification', activation: 'relu', hidden: [], l2: 0, sparse: true },
  { name: 'linear regression, dense', family: 'linear', task: 'regression', activation: 'relu', hidden: [], l2: 0, sparse: false },
]

function setUp(c: Case, extra: Partial<TrainParams> = {}) {
  const params = TrainParams.parse({ hidden: c.hidden, activation: c.activation, l2: c.l2, ...extra })
  const outputs = c.task === 'classification' ? 3 : 1
  const model = TabularModel.initialize(tf, { family: c.family, task: c.task, params, seed: 11, inputs: width, outputs })
  const layout = { numericCount, blocks: c.sparse ? blockSizes.length : 0 }
  const step = new TrainingStep(tf, model.exportWeights().layers, { family: c.family, task: c.task, params, seed: 5, layout })
  const y = c.task === 'classification' ? classLabels : targets
  const batch: StepBatch = c.sparse ? { n: rows, numeric, hot, y } : { n: rows, x: dense, y }
  return { params, model, step, batch, outputs }
}

/** TensorFlow.js's autodiff of the same loss through TabularModel.forward on the dense design matrix. */
function autodiff(c: Case, model: TabularModel, outputs: number) {
  const x = tf.tensor2d(dense, [rows, width])
  const { value, grads } = tf.variableGrads(() => {
    const out = model.forward(x)
    const data =
      c.task === 'classification'
        ? tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d(classLabels, 'int32'), outputs), out)
        : tf.losses.meanSquaredError(tf.tensor2d(targets, [rows, 1]), out)
    const kernels = model.trainable.filter((_, i) => i % 2 === 0)
    return (c.l2 > 0 && c.family === 'mlp' ? tf.add(data, tf.mul(c.l2, tf.addN(kernels.map((k) => tf.sum(tf.square(k)))))) : data) as tf.Scalar
  }, model.trainable)
  return { loss: value.dataSync()[0]!, grads: model.trainable.map((v) => Float32Array.from(grads[v.name]!.dataSync())) }
}

describe('TrainingStep gradients', () => {
  const withBackends = cases.flatMap((c) => (['wasm', 'cpu'] as const).map((backend) => ({ ...c, backend })))
  test.each(withBackends)('equal TensorFlow.js autodiff: $name, on $backend', async (c) => {
    await tf.setBackend(c.backend)
    const { model, step, batch, outputs } = setUp(c)
    const loss = step.gradients(batch)
    const expected = autodiff(c, model, outputs)
    expect(loss).toBeCloseTo(expected.loss, 5)
    const ours = step.layers().flatMap((_, i) => {
      const s = step.layers()[i]!
      const kernelAt = s.kernel.byteOffset / 4
      const biasAt = s.bias.byteOffset / 4
      return [step.grads.subarray(kernelAt, kernelAt + s.kernel.length), step.grads.subarray(biasAt, biasAt + s.bias.length)]
    })
    expect(ours.length).toBe(expected.grads.length)
    ours.forEach((g, i) => {
      expect(g.length).toBe(expected.grads[i]!.length)
      g.forEach((v, j) => expect(v).toBeCloseTo(expected.grads[i]![j]!, 5))
    })
    if (c.sparse && c.l2 === 0) {
      // Design-matrix column 4 (a category of the first block) is in no row: its kernel row gets no gradient.
      const units = model.trainable[0]!.shape[1]!
      expect(Array.from(ours[0]!.subarray(4 * units, 5 * units)).every((v) => v === 0)).toBe(true)
      expect(Array.from(ours[0]!.subarray(3 * units, 4 * units)).some((v) => v !== 0)).toBe(true)
    }
    model.dispose()
    step.dispose()
  })

  test('dropout draws its masks from the seed: the same seed gives the same gradients, a different one does not', () => {
    const c = cases[0]!
    const run = (seed: number) => {
      const params = TrainParams.parse({ hidden: c.hidden, dropout: 0.5 })
      const model = TabularModel.initialize(tf, { family: 'mlp', task: c.task, params, seed: 11, inputs: width, outputs: 3 })
      const step = new TrainingStep(tf, model.exportWeights().layers, { family: 'mlp', task: c.task, params, seed, layout: { numericCount, blocks: 0 } })
      const losses = [1, 2, 3].map(() => step.step({ n: rows, x: dense, y: classLabels }))
      model.dispose()
      return { losses, params: Array.from(step.params) }
    }
    const a = run(1)
    expect(run(1)).toEqual(a)
    expect(run(2).params).not.toEqual(a.params)
    // Without dropout the loss is that of the plain forward pass; with it, it differs.
    const { model, step, batch, outputs } = setUp(c)
    expect(a.losses[0]).not.toBeCloseTo(autodiff(c, model, outputs).loss, 5)
    model.dispose()
    step.dispose()
  })
})

describe('TrainingStep optimizers', () => {
  test.each(['adam', 'sgd', 'rmsprop'] as const)("%s updates the parameters as TensorFlow.js's optimizer does", (optimizer) => {
    const c = cases[0]!
    const learningRate = 0.01
    const { model, step, batch } = setUp(c, { optimizer, learningRate })
    const theirs = optimizer === 'adam' ? tf.train.adam(learningRate) : optimizer === 'sgd' ? tf.train.sgd(learningRate) : tf.train.rmsprop(learningRate)
    const variables = model.trainable
    for (let i = 0; i < 5; i++) {
      step.gradients(batch)
      // The same gradients, split per variable, through TensorFlow.js's optimizer.
      const named: tf.NamedTensorMap = {}
      step.layers().forEach((l, j) => {
        const k = l.kernel.byteOffset / 4
        const b = l.bias.byteOffset / 4
        named[variables[2 * j]!.name] = tf.tensor(step.grads.slice(k, k + l.kernel.length), variables[2 * j]!.shape)
        named[variables[2 * j + 1]!.name] = tf.tensor(step.grads.slice(b, b + l.bias.length), variables[2 * j + 1]!.shape)
      })
      theirs.applyGradients(named as never)
      step.update()
    }
    step.layers().forEach((l, j) => {
      const kernel = variables[2 * j]!.dataSync()
      l.kernel.forEach((v, i) => expect(v).toBeCloseTo(kernel[i]!, 5))
      const bias = variables[2 * j + 1]!.dataSync()
      l.bias.forEach((v, i) => expect(v).toBeCloseTo(bias[i]!, 5))
    })
    // And it learned something: the loss on the batch went down.
    expect(step.gradients(batch)).toBeLessThan(untrainedLoss(c))
    model.dispose()
    step.dispose()
  })
})

function untrainedLoss(c: Case): number {
  const { model, step, batch } = setUp(c)
  const loss = step.gradients(batch)
  model.dispose()
  step.dispose()
  return loss
}

describe('TrainingStep memory', () => {
  test.each(['wasm', 'cpu'] as const)('frees every buffer of a step on %s (no growth over many steps)', async (backend) => {
    await tf.setBackend(backend)
    for (const c of [cases[1]!, cases[2]!]) {
      const { model, step, batch } = setUp(c, { dropout: c.family === 'mlp' ? 0.2 : 0 })
      step.step(batch) // caches the ones row for this batch size
      const before = tf.backend().numDataIds()
      for (let i = 0; i < 25; i++) step.step(batch)
      expect(tf.backend().numDataIds()).toBe(before)
      step.dispose()
      model.dispose()
    }
  })
})

describe('TrainingStep.writeTo', () => {
  test('puts the trained parameters into the model that predicts and exports', () => {
    const c = cases[2]!
    const { model, step, batch } = setUp(c, { learningRate: 0.05 })
    for (let i = 0; i < 20; i++) step.step(batch)
    step.writeTo(model)
    const exported = model.exportWeights().layers
    step.layers().forEach((l, j) => {
      expect(exported[j]!.kernel).toEqual(Array.from(l.kernel))
      expect(exported[j]!.bias).toEqual(Array.from(l.bias))
    })
    model.dispose()
    step.dispose()
  })
})

/** tfjs-node is an optional dependency: its install fails where libtensorflow cannot be downloaded, and npm then leaves it out. */
const tfjsNodeDir = (() => {
  try {
    return path.dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-node/package.json'))
  } catch {
    return null
  }
})()

describe('TrainingStep on a backend whose fused kernels call TensorFlow.js ops (tfjs-node)', () => {
  // tfjs-node's _FusedMatMul and Step kernels compose tf.matMul / tf.isNaN ..., which
  // take Tensors, not the bare buffers DirectKernels passes. The native addon is not
  // built here, so its two kernel functions run on a cpu backend registered under
  // another name, with cpu's kernels for everything else.
  const kernelOf = async (file: string, name: string) =>
    ((await import(pathToFileURL(path.join(tfjsNodeDir!, 'dist', 'kernels', file)).href)) as Record<string, tf.KernelConfig>)[name]!
  test.skipIf(!tfjsNodeDir)(
    'gradients equal the cpu backend\'s, instead of "must be a Tensor" (skipped where the optional @tensorflow/tfjs-node is not installed)',
    async () => {
      const name = 'cpu-with-tfjs-node-kernels'
      if (!tf.findBackend(name)) {
        const { MathBackendCPU } = await import('@tensorflow/tfjs-backend-cpu')
        tf.registerBackend(name, () => new MathBackendCPU())
        const node = {
          _FusedMatMul: await kernelOf('_FusedMatMul.js', '_fusedMatMulConfig'),
          Step: await kernelOf('Step.js', 'stepConfig'),
        } as Record<string, tf.KernelConfig>
        for (const kernel of stepKernels) {
          tf.registerKernel({ ...(node[kernel] ?? tf.getKernel(kernel, 'cpu')!), backendName: name })
        }
      }
      for (const c of [cases[0]!, cases[2]!, cases[5]!]) {
        await tf.setBackend('cpu')
        const expected = setUp(c)
        const loss = expected.step.gradients(expected.batch)
        await tf.setBackend(name)
        const { model, step, batch } = setUp(c)
        expect(step.gradients(batch)).toBeCloseTo(loss, 6)
        step.grads.forEach((g, i) => expect(g).toBeCloseTo(expected.step.grads[i]!, 6))
        for (const s of [step, expected.step]) s.dispose()
        for (const m of [model, expected.model]) m.dispose()
      }
      await tf.setBackend('wasm')
    },
  )
})
