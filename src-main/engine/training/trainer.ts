import type * as TfModule from '@tensorflow/tfjs'
import { LatheError } from '../api/common/errors.js'
import { denseRows, type Feed, type SplitArrays } from './feed.js'
import { classificationMetrics, higherIsBetter, regressionMetrics } from './metrics.js'
import { seededRandom, shuffleInPlace, TabularModel, type ModelWeights } from './model.js'
import { TrainingStep } from './step.js'
import type { ModelFamily, RunMetrics, Task, TrainParams } from './types.js'

type Tf = typeof TfModule

export interface EpochReport {
  epoch: number
  epochs: number
  /** Mean training loss over the epoch's batches. */
  loss: number
  /** Validation metrics, `loss` included. */
  validation: Record<string, number>
  epochSeconds: number
}

export interface TrainOptions {
  family: ModelFamily
  task: Task
  params: TrainParams
  seed: number
  onEpoch: (report: EpochReport) => Promise<void> | void
  /** Called about once a second inside a long epoch, with the running mean loss. */
  onBatch?: (report: { epoch: number; epochs: number; batch: number; batches: number; loss: number }) => void
  /**
   * The backend the optimizer steps run on, when not the active one (webgpu: the steps
   * run on the GPU while the model, for prediction and export, stays on the active CPU backend).
   */
  stepBackend?: string
}

export interface TrainResult {
  model: TabularModel
  weights: ModelWeights
  metrics: RunMetrics
  epochsRun: number
  epochSeconds: number[]
}

/** Metrics of one split; `loss` is the same loss the model is trained on. */
export function evaluateSplit(model: TabularModel, split: SplitArrays, feed: Feed): { values: Record<string, number>; confusion: number[][] | null } {
  if (split.rows === 0) return { values: {}, confusion: null }
  const out = model.predict(split.rows, (start, n) => denseRows(feed, split, start, n))
  const classes = feed.preprocessing.classes
  if (classes) {
    const { values, confusion } = classificationMetrics(split.y, out, classes.length, classes.length + feed.unseenClasses.all.length)
    return { values: { loss: values.log_loss!, ...values }, confusion }
  }
  const scale = feed.preprocessing.targetScale!
  const raw = new Float32Array(split.rows)
  let mse = 0
  for (let i = 0; i < split.rows; i++) {
    raw[i] = out[i]! * scale.std + scale.mean
    mse += (out[i]! - split.y[i]!) ** 2
  }
  return { values: { loss: mse / split.rows, ...regressionMetrics(split.yRaw, raw) }, confusion: null }
}

/**
 * Mini-batch training with a seeded shuffle, per-epoch validation, optional early
 * stopping (best weights restored) and a yield to the event loop after each epoch
 * so that the worker's messages get through.
 */
export async function trainModel(tf: Tf, feed: Feed, options: TrainOptions): Promise<TrainResult> {
  const { params, task } = options
  const classes = feed.preprocessing.classes
  const outputs = task === 'classification' ? classes!.length : 1
  const model = TabularModel.initialize(tf, {
    family: options.family,
    task,
    params,
    seed: options.seed,
    inputs: feed.width,
    outputs,
  })
  const random = seededRandom(options.seed ^ 0x5bd1e995)
  const train = feed.train
  const order = new Int32Array(train.rows).map((_, i) => i)
  const batchSize = Math.min(params.batchSize, Math.max(1, train.rows))
  // Categorical blocks train through the sparse first layer (see TrainingStep); with
  // none, the design matrix is the numeric columns.
  const numericCount = feed.preprocessing.numeric.length
  const blocks = feed.preprocessing.categorical.length
  const sparse = blocks > 0
  const layout = { numericCount, blocks }
  const step = new TrainingStep(tf, model.exportWeights().layers, {
    family: options.family,
    task,
    params,
    seed: options.seed,
    layout,
    backend: options.stepBackend,
  })
  const numericBatch = new Float32Array(batchSize * numericCount)
  const hotBatch = new Int32Array(batchSize * blocks)
  const yBatch = new Float32Array(batchSize)
  const epochSeconds: number[] = []
  const stopping = params.earlyStopping
  const stopMetric = stopping?.metric.replace(/^val_/, '') ?? 'loss'
  let best: { value: number; weights: ModelWeights } | null = null
  let sinceBest = 0
  let epochsRun = 0

  for (let epoch = 1; epoch <= params.epochs; epoch++) {
    const started = performance.now()
    shuffleInPlace(order, random)
    let lossSum = 0
    let batches = 0
    let lastReport = performance.now()
    const batchesPerEpoch = Math.ceil(train.rows / batchSize)
    for (let start = 0; start < train.rows; start += batchSize) {
      const n = Math.min(batchSize, train.rows - start)
      // Plain index loops: a subarray per row allocated two views per row, 300k per epoch on flights.
      const { numeric, hot } = train
      for (let i = 0; i < n; i++) {
        const row = order[start + i]!
        for (let c = 0; c < numericCount; c++) numericBatch[i * numericCount + c] = numeric[row * numericCount + c]!
        for (let b = 0; b < blocks; b++) hotBatch[i * blocks + b] = hot[row * blocks + b]!
        yBatch[i] = train.y[row]!
      }
      const batch = sparse ? { n, numeric: numericBatch, hot: hotBatch, y: yBatch } : { n, x: numericBatch, y: yBatch }
      const loss = step.sync ? step.step(batch) : await step.stepAsync(batch)
      if (!Number.isFinite(loss)) {
        // Once the loss is NaN or infinite every later step is too: stop with the reason instead of exporting a broken model.
        throw new LatheError(
          'bad_request',
          `training diverged: the loss became ${loss} at epoch ${epoch}, batch ${batches + 1} (${params.optimizer}, learning rate ${params.learningRate}); try a lower learning rate`,
          { field: 'params.learningRate' },
        )
      }
      lossSum += loss
      batches++
      if (options.onBatch && performance.now() - lastReport > 1000) {
        lastReport = performance.now()
        options.onBatch({ epoch, epochs: params.epochs, batch: batches, batches: batchesPerEpoch, loss: lossSum / batches })
      }
    }
    // The model (TensorFlow.js variables) only needs the parameters to predict the validation split.
    if (feed.validation.rows > 0) step.writeTo(model)
    const validation = evaluateSplit(model, feed.validation, feed).values
    const seconds = (performance.now() - started) / 1000
    epochSeconds.push(seconds)
    epochsRun = epoch
    await options.onEpoch({ epoch, epochs: params.epochs, loss: lossSum / Math.max(1, batches), validation, epochSeconds: seconds })
    await new Promise((resolve) => setImmediate(resolve))

    if (stopping && validation[stopMetric] !== undefined) {
      const value = validation[stopMetric]!
      const better = best === null || (higherIsBetter(stopMetric) ? value > best.value : value < best.value)
      if (better) {
        best = { value, weights: model.exportWeights() }
        sinceBest = 0
      } else if (++sinceBest >= stopping.patience) {
        break
      }
    }
  }
  if (best) model.restoreWeights(best.weights)
  else step.writeTo(model)
  step.dispose()

  const validation = evaluateSplit(model, feed.validation, feed)
  const test = evaluateSplit(model, feed.test, feed)
  return {
    model,
    weights: model.exportWeights(),
    epochsRun,
    epochSeconds,
    metrics: {
      validation: validation.values,
      test: test.values,
      confusion: classes ? { labels: [...classes, ...feed.unseenClasses.all], validation: validation.confusion ?? [], test: test.confusion ?? [] } : null,
    },
  }
}
