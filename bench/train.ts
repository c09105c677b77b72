import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import { Engine } from '../src-main/engine/engine.js'
import { getDatasetVersionById } from '../src-main/engine/data/resolve.js'
import { splitSelectSql } from '../src-main/engine/data/splits.js'
import { chooseBackend, probeBackends, type BackendName } from '../src-main/engine/training/backends.js'
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
 *
 * `--backend webgpu` (or tfjs-node-gpu, tfjs-node): Lathe on that backend and on wasm,
 * on flights and on a wide synthetic table (LATHE_BENCH_WIDE_ROWS, default 1M rows x
 * 100 numeric features, MLP 256-256, batch 1024, made with DuckDB), beside torch on the
 * CPU at 1 thread and at every thread. A backend that is not available here stops the
 * bench with the probe's reason.
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
  hidden: number[]
  batch: number
}

/** `--backend B` / `--backend=B` on the bench's command line. */
function backendArgument(): BackendName | null {
  const argv = process.argv.slice(2)
  const i = argv.findIndex((a) => a === '--backend' || a.startsWith('--backend='))
  if (i < 0) return null
  return (argv[i]!.includes('=') ? argv[i]!.split('=')[1] : argv[i + 1]) as BackendName
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
    {
      name: `flights ${rows / 1000}k (delay ~ distance, origin, destination)`,
      csv: flights,
      target: 'delay',
      task: 'regression',
      epochs: 2,
      exclude: [],
      hidden: [64, 64],
      batch: 256,
    },
    {
      name: 'seattle-weather (weather)',
      csv: path.join(data, 'seattle-weather.csv'),
      target: 'weather',
      task: 'classification',
      epochs: 10,
      exclude: ['date'],
      hidden: [64, 64],
      batch: 256,
    },
  ]
}

/** A wide regression table made by DuckDB: 100 numeric features, the target a noisy linear mix of them. */
async function prepareWideTable(dir: string): Promise<Case> {
  const rows = Number(process.env.LATHE_BENCH_WIDE_ROWS) || 1_000_000
  const features = 100
  const csv = path.join(dir, 'wide.csv')
  const instance = await DuckDBInstance.create(':memory:')
  const conn = await instance.connect()
  const columns = Array.from({ length: features }, (_, i) => `random() * 2 - 1 AS f${i}`)
  const target = Array.from({ length: features }, (_, i) => `${((i % 7) - 3) / 3} * f${i}`).join(' + ')
  await conn.run('SELECT setseed(0.42)')
  await conn.run(`CREATE TABLE wide AS SELECT ${columns.join(', ')} FROM range(${rows})`)
  await conn.run(`COPY (SELECT *, ${target} + random() * 0.1 AS y FROM wide) TO '${csv}' (HEADER, DELIMITER ',')`)
  conn.closeSync()
  instance.closeSync()
  const epochs = Number(process.env.LATHE_BENCH_WIDE_EPOCHS) || 2
  return { name: `wide synthetic ${rows / 1e6}M x ${features}`, csv, target: 'y', task: 'regression', epochs, exclude: [], hidden: [256, 256], batch: 1024 }
}

// The peer runs at every thread of the machine (its own default: 2 here) and at 1 thread, the single thread the
// wasm backend computes on; LATHE_BENCH_TORCH_THREADS=2 (or 1) runs one of them only.
const torchThreads = process.env.LATHE_BENCH_TORCH_THREADS ? [Number(process.env.LATHE_BENCH_TORCH_THREADS)] : [os.cpus().length, 1]

function runPeer(c: Case, threads: number): PeerResult {
  const args = [
    peer,
    c.csv,
    '--target',
    c.target,
    '--task',
    c.task,
    '--epochs',
    String(c.epochs),
    '--hidden',
    c.hidden.join(','),
    '--batch',
    String(c.batch),
    '--threads',
    String(threads),
  ]
  if (c.exclude.length) args.push('--drop', c.exclude.join(','))
  const out = execFileSync('/usr/bin/python3', args, { encoding: 'utf8', maxBuffer: 1 << 24 })
  return JSON.parse(out.trim().split('\n').at(-1)!) as PeerResult
}

async function runLathe(
  engine: Engine,
  c: Case,
  datasetName: string,
  backend: BackendName = 'wasm',
): Promise<{ run: RunRecord; epochSeconds: number[]; loadSeconds: number }> {
  const imported = (await engine.call('data.list', {})).datasets.some((d) => d.name === datasetName)
  if (!imported) await engine.call('data.import', { name: datasetName, path: c.csv })
  const started = await engine.call('training.start', {
    dataset: datasetName,
    target: c.target,
    task: c.task,
    exclude: c.exclude,
    params: { epochs: c.epochs, hidden: c.hidden, batchSize: c.batch, learningRate: 0.001 },
    split: { method: 'random', seed: 0, train: 0.8, validation: 0, test: 0.2 },
    backend,
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

/** `--backend B`: B and wasm on flights and the wide table, beside torch at 1 and every thread. */
async function runBackends(engine: Engine, dir: string, backend: BackendName): Promise<void> {
  const report = (await probeBackends(backend)).find((r) => r.name === backend)
  if (!report?.available) {
    process.stderr.write(`backend ${backend} is not available here: ${report?.reason ?? 'unknown backend'}\n`)
    process.exitCode = 1
    return
  }
  process.stdout.write(`${backend}: ${report.device} ${JSON.stringify(report.details ?? {})}\n`)
  const cases = [(await prepareTables(dir))[0]!, await prepareWideTable(dir)]
  for (const [i, c] of cases.entries()) {
    // LATHE_BENCH_NO_PEER=1 where Python's torch is not installed (a bare GPU machine): Lathe's backends only.
    const peers = process.env.LATHE_BENCH_NO_PEER ? [] : torchThreads.map((threads) => ({ threads, result: runPeer(c, threads) }))
    const lathe = []
    for (const b of [backend, 'wasm'] as const) lathe.push({ backend: b, result: await runLathe(engine, c, `wide${i}`, b) })
    process.stdout.write(`\n${c.name}: 80% of the rows for training, ${c.epochs} epochs, MLP ${c.hidden.join('-')}, batch ${c.batch}\n`)
    const wasmEpoch = median(lathe[1]!.result.epochSeconds)
    for (const { backend: b, result } of lathe) {
      const epoch = median(result.epochSeconds)
      const rmse = result.run.metrics!.test.rmse
      process.stdout.write(
        `  lathe ${b.padEnd(13)} ${fmt(epoch)} s/epoch (first ${fmt(result.epochSeconds[0] ?? NaN)} s)  speed-up vs wasm ${fmt(wasmEpoch / epoch, 1)}x  test RMSE ${fmt(rmse ?? NaN, 4)}  [${result.run.backend!.device}]\n`,
      )
    }
    for (const { threads, result } of peers) {
      const epoch = median(lathe[0]!.result.epochSeconds)
      process.stdout.write(
        `  torch CPU ${String(threads).padStart(2)} thread${threads > 1 ? 's' : ' '} ${fmt(result.epoch_seconds_median)} s/epoch  lathe ${backend}/torch ${fmt(epoch / result.epoch_seconds_median, 2)}x  test RMSE ${fmt(result.rmse ?? NaN, 4)}\n`,
      )
    }
  }
}

export async function run(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lathe-bench-train-'))
  const backend = backendArgument()
  if (backend && backend !== 'wasm') {
    const engine = Engine.open({ workspaceDir: path.join(dir, 'workspace'), holder: 'bench' })
    try {
      process.stdout.write(
        `load average at start: ${os
          .loadavg()
          .map((l) => l.toFixed(1))
          .join(' ')} on ${os.cpus().length} CPUs\n`,
      )
      await runBackends(engine, dir, backend)
    } finally {
      await engine.close()
      fs.rmSync(dir, { recursive: true, force: true })
    }
    return
  }
  const engine = Engine.open({ workspaceDir: path.join(dir, 'workspace'), holder: 'bench' })
  try {
    const cases = await prepareTables(dir)
    process.stdout.write(
      `load average at start: ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')} on ${os.cpus().length} CPUs\n`,
    )
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
              .map(
                ({ threads, result }) =>
                  `torch ${fmt(result.epoch_seconds_median, digits)} (CPU, ${threads} thread${threads > 1 ? 's' : ''}): ratio lathe/torch ${fmt(latheEpoch / result.epoch_seconds_median, 2)}x`,
              )
              .join('   '),
          `  lathe's epochs          first ${fmt(lathe.epochSeconds[0] ?? NaN, digits)} s (V8 compiles the wasm kernels in it), all ${c.epochs} ${fmt(
            lathe.epochSeconds.reduce((a, b) => a + b, 0),
            digits,
          )} s`,
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
