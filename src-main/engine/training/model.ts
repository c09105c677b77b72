import type * as TfModule from '@tensorflow/tfjs'
import type { ModelFamily, Task, TrainParams } from './types.js'

type Tf = typeof TfModule

/**
 * The tabular model families as plain TensorFlow.js ops on variables: an MLP (dense
 * layers, activation, dropout, L2) and linear / logistic regression (an MLP with no
 * hidden layer). Written on raw ops rather than tf.layers so that every random draw
 * comes from the run's seed and the weights map one to one onto the ONNX export.
 */

export interface DenseWeights {
  inputs: number
  outputs: number
  /** Row-major [inputs, outputs]. */
  kernel: number[]
  bias: number[]
}

export interface ModelWeights {
  family: ModelFamily
  task: Task
  activation: TrainParams['activation']
  layers: DenseWeights[]
}

/** mulberry32: a small, fast, seedable PRNG; good enough for init and shuffling. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export function shuffleInPlace(indices: Int32Array, random: () => number): void {
  for (let i = indices.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    const t = indices[i]!
    indices[i] = indices[j]!
    indices[j] = t
  }
}

export class TabularModel {
  private readonly variables: Array<{ kernel: TfModule.Variable; bias: TfModule.Variable }>
  private dropoutCalls = 0

  constructor(
    private readonly tf: Tf,
    readonly family: ModelFamily,
    readonly task: Task,
    readonly activation: TrainParams['activation'],
    private readonly dropout: number,
    private readonly seed: number,
    layers: DenseWeights[],
  ) {
    this.variables = layers.map((l, i) => ({
      kernel: tf.variable(tf.tensor2d(l.kernel, [l.inputs, l.outputs]), true, `dense${i}/kernel`),
      bias: tf.variable(tf.tensor1d(l.bias), true, `dense${i}/bias`),
    }))
  }

  /** Glorot-uniform kernels and zero biases, drawn from the seed. */
  static initialize(
    tf: Tf,
    options: { family: ModelFamily; task: Task; params: TrainParams; seed: number; inputs: number; outputs: number },
  ): TabularModel {
    const random = seededRandom(options.seed)
    const widths = [options.inputs, ...(options.family === 'mlp' ? options.params.hidden : []), options.outputs]
    const layers: DenseWeights[] = []
    for (let i = 0; i + 1 < widths.length; i++) {
      const inputs = widths[i]!
      const outputs = widths[i + 1]!
      const limit = Math.sqrt(6 / (inputs + outputs))
      const kernel = Array.from({ length: inputs * outputs }, () => (random() * 2 - 1) * limit)
      layers.push({ inputs, outputs, kernel, bias: new Array<number>(outputs).fill(0) })
    }
    return new TabularModel(
      tf,
      options.family,
      options.task,
      options.params.activation,
      options.family === 'mlp' ? options.params.dropout : 0,
      options.seed,
      layers,
    )
  }

  static fromWeights(tf: Tf, weights: ModelWeights): TabularModel {
    return new TabularModel(tf, weights.family, weights.task, weights.activation, 0, 0, weights.layers)
  }

  get trainable(): TfModule.Variable[] {
    return this.variables.flatMap((v) => [v.kernel, v.bias])
  }

  /** Logits (classification) or the standardized prediction (regression). */
  forward(x: TfModule.Tensor2D, training: boolean): TfModule.Tensor2D {
    const tf = this.tf
    let h = x
    this.variables.forEach((v, i) => {
      h = tf.add(tf.matMul(h, v.kernel), v.bias)
      if (i < this.variables.length - 1) {
        h = this.activation === 'relu' ? tf.relu(h) : this.activation === 'tanh' ? tf.tanh(h) : tf.sigmoid(h)
        // A fresh seed per call keeps masks different per batch and the run reproducible.
        if (training && this.dropout > 0) h = tf.dropout(h, this.dropout, undefined, this.seed + ++this.dropoutCalls) as TfModule.Tensor2D
      }
    })
    return h
  }

  l2Penalty(): TfModule.Scalar {
    const tf = this.tf
    return tf.addN(this.variables.map((v) => tf.sum(tf.square(v.kernel)))) as TfModule.Scalar
  }

  /**
   * Class probabilities (row-major [n, classes]) or regression predictions in
   * standardized units, computed in slices to bound memory.
   */
  predict(x: Float32Array, rows: number, width: number): Float32Array {
    const tf = this.tf
    const slice = 8192
    const outputs = this.variables[this.variables.length - 1]!.bias.shape[0]!
    const out = new Float32Array(rows * outputs)
    for (let start = 0; start < rows; start += slice) {
      const n = Math.min(slice, rows - start)
      const values = tf.tidy(() => {
        const logits = this.forward(tf.tensor2d(x.subarray(start * width, (start + n) * width), [n, width]), false)
        return (this.task === 'classification' ? tf.softmax(logits) : logits).dataSync() as Float32Array
      })
      out.set(values, start * outputs)
    }
    return out
  }

  exportWeights(): ModelWeights {
    return {
      family: this.family,
      task: this.task,
      activation: this.activation,
      layers: this.variables.map((v) => ({
        inputs: v.kernel.shape[0]!,
        outputs: v.kernel.shape[1]!,
        kernel: Array.from(v.kernel.dataSync()),
        bias: Array.from(v.bias.dataSync()),
      })),
    }
  }

  restoreWeights(weights: ModelWeights): void {
    weights.layers.forEach((l, i) => {
      this.variables[i]!.kernel.assign(this.tf.tensor2d(l.kernel, [l.inputs, l.outputs]))
      this.variables[i]!.bias.assign(this.tf.tensor1d(l.bias))
    })
  }

  dispose(): void {
    for (const v of this.variables) {
      v.kernel.dispose()
      v.bias.dispose()
    }
  }
}

export function makeOptimizer(tf: Tf, params: TrainParams): TfModule.Optimizer {
  if (params.optimizer === 'sgd') return tf.train.sgd(params.learningRate)
  if (params.optimizer === 'rmsprop') return tf.train.rmsprop(params.learningRate)
  return tf.train.adam(params.learningRate)
}
