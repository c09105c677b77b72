import path from 'node:path'
import type { Engine } from '../../src-main/engine/engine.js'
import { SplitSpec } from '../../src-main/engine/data/types.js'
import { appendMetricPoints, insertRun, updateRun } from '../../src-main/engine/training/store.js'
import { TrainParams, type RunRecord } from '../../src-main/engine/training/types.js'
import { uuidv7 } from '../../src-main/engine/workspace/ids.js'

export const penguinsJson = path.resolve('node_modules/vega-datasets/data/penguins.json')
export const irisOnnx = path.resolve(import.meta.dirname, '../fixtures/onnx/iris_logreg.onnx')

/**
 * A run as the training queue records one, written through the training store (the
 * path the worker's messages take), with `steps` points of each metric, then ended.
 * Real training makes a handful of epoch points; sync's segments need thousands.
 */
export function recordRun(
  engine: Engine,
  options: { dataset: { name: string; version: number; versionId: string }; metrics?: string[]; steps?: number; status?: 'finished' | 'failed' | 'running' },
): RunRecord {
  const db = engine.context.workspace.db
  const now = new Date().toISOString()
  const record: RunRecord = {
    id: uuidv7(),
    status: 'queued',
    error: null,
    dataset: options.dataset,
    split: SplitSpec.parse({}),
    task: 'classification',
    target: 'Species',
    features: [{ name: 'Beak Length (mm)', kind: 'numeric', sourceType: 'DOUBLE' }],
    modelFamily: 'linear',
    params: TrainParams.parse({}),
    seed: 7,
    requestedBackend: 'auto',
    backend: null,
    appVersion: '0.1.0',
    host: { hostname: 'test', platform: 'linux', arch: 'x64', cpus: 2, node: process.versions.node },
    createdAt: now,
    startedAt: null,
    finishedAt: null,
    epochsRun: 0,
    metrics: null,
    registerAs: null,
    sweepId: null,
    model: null,
  }
  insertRun(db, record, 'test')
  updateRun(db, record.id, { status: 'running', startedAt: now })
  const steps = options.steps ?? 0
  for (let step = 0; step < steps; step++) {
    appendMetricPoints(db, record.id, step, Object.fromEntries((options.metrics ?? ['loss']).map((m, i) => [m, 1 / (step + 1) + i])))
  }
  const status = options.status ?? 'finished'
  if (status === 'running') return record
  return updateRun(db, record.id, { status, finishedAt: new Date().toISOString(), epochsRun: steps })
}
