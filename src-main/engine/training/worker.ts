import fs from 'node:fs/promises'
import path from 'node:path'
import { LatheError } from '../api/common/errors.js'
import { packageVersion } from '../system/index.js'
import { chooseBackend, type BackendName } from './backends.js'
import { loadFeed } from './feed.js'
import { exportOnnx } from './onnx-export.js'
import type { EngineToWorker, WorkerJob, WorkerToEngine } from './protocol.js'
import { trainModel } from './trainer.js'

/**
 * The training worker: one run in its own process, so that a crash or an
 * out-of-memory ends the run and not the engine. Started by `launcher.ts`; talks to
 * the engine only through IPC messages (`protocol.ts`).
 */

function send(message: WorkerToEngine): Promise<void> {
  return new Promise((resolve, reject) => process.send!(message, undefined, {}, (e) => (e ? reject(e) : resolve())))
}

/**
 * The TensorFlow.js backend that holds the model. On webgpu only the optimizer steps
 * run on the GPU (`stepBackend`); the model, for validation, test predictions and
 * export, stays on wasm, since webgpu cannot read tensors back synchronously in Node.
 */
const tfBackendName: Record<BackendName, string> = {
  'tfjs-node-gpu': 'tensorflow',
  webgpu: 'wasm',
  'tfjs-node': 'tensorflow',
  wasm: 'wasm',
  cpu: 'cpu',
}

export async function runJob(job: WorkerJob, report: (m: WorkerToEngine) => Promise<void>): Promise<void> {
  const chosen = await chooseBackend(job.backend)
  const tf = await import('@tensorflow/tfjs')
  if (!(await tf.setBackend(tfBackendName[chosen.name]))) throw new Error(`could not switch TensorFlow.js to ${chosen.name}`)
  await tf.ready()

  const feed = await loadFeed({ sourceSql: job.sourceSql, features: job.features, target: job.target, task: job.task })
  if (feed.train.rows === 0) throw new LatheError('bad_request', 'the training split is empty', { field: 'split' })
  if (feed.preprocessing.classes && feed.preprocessing.classes.length < 2) {
    throw new LatheError(
      'bad_request',
      `target "${job.target}" has only one class in the training split (${feed.preprocessing.classes.join(', ')}): nothing to classify`,
      { field: 'target' },
    )
  }
  await report({
    type: 'started',
    backend: {
      name: chosen.name,
      device: chosen.device,
      versions: {
        [chosen.package]: chosen.version,
        '@tensorflow/tfjs': packageVersion('@tensorflow/tfjs'),
        '@duckdb/node-api': packageVersion('@duckdb/node-api'),
        node: process.versions.node,
      },
    },
    rows: { train: feed.train.rows, validation: feed.validation.rows, test: feed.test.rows },
    loadSeconds: feed.loadSeconds,
  })

  const result = await trainModel(tf, feed, {
    family: job.modelFamily,
    task: job.task,
    params: job.params,
    seed: job.seed,
    onEpoch: (e) => report({ type: 'epoch', ...e }),
    // Fire and forget: the epoch loop is synchronous, the IPC write goes out as it can.
    onBatch: (b) => void report({ type: 'batch', ...b }).catch(() => undefined),
    stepBackend: chosen.name === 'webgpu' ? 'webgpu' : undefined,
  })

  const { bytes, signature } = exportOnnx(result.weights, feed.preprocessing, job.features, job.target, {
    appVersion: job.appVersion,
    runId: job.runId,
  })
  // Staged files only: the engine moves them into the object store by rename.
  const onnxPath = path.join(job.stagingDir, `${job.runId}.onnx`)
  const weightsPath = path.join(job.stagingDir, `${job.runId}.weights.json`)
  await fs.writeFile(onnxPath, bytes)
  await fs.writeFile(weightsPath, JSON.stringify(result.weights))
  result.model.dispose()
  await report({
    type: 'finished',
    metrics: result.metrics,
    epochsRun: result.epochsRun,
    onnxPath,
    weightsPath,
    signature,
    preprocessing: feed.preprocessing,
    warnings: unseenClassWarnings(feed.unseenClasses),
  })
}

/** Names at most this many classes in a warning; the count says the rest. */
const NAMED_CLASSES = 10

function unseenClassWarnings(unseen: { validation: string[]; test: string[] }): string[] {
  return (['validation', 'test'] as const).flatMap((split) => {
    const labels = unseen[split]
    if (labels.length === 0) return []
    const named = labels.slice(0, NAMED_CLASSES).join(', ') + (labels.length > NAMED_CLASSES ? `, and ${labels.length - NAMED_CLASSES} more` : '')
    return [
      `the ${split} split holds ${labels.length} class${labels.length === 1 ? '' : 'es'} the training split lacks (${named}): ` +
        `the model cannot predict ${labels.length === 1 ? 'it' : 'them'}, so ${labels.length === 1 ? 'its rows are' : 'their rows are'} counted as wrong; ` +
        'a stratified split on the target puts every class of 2 or more rows in training',
    ]
  })
}

if (process.send) {
  process.once('message', (message: EngineToWorker) => {
    if (message?.type !== 'start') return
    runJob(message.job, send)
      .then(() => process.exit(0))
      .catch(async (error: unknown) => {
        const userError = error instanceof LatheError
        // The stack goes to stderr, whose tail the engine keeps with a failed run.
        if (!userError) console.error(error)
        await send({ type: 'failed', message: error instanceof Error ? error.message : String(error), userError }).catch(() => undefined)
        process.exit(1)
      })
  })
}
