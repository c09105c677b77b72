import type * as TfModule from '@tensorflow/tfjs'
import type { ModelFamily, Task, TrainParams } from './types.js'

type Tf = typeof TfModule

/**
 * The tabular model families as plain TensorFlow.js ops on variables: an MLP (dense
 * layers and an activation) and linear / logistic regression (an MLP with no hidden
 * layer). Written on raw ops rather than tf.layers so that every random draw comes
 * from the run's seed and the weights map one to one onto the ONNX export. Training
 * (dropout, L2, the optimizer) is `TrainingStep`'s, in step.ts.
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

  constructor(
    private readonly tf: Tf,
    readonly family: ModelFamily,
    readonly task: Task,
    readonly activation: TrainParams['activation'],
    layers: DenseWeights[],
  ) {
    // Unnamed: TensorFlow.js names variables uniquely, so several models can live in one process.
    this.variables = layers.map((l) => ({
      kernel: tf.variable(tf.tensor2d(l.kernel, [l.inputs, l.outputs])),
      bias: tf.variable(tf.tensor1d(l.bias)),
    }))
  }

  /** Glorot-uniform kernels and zero biases, drawn from the seed. */
  static initialize(tf: Tf, options: { family: ModelFamily; task: Task; params: TrainParams; seed: number; inputs: number; outputs: number }): TabularModel {
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
    return new TabularModel(tf, options.family, options.task, options.params.activation, layers)
  }

  static fromWeights(tf: Tf, weights: ModelWeights): TabularModel {
    return new TabularModel(tf, weights.family, weights.task, weights.activation, weights.layers)
  }

  get trainable(): TfModule.Variable[] {
    return this.variables.flatMap((v) => [v.kernel, v.bias])
  }

  /**
   * Logits (classification) or the standardized prediction (regression), without
   * dropout: what prediction and export use. Training steps are `TrainingStep`'s.
   */
  forward(x: TfModule.Tensor2D): TfModule.Tensor2D {
    const tf = this.tf
    let h = x
    this.variables.forEach((v, i) => {
      h = tf.add(tf.matMul(h, v.kernel), v.bias)
      if (i < this.variables.length - 1) {
        h = this.activation === 'relu' ? tf.relu(h) : this.activation === 'tanh' ? tf.tanh(h) : tf.sigmoid(h)
      }
    })
    return h
  }

  /**
   * Class probabilities (row-major [n, classes]) or regression predictions in
   * standardized units for `rows` rows, computed in slices of at most 8192 rows to
   * bound memory; `slice(start, n)` gives rows [start, start + n) of the design matrix.
   */
  predict(rows: number, slice: (start: number, n: number) => Float32Array): Float32Array {
    const tf = this.tf
    const step = 8192
    const width = this.variables[0]!.kernel.shape[0]!
    const outputs = this.variables[this.variables.length - 1]!.bias.shape[0]!
    const out = new Float32Array(rows * outputs)
    for (let start = 0; start < rows; start += step) {
      const n = Math.min(step, rows - start)
      const values = tf.tidy(() => {
        const logits = this.forward(tf.tensor2d(slice(start, n), [n, width]))
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
    this.assignLayers(weights.layers)
  }

  /** New values for every layer's kernel (row-major) and bias, in the model's shapes. */
  assignLayers(layers: ReadonlyArray<{ kernel: ArrayLike<number>; bias: ArrayLike<number> }>): void {
    const tf = this.tf
    // tidy disposes the temporaries; each variable keeps its own reference to the values.
    tf.tidy(() =>
      layers.forEach((l, i) => {
        const v = this.variables[i]!
        v.kernel.assign(tf.tensor2d(Float32Array.from(l.kernel), v.kernel.shape as [number, number]))
        v.bias.assign(tf.tensor1d(Float32Array.from(l.bias)))
      }),
    )
  }

  dispose(): void {
    for (const v of this.variables) {
      v.kernel.dispose()
      v.bias.dispose()
    }
  }
}
