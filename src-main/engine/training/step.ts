import type * as TfModule from '@tensorflow/tfjs'
import { DirectKernels, type Buffer } from './kernels.js'
import { seededRandom, type DenseWeights, type TabularModel } from './model.js'
import type { ModelFamily, Task, TrainParams } from './types.js'

type Tf = typeof TfModule

/**
 * One optimizer step of the tabular MLP with its gradients written out by hand.
 *
 * TensorFlow.js's autodiff (tape, customGrad wrappers) and its optimizers (about a
 * dozen small ops per variable for Adam) cost ~165 kernel dispatches and ~2.5 ms per
 * step of a 64-64 MLP on the wasm backend, most of it fixed overhead rather than
 * arithmetic: six times PyTorch's step on seattle-weather. Here the products still
 * run as TensorFlow.js kernels (XNNPACK on wasm), about 15 per step, called straight
 * on the backend (`DirectKernels`), and what is cheap per element runs in JavaScript
 * on typed arrays:
 *
 * - the parameters, their gradients and the optimizer's moments live in one flat
 *   Float32Array; the optimizer update is one loop over it (Adam, RMSprop and SGD with
 *   TensorFlow.js's own defaults and formulas);
 * - the loss and its gradient with respect to the outputs (softmax cross-entropy or
 *   mean squared error, mean over the batch) are computed from the downloaded outputs;
 * - a categorical block's one-hot columns are never multiplied: the first layer adds
 *   the kernel row of each row's category (a gather) and its gradient adds back into
 *   those rows (a scatter), so a column's cost does not grow with its vocabulary;
 * - dropout masks come from the run's seed.
 *
 * `test/engine/training/step.test.ts` checks the gradients against TensorFlow.js's
 * autodiff of `TabularModel.forward` (every activation, both tasks, L2, the sparse
 * first layer) and the optimizer against TensorFlow.js's optimizers.
 */

export interface StepLayout {
  /** Numeric columns come first in the design matrix. */
  numericCount: number
  /** One-hot blocks after the numeric columns; 0 trains the first layer densely. */
  blocks: number
}

/**
 * A mini-batch. Dense layout: `x` [n, width]. Sparse layout (blocks > 0): `numeric`
 * [n, numericCount] and `hot` [n, blocks], each the design-matrix column of the row's
 * category in that block. `y`: class index (classification) or standardized target.
 */
export interface StepBatch {
  n: number
  x?: Float32Array
  numeric?: Float32Array
  hot?: Int32Array
  y: Float32Array
}

export interface StepOptions {
  family: ModelFamily
  task: Task
  params: TrainParams
  seed: number
  layout: StepLayout
  /** The TensorFlow.js backend the kernels run on (default: the active one). */
  backend?: string
}

interface Shape {
  inputs: number
  outputs: number
  kernel: number
  bias: number
}

export class TrainingStep {
  /** Every kernel (row-major [inputs, outputs]) then its bias, layer after layer. */
  readonly params: Float32Array
  readonly grads: Float32Array
  private readonly first: Float32Array
  private readonly second: Float32Array
  private readonly shapes: Shape[]
  private readonly task: Task
  private readonly activation: TrainParams['activation']
  private readonly optimizer: TrainParams['optimizer']
  private readonly learningRate: number
  private readonly dropout: number
  private readonly l2: number
  private readonly outputs: number
  private readonly random: () => number
  private readonly kernels: DirectKernels
  private readonly ones = new Map<number, Buffer>()
  private readonly one: Buffer
  private steps = 0
  // Scratch buffers, grown to the largest batch seen.
  private xT = new Float32Array(0)
  private wT = new Float32Array(0)
  private gathered = new Float32Array(0)
  private dOut = new Float32Array(0)

  constructor(
    tf: Tf,
    layers: DenseWeights[],
    private readonly options: StepOptions,
  ) {
    let size = 0
    this.shapes = layers.map((l) => {
      const shape = { inputs: l.inputs, outputs: l.outputs, kernel: size, bias: size + l.inputs * l.outputs }
      size += l.inputs * l.outputs + l.outputs
      return shape
    })
    this.params = new Float32Array(size)
    layers.forEach((l, i) => {
      this.params.set(l.kernel, this.shapes[i]!.kernel)
      this.params.set(l.bias, this.shapes[i]!.bias)
    })
    this.grads = new Float32Array(size)
    this.first = new Float32Array(size)
    this.second = new Float32Array(size)
    const { params, task } = options
    this.task = task
    this.activation = params.activation
    this.optimizer = params.optimizer
    this.learningRate = params.learningRate
    this.dropout = options.family === 'mlp' ? params.dropout : 0
    this.l2 = options.family === 'mlp' ? params.l2 : 0
    this.outputs = layers[layers.length - 1]!.outputs
    this.random = seededRandom(options.seed ^ 0x2545f491)
    this.kernels = new DirectKernels(tf, options.backend)
    this.one = this.kernels.upload(Float32Array.of(1), [], true)
  }

  /** The current parameters, as the model's layers (views into `params`). */
  layers(): Array<{ kernel: Float32Array; bias: Float32Array }> {
    return this.shapes.map((s) => ({
      kernel: this.params.subarray(s.kernel, s.bias),
      bias: this.params.subarray(s.bias, s.bias + s.outputs),
    }))
  }

  /** Copies the parameters into the model's variables (for prediction and export). */
  writeTo(model: TabularModel): void {
    model.assignLayers(this.layers())
  }

  /** Gradients into `grads`, then the optimizer update. Returns the batch's loss. */
  step(batch: StepBatch): number {
    const loss = this.gradients(batch)
    this.update()
    return loss
  }

  /** `step` for backends whose results are read back asynchronously (webgpu); the same arithmetic. */
  async stepAsync(batch: StepBatch): Promise<number> {
    const loss = await this.gradientsAsync(batch)
    this.update()
    return loss
  }

  /** Whether `step` works here, or `stepAsync` is needed (see `DirectKernels.sync`). */
  get sync(): boolean {
    return this.kernels.sync
  }

  /**
   * The loss on `batch` (mean over its rows, plus the L2 penalty) and its gradient
   * with respect to every parameter, written into `grads`. Dropout, when set, draws
   * fresh masks from the run's seed on every call.
   */
  gradients(batch: StepBatch): number {
    const pass = this.pass(batch)
    try {
      let next = pass.next()
      while (!next.done) next = pass.next(this.kernels.read(next.value))
      return next.value
    } finally {
      pass.return(0) // a read that threw leaves the pass suspended: this runs its cleanup
    }
  }

  /** `gradients` with every read awaited. */
  async gradientsAsync(batch: StepBatch): Promise<number> {
    const pass = this.pass(batch)
    try {
      let next = pass.next()
      while (!next.done) next = pass.next(await this.kernels.readAsync(next.value))
      return next.value
    } finally {
      pass.return(0)
    }
  }

  /**
   * The forward and backward pass as a generator: it yields each buffer whose values
   * it needs on the CPU and resumes with them, so one body serves backends that read
   * synchronously (wasm, cpu, tensorflow) and those that read asynchronously (webgpu).
   */
  private *pass(batch: StepBatch): Generator<Buffer, number, Float32Array> {
    const { n } = batch
    const { numericCount, blocks } = this.options.layout
    const shapes = this.shapes
    const last = shapes.length - 1
    const sparse = blocks > 0
    this.grads.fill(0)
    const k = this.kernels
    try {
      const kernel = (i: number, rows = shapes[i]!.inputs) =>
        k.matrix(this.params.subarray(shapes[i]!.kernel, shapes[i]!.kernel + rows * shapes[i]!.outputs), rows, shapes[i]!.outputs)
      const bias = (i: number) => k.upload(this.params.subarray(shapes[i]!.bias, shapes[i]!.bias + shapes[i]!.outputs), [shapes[i]!.outputs])
      // Forward: every layer is one fused product + bias (+ activation where the backend fuses it).
      const dense = (a: Buffer, i: number, activate: boolean): Buffer => {
        if (!k.fused) {
          const z = k.run('Add', { a: k.matmul(a, kernel(i)), b: bias(i) })
          return activate ? this.activate(z) : z
        }
        const fused = activate && this.activation !== 'tanh' ? this.activation : 'linear'
        const z = k.run('_FusedMatMul', { a, b: kernel(i), bias: bias(i) }, { transposeA: false, transposeB: false, activation: fused, leakyreluAlpha: 0 })
        return activate && fused === 'linear' ? k.run('Tanh', { x: z }) : z
      }

      // Layer 0.
      const s0 = shapes[0]!
      let h: Buffer
      let numeric: Buffer | null = null
      if (sparse) {
        let z = k.matrix(this.gatherFirstLayer(batch), n, s0.outputs)
        if (numericCount > 0) {
          numeric = k.matrix(batch.numeric!.subarray(0, n * numericCount), n, numericCount)
          z = k.run('Add', { a: k.matmul(numeric, kernel(0, numericCount)), b: z })
        }
        h = last === 0 ? z : this.activate(z)
      } else {
        h = dense(k.matrix(batch.x!.subarray(0, n * s0.inputs), n, s0.inputs), 0, last > 0)
      }

      // The hidden layers, keeping what the backward pass needs.
      const activated: Buffer[] = [] // activation output of layer i, before dropout
      const masks: Array<Buffer | null> = []
      const inputs: Buffer[] = [] // input of layer i + 1 (after dropout)
      for (let i = 1; i <= last; i++) {
        activated.push(h)
        const mask = this.dropout > 0 ? this.dropoutMask(n, shapes[i - 1]!.outputs) : null
        masks.push(mask)
        const a = mask ? k.run('Multiply', { a: h, b: mask }) : h
        inputs.push(a)
        h = dense(a, i, i < last)
      }

      const dataLoss = this.lossAndOutputGradient(yield h, batch)
      const dOut = this.dOut.subarray(0, n * this.outputs)
      let d = k.matrix(dOut, n, this.outputs)
      // The output layer's bias gradient is the column sums of dOut, already here.
      const sl = shapes[last]!
      if (last > 0) {
        for (let r = 0; r < n; r++) for (let j = 0; j < sl.outputs; j++) this.grads[sl.bias + j]! += dOut[r * sl.outputs + j]!
      }

      // Backward: layer i's kernel (and bias) gradients, then the gradient of its input.
      for (let i = last; i >= 1; i--) {
        this.grads.set(yield k.matmul(k.run('Transpose', { x: inputs[i - 1]! }, { perm: [0, 2, 1] }), d), shapes[i]!.kernel)
        if (i < last) this.grads.set(yield k.matmul(this.onesRow(n), d), shapes[i]!.bias)
        let da = k.matmul(d, this.transposedKernel(i))
        if (masks[i - 1]) da = k.run('Multiply', { a: da, b: masks[i - 1]! })
        d = k.run('Multiply', { a: da, b: this.activationGradient(activated[i - 1]!) })
      }
      if (sparse) {
        this.scatterFirstLayer(batch, yield d)
        if (numeric) this.grads.set(yield k.matmul(this.transposed(batch.numeric!, n, numericCount, false), d), s0.kernel)
      } else {
        // [x | 1]^T @ d: the kernel's gradient and, in its last row, the bias's (stored right after the kernel).
        this.grads.set(yield k.matmul(this.transposed(batch.x!, n, s0.inputs, true), d), s0.kernel)
      }
      return dataLoss + this.addL2()
    } finally {
      k.release()
    }
  }

  /** The optimizer update from `grads`, with TensorFlow.js's defaults and formulas. */
  update(): void {
    const { params, grads, first, second } = this
    const lr = this.learningRate
    const n = params.length
    this.steps++
    if (this.optimizer === 'sgd') {
      for (let i = 0; i < n; i++) params[i] = params[i]! - lr * grads[i]!
    } else if (this.optimizer === 'rmsprop') {
      // tf.train.rmsprop(lr): decay 0.9, no momentum, epsilon 1e-7, not centered.
      const decay = 0.9
      for (let i = 0; i < n; i++) {
        const g = grads[i]!
        const ms = decay * second[i]! + (1 - decay) * g * g
        second[i] = ms
        params[i] = params[i]! - (lr * g) / Math.sqrt(ms + 1e-7)
      }
    } else {
      // tf.train.adam(lr): beta1 0.9, beta2 0.999, epsilon 1e-7, written as
      // w -= (lr / c1) * m / (sqrt(v) / sqrt(c2) + eps) with c = 1 - beta^t.
      const beta1 = 0.9
      const beta2 = 0.999
      const step = lr / (1 - beta1 ** this.steps)
      const scale = 1 / Math.sqrt(1 - beta2 ** this.steps)
      for (let i = 0; i < n; i++) {
        const g = grads[i]!
        const m = beta1 * first[i]! + (1 - beta1) * g
        const v = beta2 * second[i]! + (1 - beta2) * g * g
        first[i] = m
        second[i] = v
        params[i] = params[i]! - (step * m) / (Math.sqrt(v) * scale + 1e-7)
      }
    }
  }

  dispose(): void {
    for (const t of this.ones.values()) this.kernels.free(t)
    this.ones.clear()
    this.kernels.free(this.one)
  }

  private activate(z: Buffer): Buffer {
    return this.kernels.run(this.activation === 'relu' ? 'Relu' : this.activation === 'tanh' ? 'Tanh' : 'Sigmoid', { x: z })
  }

  /** d activation / dz, from the activation's output h. */
  private activationGradient(h: Buffer): Buffer {
    const k = this.kernels
    // h = relu(z) >= 0: Step and Sign agree on it (Sign where Step is not a kernel proper, see DirectKernels.fused).
    if (this.activation === 'relu') return k.fused ? k.run('Step', { x: h }, { alpha: 0 }) : k.run('Sign', { x: h })
    if (this.activation === 'tanh') return k.run('Sub', { a: this.one, b: k.run('Square', { x: h }) })
    return k.run('Multiply', { a: h, b: k.run('Sub', { a: this.one, b: h }) })
  }

  /** Inverted dropout: kept units scaled by 1 / (1 - rate), as tf.dropout does. */
  private dropoutMask(n: number, units: number): Buffer {
    const keep = 1 - this.dropout
    const mask = new Float32Array(n * units)
    for (let i = 0; i < mask.length; i++) mask[i] = this.random() < keep ? 1 / keep : 0
    return this.kernels.matrix(mask, n, units)
  }

  /** Mean loss over the batch; leaves d loss / d output (already divided by n) in `dOut`. */
  private lossAndOutputGradient(out: Float32Array, batch: StepBatch): number {
    const { n, y } = batch
    const k = this.outputs
    if (this.dOut.length < n * k) this.dOut = new Float32Array(n * k)
    const d = this.dOut
    let total = 0
    if (this.task === 'classification') {
      // Softmax cross-entropy, computed stably from the logits; each exp once.
      const exps = new Float64Array(k)
      for (let r = 0; r < n; r++) {
        const base = r * k
        let max = -Infinity
        for (let j = 0; j < k; j++) max = Math.max(max, out[base + j]!)
        let sum = 0
        for (let j = 0; j < k; j++) sum += exps[j] = Math.exp(out[base + j]! - max)
        const label = y[r]!
        total += max + Math.log(sum) - out[base + label]!
        for (let j = 0; j < k; j++) d[base + j] = (exps[j]! / sum - (j === label ? 1 : 0)) / n
      }
    } else {
      for (let r = 0; r < n; r++) {
        const e = out[r]! - y[r]!
        total += e * e
        d[r] = (2 * e) / n
      }
    }
    return total / n
  }

  /** Adds the L2 penalty's gradient (kernels only) to `grads`; returns the penalty. */
  private addL2(): number {
    if (this.l2 <= 0) return 0
    const { params, grads } = this
    let sum = 0
    for (const s of this.shapes) {
      for (let i = s.kernel; i < s.bias; i++) {
        const w = params[i]!
        sum += w * w
        grads[i] = grads[i]! + 2 * this.l2 * w
      }
    }
    return this.l2 * sum
  }

  /** Sparse layer 0 without its numeric columns: bias + the kernel row of each row's category per block. */
  private gatherFirstLayer(batch: StepBatch): Float32Array {
    const { n, hot } = batch
    const { blocks } = this.options.layout
    const s = this.shapes[0]!
    const units = s.outputs
    if (this.gathered.length < n * units) this.gathered = new Float32Array(n * units)
    const out = this.gathered.subarray(0, n * units)
    const params = this.params
    for (let r = 0; r < n; r++) {
      const o = r * units
      for (let u = 0; u < units; u++) out[o + u] = params[s.bias + u]!
      for (let b = 0; b < blocks; b++) {
        const w = s.kernel + hot![r * blocks + b]! * units
        for (let u = 0; u < units; u++) out[o + u] = out[o + u]! + params[w + u]!
      }
    }
    return out
  }

  /** The gradient of the gathered rows and the bias, from d loss / d z0. */
  private scatterFirstLayer(batch: StepBatch, d: Float32Array): void {
    const { n, hot } = batch
    const { blocks } = this.options.layout
    const s = this.shapes[0]!
    const units = s.outputs
    const grads = this.grads
    for (let r = 0; r < n; r++) {
      const o = r * units
      for (let u = 0; u < units; u++) grads[s.bias + u] = grads[s.bias + u]! + d[o + u]!
      for (let b = 0; b < blocks; b++) {
        const w = s.kernel + hot![r * blocks + b]! * units
        for (let u = 0; u < units; u++) grads[w + u] = grads[w + u]! + d[o + u]!
      }
    }
  }

  /**
   * [cols, n] (with a last row of ones when `ones`) from row-major [n, cols], as a
   * tensor: cheaper in JavaScript than a Transpose kernel for the batch's inputs.
   */
  private transposed(values: Float32Array, n: number, cols: number, ones: boolean): Buffer {
    const rows = cols + (ones ? 1 : 0)
    if (this.xT.length < n * rows) this.xT = new Float32Array(n * rows)
    const t = this.xT
    for (let r = 0; r < n; r++) {
      const o = r * cols
      for (let c = 0; c < cols; c++) t[c * n + r] = values[o + c]!
    }
    if (ones) t.fill(1, cols * n, rows * n)
    return this.kernels.matrix(t.subarray(0, n * rows), rows, n)
  }

  /** Layer i's kernel transposed ([outputs, inputs]), from the flat parameters. */
  private transposedKernel(i: number): Buffer {
    const s = this.shapes[i]!
    const size = s.inputs * s.outputs
    if (this.wT.length < size) this.wT = new Float32Array(size)
    const t = this.wT
    const p = this.params
    for (let r = 0; r < s.inputs; r++) {
      const o = s.kernel + r * s.outputs
      for (let c = 0; c < s.outputs; c++) t[c * s.inputs + r] = p[o + c]!
    }
    return this.kernels.matrix(t.subarray(0, size), s.outputs, s.inputs)
  }

  private onesRow(n: number): Buffer {
    let t = this.ones.get(n)
    if (!t) {
      t = this.kernels.upload(new Float32Array(n).fill(1), [1, 1, n], true)
      this.ones.set(n, t)
    }
    return t
  }
}
