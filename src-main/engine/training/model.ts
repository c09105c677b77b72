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
    const first = this.variables[0]!
    return this.fromLayer(addBias(this.tf, matMul(this.tf, x, first.kernel), first.bias), 0, training)
  }

  /**
   * The same function as `forward` on a design matrix whose categorical blocks are
   * one-hot, given as the numeric columns [n, numericCount] and the index of each
   * row's hot column per block (flattened [n * blocks], absolute design-matrix
   * columns). The first layer gathers kernel rows instead of multiplying by mostly
   * zeros: the cost of a categorical column no longer grows with its vocabulary.
   */
  forwardSparse(
    numeric: TfModule.Tensor2D | null,
    hot: TfModule.Tensor1D,
    rows: number,
    blocks: number,
    training: boolean,
  ): TfModule.Tensor2D {
    const tf = this.tf
    const first = this.variables[0]!
    const units = first.kernel.shape[1]!
    const parts: TfModule.Tensor2D[] = []
    if (numeric && numeric.shape[1]! > 0) {
      parts.push(matMul(tf, numeric, tf.slice(first.kernel, [0, 0], [numeric.shape[1]!, units])))
    }
    if (blocks > 0) {
      const picked = gatherRows(tf, first.kernel as unknown as TfModule.Tensor2D, hot)
      parts.push(tf.sum(tf.reshape(picked, [rows, blocks, units]), 1))
    }
    const linear = parts.length === 1 ? parts[0]! : tf.add(parts[0]!, parts[1]!)
    return this.fromLayer(addBias(tf, linear as TfModule.Tensor2D, first.bias), 0, training)
  }

  /** Applies layer `index`'s activation (unless it is the output) and every layer after it. */
  private fromLayer(z: TfModule.Tensor2D, index: number, training: boolean): TfModule.Tensor2D {
    const tf = this.tf
    let h = z
    for (let i = index; i < this.variables.length; i++) {
      if (i > index) h = addBias(tf, matMul(tf, h, this.variables[i]!.kernel), this.variables[i]!.bias)
      if (i < this.variables.length - 1) {
        h = this.activation === 'relu' ? tf.relu(h) : this.activation === 'tanh' ? tf.tanh(h) : tf.sigmoid(h)
        // A fresh seed per call keeps masks different per batch and the run reproducible.
        if (training && this.dropout > 0) h = tf.dropout(h, this.dropout, undefined, this.seed + ++this.dropoutCalls) as TfModule.Tensor2D
      }
    }
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

/**
 * `a @ b` whose gradient multiplies explicitly transposed operands. TensorFlow.js's
 * own matMul gradient calls BatchMatMul with transposeA / transposeB, which the wasm
 * backend runs through a slow generic loop (about 10x the time of the plain product
 * for a 256x64 by 64x64 product); transposing first keeps every product on the fast
 * path. Same function, same gradient.
 */
export function matMul(tf: Tf, a: TfModule.Tensor2D, b: TfModule.Tensor): TfModule.Tensor2D {
  const product = tf.customGrad(((x: TfModule.Tensor2D, w: TfModule.Tensor2D, save: (ts: TfModule.Tensor[]) => void) => {
    save([x, w])
    return {
      value: tf.matMul(x, w),
      gradFunc: (dy: TfModule.Tensor2D, saved: TfModule.Tensor[]) => [
        tf.matMul(dy, tf.transpose(saved[1]! as TfModule.Tensor2D)),
        tf.matMul(tf.transpose(saved[0]! as TfModule.Tensor2D), dy),
      ],
    }
  }) as unknown as Parameters<Tf['customGrad']>[0])
  return product(a, b) as TfModule.Tensor2D
}

/**
 * `h + bias` (bias broadcast over rows) whose bias gradient is `ones[1, n] @ dy`: the
 * column sums as a plain product, several times faster on wasm than the Sum over
 * axis 0 (a transpose, then a reduction) of TensorFlow.js's broadcasting Add gradient.
 */
export function addBias(tf: Tf, h: TfModule.Tensor2D, bias: TfModule.Tensor): TfModule.Tensor2D {
  const add = tf.customGrad(((x: TfModule.Tensor2D, b: TfModule.Tensor, save: (ts: TfModule.Tensor[]) => void) => {
    save([])
    return {
      value: tf.add(x, b),
      gradFunc: (dy: TfModule.Tensor2D) => [dy, tf.reshape(tf.matMul(tf.ones([1, dy.shape[0]!]), dy), b.shape)],
    }
  }) as unknown as Parameters<Tf['customGrad']>[0])
  return add(h, bias) as TfModule.Tensor2D
}

/**
 * Rows of a matrix, with a gradient that scatters back into it. TensorFlow.js's own
 * gather gradient needs UnsortedSegmentSum, which the wasm backend lacks; ScatterNd
 * (which sums repeated indices) it has.
 */
export function gatherRows(tf: Tf, table: TfModule.Tensor2D, rows: TfModule.Tensor1D): TfModule.Tensor2D {
  // `rows` is an input (not a closure) so that the tape keeps it alive for the backward pass.
  const gather = tf.customGrad(((t: TfModule.Tensor, r: TfModule.Tensor, save: (ts: TfModule.Tensor[]) => void) => {
    // GatherNd on [k, 1] indices: the same rows as tf.gather, several times faster on wasm.
    const nd = tf.expandDims(r, 1)
    save([nd])
    return {
      value: tf.gatherND(t, nd),
      gradFunc: (dy: TfModule.Tensor, saved: TfModule.Tensor[]) => [
        tf.scatterND(saved[0]!, dy, t.shape),
        tf.zerosLike(r),
      ],
    }
  }) as unknown as Parameters<Tf['customGrad']>[0])
  return gather(table, rows) as TfModule.Tensor2D
}

export function makeOptimizer(tf: Tf, params: TrainParams): TfModule.Optimizer {
  if (params.optimizer === 'sgd') return tf.train.sgd(params.learningRate)
  if (params.optimizer === 'rmsprop') return tf.train.rmsprop(params.learningRate)
  return tf.train.adam(params.learningRate)
}
