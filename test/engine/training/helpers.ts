import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import * as ort from 'onnxruntime-node'
import * as tf from '@tensorflow/tfjs'
import type { Engine } from '../../../src-main/engine/engine.js'
import { getDatasetVersionById } from '../../../src-main/engine/data/resolve.js'
import { splitSelectSql } from '../../../src-main/engine/data/splits.js'
import { denseRows, loadFeed, quoteIdent } from '../../../src-main/engine/training/feed.js'
import { TabularModel, type ModelWeights } from '../../../src-main/engine/training/model.js'
import type { RunRecord } from '../../../src-main/engine/training/types.js'

export const vegaData = (file: string) => path.resolve('node_modules/vega-datasets/data', file)

export const torchFloors = JSON.parse(fs.readFileSync(path.resolve('test/fixtures/training/torch-floors.json'), 'utf8')) as Record<
  'weather' | 'penguins' | 'cars',
  { accuracy?: number; rmse?: number }
>

/** Imports one of the vega-datasets tables as a dataset version. */
export async function importVega(engine: Engine, file: string, name: string): Promise<void> {
  await engine.call('data.import', { name, path: vegaData(file) })
}

export async function trainAndWait(engine: Engine, spec: Record<string, unknown>): Promise<RunRecord> {
  const run = await engine.call('training.start', spec as never)
  return engine.call('training.runs.wait', { run: run.id, timeoutMs: 240_000 })
}

/**
 * Runs the exported ONNX graph (onnxruntime-node, raw columns in) and the trained
 * TensorFlow.js model (from the run's stored weights, on the design matrix the
 * training feed builds) on the run's test split; returns both outputs.
 */
export async function predictBothWays(engine: Engine, run: RunRecord) {
  const model = run.model!
  const version = getDatasetVersionById(engine.context, run.dataset.versionId)
  const sourceSql = splitSelectSql(run.split, version.path)
  const feed = await loadFeed({ sourceSql, features: run.features, target: run.target, task: run.task })
  const weights = JSON.parse((await engine.workspace.objects.read(model.weightsSha256)).toString('utf8')) as ModelWeights
  await tf.setBackend('cpu')
  const tfModel = TabularModel.fromWeights(tf, weights)
  let tfOut = tfModel.predict(feed.test.rows, (start, n) => denseRows(feed, feed.test, start, n))
  tfModel.dispose()
  if (run.task === 'regression') {
    const s = feed.preprocessing.targetScale!
    tfOut = tfOut.map((v) => v * s.std + s.mean)
  }

  const instance = await DuckDBInstance.create(':memory:')
  const conn = await instance.connect()
  const cols = run.features.map((f) =>
    f.kind === 'numeric' ? `CAST(${quoteIdent(f.name)} AS DOUBLE)` : `coalesce(CAST(${quoteIdent(f.name)} AS VARCHAR), '')`,
  )
  const reader = await conn.runAndReadAll(
    `SELECT ${cols.join(', ')} FROM (${sourceSql}) WHERE __split = 'test' AND ${quoteIdent(run.target)} IS NOT NULL ORDER BY __row`,
  )
  const columns = reader.getColumnsJS()
  conn.closeSync()
  instance.closeSync()
  const n = feed.test.rows
  const feeds: Record<string, ort.Tensor> = {}
  run.features.forEach((f, i) => {
    const values = columns[i]!
    feeds[f.name] =
      f.kind === 'numeric'
        ? new ort.Tensor(
            'float32',
            Float32Array.from(values, (v) => (v === null ? NaN : Number(v))),
            [n, 1],
          )
        : new ort.Tensor('string', values.map(String), [n, 1])
  })
  const bytes = await engine.workspace.objects.read(model.onnxSha256)
  const session = await ort.InferenceSession.create(bytes)
  const result = await session.run(feeds)
  const onnxOut = (run.task === 'classification' ? result.probabilities! : result.prediction!).data as Float32Array
  const labels = run.task === 'classification' ? (result.label!.data as string[]) : null
  await session.release()
  return { rows: n, tfOut, onnxOut, labels, yTest: feed.test.y, classes: feed.preprocessing.classes }
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`)
  let max = 0
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!))
  return max
}

/** Debian's python3-onnx checker on the bytes; throws with its message when it refuses. */
export function onnxCheckerAccepts(bytes: Uint8Array, dir: string): void {
  const file = path.join(dir, 'model.onnx')
  fs.writeFileSync(file, bytes)
  execFileSync('/usr/bin/python3', ['-c', 'import onnx, sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True); print("ok")', file], {
    encoding: 'utf8',
  })
}
