import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import { Engine } from '../src-main/engine/engine.js'
import { getDatasetVersionById } from '../src-main/engine/data/resolve.js'
import { splitSelectSql } from '../src-main/engine/data/splits.js'
import { chooseBackend } from '../src-main/engine/training/backends.js'
import { loadFeed } from '../src-main/engine/training/feed.js'
import { makeOptimizer, TabularModel } from '../src-main/engine/training/model.js'
import type { RunRecord, TrainParams } from '../src-main/engine/training/types.js'

/**
 * `npm run bench -- train`: the same MLP (64-64, Adam, lr 0.001, batch 256) on the
 * same tables through Lathe (worker process, wasm backend) and through
 * ../shared/peers/train_torch.py, in the same run. Prints seconds per epoch as a
 * ratio and test quality side by side, then where Lathe's time goes.
 *
 * Both sides hold out 20% for test and validate on nothing per epoch, so an epoch is
 * the same work. LATHE_BENCH_FLIGHT_ROWS changes the flights sample (default 200000),
 * LATHE_BENCH_TORCH_THREADS the peer's threads (default 2, its own default). Prints the
 * load average too: on a shared machine, multi-threaded torch suffers most from it.
 */

const root = path.resolve(import.meta.dirname, '..')
const peer = path.resolve(root, '..', 'shared', 'peers', 'train_torch.py')
const data = path.join(root, 'node_modules', 'vega-datasets', 'data')

interface Case {
  name: string
  csv: string
  target: string
  task: 'classification' | 'regression'
  epochs: number
  exclude: string[]
}

interface PeerResult {
  epoch_seconds_median: number
  accuracy?: number
  rmse?: number
  rows: number
  features: number
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b)
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}

async function prepareTables(dir: string): Promise<Case[]> {
  const rows = Number(process.env.LATHE_BENCH_FLIGHT_ROWS) || 200_000
  const flights = path.join(dir, 'flights.csv')
  const instance = await DuckDBInstance.create(':memory:')
  const conn = await instance.connect()
  // Debian's pandas has no Parquet engine, so both sides read the same CSV.
  await conn.run(
    `COPY (SELECT delay, distance, origin, destination FROM read_parquet('${path.join(data, 'flights-3m.parquet')}') LIMIT ${rows})
     TO '${flights}' (HEADER, DELIMITER ',')`,
  )
  conn.closeSync()
  instance.closeSync()
  return [
    { name: `flights ${rows / 1000}k (delay ~ distance, origin, destination)`, csv: flights, target: 'delay', task: 'regression', epochs: 2, exclude: [] },
    { name: 'seattle-weather (weather)', csv: path.join(data, 'seattle-weather.csv'), target: 'weather', task: 'classification', epochs: 10, exclude: ['date'] },
  ]
}

// The peer's own default; LATHE_BENCH_TORCH_THREADS=1 matches the single-threaded wasm backend.
const torchThreads = Number(process.env.LATHE_BENCH_TORCH_THREADS) || 2

function runPeer(c: Case): PeerResult {
  const args = [peer, c.csv, '--target', c.target, '--task', c.task, '--epochs', String(c.epochs), '--hidden', '64,64', '--batch', '256', '--threads', String(torchThreads)]
  if (c.exclude.length) args.push('--drop', c.exclude.join(','))
  const out = execFileSync('/usr/bin/python3', args, { encoding: 'utf8', maxBuffer: 1 << 24 })
  return JSON.parse(out.trim().split('\n').at(-1)!) as PeerResult
}

async function runLathe(engine: Engine, c: Case, datasetName: string): Promise<{ run: RunRecord; epochSeconds: number[]; loadSeconds: number }> {
  await engine.call('data.import', { name: datasetName, path: c.csv })
  const started = await engine.call('training.start', {
    dataset: datasetName,
    target: c.target,
    task: c.task,
    exclude: c.exclude,
    params: { epochs: c.epochs, hidden: [64, 64], batchSize: 256, learningRate: 0.001 },
    split: { method: 'random', seed: 0, train: 0.8, validation: 0, test: 0.2 },
    backend: 'wasm',
  })
  const run = await engine.call('training.runs.wait', { run: started.id })
  if (run.status !== 'finished') throw new Error(`Lathe run ${run.id} ${run.status}: ${run.error}`)
  const { series } = await engine.call('training.runs.show', { run: run.id })
  return {
    run,
    epochSeconds: (series.epoch_seconds ?? []).map((p) => p.value),
    loadSeconds: series.load_seconds?.[0]?.value ?? NaN,
  }
}

/**
 * Splits one epoch into its parts, in this process on the same backend: the feed
 * (DuckDB -> typed arrays), kernels alone (the same number of optimizer steps on one
 * resident batch tensor), and the rest (row gather, tensor upload, per-step dispatch).
 */
async function profileEpoch(engine: Engine, run: RunRecord): Promise<{ feed: number; kernels: number }> {
  const backend = await chooseBackend('wasm')
  const tf = await import('@tensorflow/tfjs')
  await tf.setBackend(backend.name === 'wasm' ? 'wasm' : 'cpu')
  const version = getDatasetVersionById(engine.context, run.dataset.versionId)
  const feed = await loadFeed({ sourceSql: splitSelectSql(run.split, version.path), features: run.features, target: run.target, task: run.task })
  const params: TrainParams = { ...run.params }
  const outputs = feed.preprocessing.classes?.length ?? 1
  const model = TabularModel.initialize(tf, { family: 'mlp', task: run.task, params, seed: 1, inputs: feed.width, outputs })
  const optimizer = makeOptimizer(tf, params)
  const batch = params.batchSize
  const steps = Math.ceil(feed.train.rows / batch)
  // One resident batch in the form training uses: dense numeric columns plus the hot
  // column of each categorical block (the sparse first layer), or the dense matrix.
  const k = feed.preprocessing.numeric.length
  const blocks = feed.preprocessing.categorical.length
  const numeric = new Float32Array(batch * k)
  const hot = new Int32Array(batch * blocks)
  for (let i = 0; i < batch; i++) {
    const row = feed.train.x.subarray(i * feed.width, (i + 1) * feed.width)
    numeric.set(row.subarray(0, k), i * k)
    let start = k
    feed.preprocessing.categorical.forEach((c, b) => {
      hot[i * blocks + b] = start + Math.max(0, row.subarray(start, start + c.vocabulary.length + 1).indexOf(1))
      start += c.vocabulary.length + 1
    })
  }
  const xNumeric = tf.tensor2d(numeric, [batch, k])
  const xHot = tf.tensor1d(hot, 'int32')
  const xDense = tf.tensor2d(feed.train.x.subarray(0, batch * feed.width), [batch, feed.width])
  const forward = () => (blocks > 0 ? model.forwardSparse(k > 0 ? xNumeric : null, xHot, batch, blocks, true) : model.forward(xDense, true))
  const y = run.task === 'classification' ? tf.oneHot(tf.tensor1d(feed.train.y.subarray(0, batch), 'int32'), outputs) : tf.tensor2d(feed.train.y.subarray(0, batch), [batch, 1])
  const lossOf = () =>
    (run.task === 'classification' ? tf.losses.softmaxCrossEntropy(y, forward()) : tf.losses.meanSquaredError(y, forward())) as import('@tensorflow/tfjs').Scalar
  // A sample of steps, scaled to an epoch: the kernels cost the same every step.
  const sampled = Math.min(steps, 120)
  for (let i = 0; i < 10; i++) optimizer.minimize(lossOf, false, model.trainable) // warm-up, untimed
  const t0 = performance.now()
  for (let i = 0; i < sampled; i++) {
    const loss = optimizer.minimize(lossOf, true, model.trainable)
    loss!.dataSync()
    loss!.dispose()
  }
  const kernels = ((performance.now() - t0) / 1000) * (steps / sampled)
  model.dispose()
  return { feed: feed.loadSeconds, kernels }
}

function fmt(n: number, digits = 3): string {
  return Number.isFinite(n) ? n.toFixed(digits) : 'n/a'
}

export async function run(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lathe-bench-train-'))
  const engine = Engine.open({ workspaceDir: path.join(dir, 'workspace'), holder: 'bench' })
  try {
    const cases = await prepareTables(dir)
    process.stdout.write(`load average at start: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} on ${os.cpus().length} CPUs\n`)
    for (const [i, c] of cases.entries()) {
      const p = runPeer(c)
      const lathe = await runLathe(engine, c, `bench${i}`)
      const latheEpoch = median(lathe.epochSeconds)
      const quality = c.task === 'classification' ? 'accuracy' : 'rmse'
      const latheQuality = lathe.run.metrics!.test[quality]!
      const peerQuality = p[quality]!
      process.stdout.write(
        [
          `\n${c.name}: ${p.rows} training rows, ${lathe.run.model!.preprocessing.numeric.length} numeric + ${lathe.run.model!.preprocessing.categorical.length} categorical columns, ${c.epochs} epochs, MLP 64-64, batch 256`,
          `  seconds/epoch (median)  lathe ${fmt(latheEpoch)} (${lathe.run.backend!.name})   torch ${fmt(p.epoch_seconds_median)} (CPU, ${torchThreads} thread${torchThreads > 1 ? 's' : ''})   ratio lathe/torch ${fmt(latheEpoch / p.epoch_seconds_median, 2)}x`,
          `  test ${quality}            lathe ${fmt(latheQuality, 4)}   torch ${fmt(peerQuality, 4)}   (different 80/20 splits of the same table)`,
        ].join('\n') + '\n',
      )
      const profile = await profileEpoch(engine, lathe.run)
      process.stdout.write(
        `  where an epoch goes     feed (DuckDB -> typed arrays, once per run) ${fmt(lathe.loadSeconds)} s; the epoch's optimizer steps on one resident batch ` +
          `(kernels + TensorFlow.js per-op dispatch) ${fmt(profile.kernels)} s = ${fmt((100 * profile.kernels) / latheEpoch, 0)}% of the epoch; ` +
          `the rest (row gather, upload, IPC) ${fmt(Math.max(0, latheEpoch - profile.kernels))} s\n`,
      )
    }
  } finally {
    await engine.close()
    fs.rmSync(dir, { recursive: true, force: true })
  }
}
