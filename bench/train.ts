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
import { TabularModel } from '../src-main/engine/training/model.js'
import { TrainingStep } from '../src-main/engine/training/step.js'
import type { RunRecord, TrainParams } from '../src-main/engine/training/types.js'

/**
 * `npm run bench -- train`: the same MLP (64-64, Adam, lr 0.001, batch 256) on the
 * same tables through Lathe (worker process, wasm backend) and through
 * bench/peers/train_torch.py, in the same run. Prints seconds per epoch as a
 * ratio and test quality side by side, then where Lathe's time goes.
 *
 * Both sides hold out 20% for test and validate on nothing per epoch, so an epoch is
 * the same work. LATHE_BENCH_FLIGHT_ROWS changes the flights sample (default 200000);
 * the peer runs with 2 threads (its default) and 1 (what the wasm backend computes on),
 * or only LATHE_BENCH_TORCH_THREADS. Prints the load average too: on a shared machine,
 * multi-threaded torch suffers most from it.
 */

const root = path.resolve(import.meta.dirname, '..')
const peer = path.join(root, 'bench', 'peers', 'train_torch.py')
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

// The peer runs at its own default (2 threads) and at 1 thread, the single thread the
// wasm backend computes on; LATHE_BENCH_TORCH_THREADS=2 (or 1) runs one of them only.
const torchThreads = process.env.LATHE_BENCH_TORCH_THREADS ? [Number(process.env.LATHE_BENCH_TORCH_THREADS)] : [2, 1]

function runPeer(c: Case, threads: number): PeerResult {
  const args = [peer, c.csv, '--target', c.target, '--task', c.task, '--epochs', String(c.epochs), '--hidden', '64,64', '--batch', '256', '--threads', String(threads)]
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
 * (DuckDB -> typed arrays, once per run) and the epoch's optimizer steps at steady
 * state (after 200 untimed warm-up steps on one resident batch): the gradients
 * (TensorFlow.js kernels and their dispatch, loss in JavaScript) and the optimizer
 * update (JavaScript over the flat parameters). What the run's epoch takes beyond
 * that is warm-up (V8 optimizing TensorFlow.js's JavaScript and tiering up its wasm
 * during the first ~100 steps), the row gather and the per-epoch report.
 */
async function profileEpoch(engine: Engine, run: RunRecord): Promise<{ feed: number; gradients: number; update: number }> {
  const backend = await chooseBackend('wasm')
  const tf = await import('@tensorflow/tfjs')
  await tf.setBackend(backend.name === 'wasm' ? 'wasm' : 'cpu')
  const version = getDatasetVersionById(engine.context, run.dataset.versionId)
  const feed = await loadFeed({ sourceSql: splitSelectSql(run.split, version.path), features: run.features, target: run.target, task: run.task })
  const params: TrainParams = { ...run.params }
  const outputs = feed.preprocessing.classes?.length ?? 1
  const model = TabularModel.initialize(tf, { family: 'mlp', task: run.task, params, seed: 1, inputs: feed.width, outputs })
  const numericCount = feed.preprocessing.numeric.length
  const blocks = feed.preprocessing.categorical.length
  const layout = { numericCount, blocks }
  const step = new TrainingStep(tf, model.exportWeights().layers, { family: 'mlp', task: run.task, params, seed: 1, layout })
  const n = Math.min(params.batchSize, feed.train.rows)
  const steps = Math.ceil(feed.train.rows / params.batchSize)
  // One resident batch (the first rows), in the form training uses.
  const numeric = feed.train.numeric.subarray(0, n * numericCount)
  const y = feed.train.y.subarray(0, n)
  const batch = blocks > 0 ? { n, numeric, hot: feed.train.hot.subarray(0, n * blocks), y } : { n, x: numeric, y }
  for (let i = 0; i < 200; i++) step.step(batch) // warm-up, untimed
  const sampled = 300
  let t0 = performance.now()
  for (let i = 0; i < sampled; i++) step.gradients(batch)
  const gradients = ((performance.now() - t0) / 1000 / sampled) * steps
  t0 = performance.now()
  for (let i = 0; i < sampled; i++) step.update()
  const update = ((performance.now() - t0) / 1000 / sampled) * steps
  step.dispose()
  model.dispose()
  return { feed: feed.loadSeconds, gradients, update }
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
      const peers = torchThreads.map((threads) => ({ threads, result: runPeer(c, threads) }))
      const p = peers[0]!.result
      const lathe = await runLathe(engine, c, `bench${i}`)
      const latheEpoch = median(lathe.epochSeconds)
      const quality = c.task === 'classification' ? 'accuracy' : 'rmse'
      const latheQuality = lathe.run.metrics!.test[quality]!
      const peerQuality = p[quality]!
      const digits = latheEpoch < 0.1 ? 4 : 3
      process.stdout.write(
        [
          `\n${c.name}: ${p.rows} training rows, ${lathe.run.model!.preprocessing.numeric.length} numeric + ${lathe.run.model!.preprocessing.categorical.length} categorical columns, ${c.epochs} epochs, MLP 64-64, batch 256`,
          `  seconds/epoch (median)  lathe ${fmt(latheEpoch, digits)} (${lathe.run.backend!.name}, 1 thread)   ` +
            peers
              .map(({ threads, result }) => `torch ${fmt(result.epoch_seconds_median, digits)} (CPU, ${threads} thread${threads > 1 ? 's' : ''}): ratio lathe/torch ${fmt(latheEpoch / result.epoch_seconds_median, 2)}x`)
              .join('   '),
          `  lathe's epochs          first ${fmt(lathe.epochSeconds[0] ?? NaN, digits)} s (V8 compiles the wasm kernels in it), all ${c.epochs} ${fmt(lathe.epochSeconds.reduce((a, b) => a + b, 0), digits)} s`,
          `  test ${quality}            lathe ${fmt(latheQuality, 4)}   torch ${fmt(peerQuality, 4)}   (different 80/20 splits of the same table)`,
        ].join('\n') + '\n',
      )
      const profile = await profileEpoch(engine, lathe.run)
      const steady = profile.gradients + profile.update
      const fastest = Math.min(...peers.map((x) => x.result.epoch_seconds_median))
      process.stdout.write(
        `  where an epoch goes     feed (DuckDB -> typed arrays, once per run) ${fmt(lathe.loadSeconds)} s; at steady state the epoch's steps take ` +
          `${fmt(steady, digits)} s (gradients: kernels + dispatch ${fmt(profile.gradients, digits)} s, optimizer update ${fmt(profile.update, digits)} s) = ` +
          `${fmt(steady / fastest, 2)}x torch's faster epoch; the rest of the median epoch (warm-up, row gather, report) ` +
          `${fmt(Math.max(0, latheEpoch - steady), digits)} s\n`,
      )
    }
  } finally {
    await engine.close()
    fs.rmSync(dir, { recursive: true, force: true })
  }
}
