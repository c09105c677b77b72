import * as tf from '@tensorflow/tfjs'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { chooseBackend, probeBackends } from '../../../src-main/engine/training/backends.js'
import { TabularModel } from '../../../src-main/engine/training/model.js'
import { TrainingStep, type StepBatch } from '../../../src-main/engine/training/step.js'
import { TrainParams, type Task } from '../../../src-main/engine/training/types.js'

/**
 * The step on every backend present: the asynchronous pass (what webgpu runs, since it
 * cannot read back synchronously in Node) against the synchronous one, a step bound to
 * a backend that is not the active one (how a webgpu run keeps its model on wasm), and
 * webgpu itself against wasm wherever Dawn finds a GPU adapter.
 */

// Probed at collection time, so that the webgpu tests are skipped with the reason in their name.
const webgpu = (await probeBackends('auto')).find((r) => r.name === 'webgpu')!
const onGpu = webgpu.available ? 'where a GPU adapter exists' : `skipped: ${webgpu.reason}`

beforeAll(async () => {
  await chooseBackend('wasm')
  await tf.setBackend('wasm')
})
afterAll(async () => {
  await tf.setBackend('wasm')
})

const rows = 37
const numericCount = 3
const blocks = 2
// Categories in design-matrix columns 3..6 (block 0) and 7..9 (block 1); width 10.
const width = 10
const numeric = Float32Array.from({ length: rows * numericCount }, (_, i) => Math.cos(i * 0.37) * 1.5)
const hot = Int32Array.from({ length: rows * blocks }, (_, i) => (i % 2 === 0 ? 3 + ((i * 7) % 4) : 7 + ((i * 5) % 3)))
const dense = new Float32Array(rows * width)
for (let r = 0; r < rows; r++) {
  dense.set(numeric.subarray(r * numericCount, (r + 1) * numericCount), r * width)
  for (let b = 0; b < blocks; b++) dense[r * width + hot[r * blocks + b]!] = 1
}
const labels = Float32Array.from({ length: rows }, (_, i) => (i * 13) % 3)
const targets = Float32Array.from({ length: rows }, (_, i) => Math.sin(i) * 2)

interface Case {
  name: string
  task: Task
  activation: TrainParams['activation']
  sparse: boolean
  dropout: number
}
const cases: Case[] = [
  { name: 'relu, classification, dense, dropout', task: 'classification', activation: 'relu', sparse: false, dropout: 0.3 },
  { name: 'tanh, regression, sparse first layer', task: 'regression', activation: 'tanh', sparse: true, dropout: 0 },
  { name: 'sigmoid, classification, sparse, dropout', task: 'classification', activation: 'sigmoid', sparse: true, dropout: 0.2 },
]

function make(c: Case, backend?: string) {
  const params = TrainParams.parse({ hidden: [8, 5], activation: c.activation, dropout: c.dropout, l2: 0.01, learningRate: 0.01 })
  const outputs = c.task === 'classification' ? 3 : 1
  const model = TabularModel.initialize(tf, { family: 'mlp', task: c.task, params, seed: 3, inputs: width, outputs })
  const layout = { numericCount, blocks: c.sparse ? blocks : 0 }
  const step = new TrainingStep(tf, model.exportWeights().layers, { family: 'mlp', task: c.task, params, seed: 9, layout, backend })
  model.dispose()
  const y = c.task === 'classification' ? labels : targets
  const batch: StepBatch = c.sparse ? { n: rows, numeric, hot, y } : { n: rows, x: dense, y }
  return { step, batch }
}

describe('TrainingStep, asynchronous pass', () => {
  const withBackends = cases.flatMap((c) => (['wasm', 'cpu'] as const).map((backend) => ({ ...c, backend })))
  test.each(withBackends)('stepAsync gives bit-for-bit the losses and parameters of step: $name, on $backend', async (c) => {
    await tf.setBackend(c.backend)
    const sync = make(c)
    const async = make(c)
    expect(sync.step.sync).toBe(true)
    for (let i = 0; i < 4; i++) {
      const a = sync.step.step(sync.batch)
      const b = await async.step.stepAsync(async.batch)
      expect(b).toBe(a)
    }
    expect(Array.from(async.step.params)).toEqual(Array.from(sync.step.params))
    expect(Array.from(async.step.grads)).toEqual(Array.from(sync.step.grads))
    sync.step.dispose()
    async.step.dispose()
    await tf.setBackend('wasm')
  })

  test('a step bound to the cpu backend while wasm is active equals a step on the active cpu backend', async () => {
    const c = cases[1]!
    await tf.setBackend('cpu')
    const active = make(c)
    const activeLosses = [0, 1, 2].map(() => active.step.step(active.batch))
    await tf.setBackend('wasm')
    const bound = make(c, 'cpu')
    const boundLosses = [0, 1, 2].map(() => bound.step.step(bound.batch))
    expect(boundLosses).toEqual(activeLosses)
    expect(Array.from(bound.step.params)).toEqual(Array.from(active.step.params))
    active.step.dispose()
    bound.step.dispose()
  })

  test('a pass whose read throws still frees its buffers', async () => {
    await tf.setBackend('wasm')
    const { step, batch } = make(cases[0]!)
    step.step(batch) // caches the ones row
    const before = tf.backend().numDataIds()
    const kernels = (step as unknown as { kernels: { readAsync(b: unknown): Promise<Float32Array> } }).kernels
    const original = kernels.readAsync.bind(kernels)
    kernels.readAsync = async () => {
      throw new Error('device lost')
    }
    await expect(step.stepAsync(batch)).rejects.toThrow('device lost')
    kernels.readAsync = original
    expect(tf.backend().numDataIds()).toBe(before)
    step.dispose()
  })
})

describe('webgpu backend', () => {
  test('is probed after tfjs-node-gpu and before the CPU backends, with a reason when it is not available', async () => {
    const reports = await probeBackends('auto')
    const names = reports.map((r) => r.name)
    expect(names.indexOf('webgpu')).toBe(names.indexOf('tfjs-node-gpu') + 1)
    expect(names.indexOf('webgpu')).toBeLessThan(names.indexOf('tfjs-node'))
    const report = reports.find((r) => r.name === 'webgpu')!
    if (report.available) {
      expect(report.device).toMatch(/^gpu: /)
      expect(report.details).toBeDefined()
    } else {
      expect(report.reason).toMatch(/^(no device|module not installed|load error)/)
      expect(report.chosen).toBe(false)
    }
  })

  test.skipIf(!webgpu.available).each(cases)(`gradients on webgpu equal wasm within float32 tolerance (${onGpu}): $name`, async (c) => {
    await tf.setBackend('wasm')
    const reference = make(c)
    const onGpu = make(c, 'webgpu')
    expect(onGpu.step.sync).toBe(false)
    const a = reference.step.gradients(reference.batch)
    const b = await onGpu.step.gradientsAsync(onGpu.batch)
    expect(b).toBeCloseTo(a, 4)
    onGpu.step.grads.forEach((g, i) => expect(g).toBeCloseTo(reference.step.grads[i]!, 4))
    reference.step.dispose()
    onGpu.step.dispose()
  })
})
