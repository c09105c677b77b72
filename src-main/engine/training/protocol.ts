import type { BackendName } from './backends.js'
import type { FeatureColumn, ModelFamily, Preprocessing, RunMetrics, Task, TrainParams } from './types.js'
import type { ModelSignature } from '../api/common/signature.js'

/**
 * Messages between the engine and a training worker (Node IPC, structured clone).
 * The worker never touches lathe.db: it reads its Parquet object, trains, writes
 * artifacts into the workspace's staging folder and reports; the engine records.
 */
export interface WorkerJob {
  runId: string
  sourceSql: string
  features: FeatureColumn[]
  target: string
  task: Task
  modelFamily: ModelFamily
  params: TrainParams
  seed: number
  backend: BackendName | 'auto'
  /** Where the worker writes its artifacts (the workspace's tmp/). */
  stagingDir: string
  appVersion: string
}

export type EngineToWorker = { type: 'start'; job: WorkerJob }

export type WorkerToEngine =
  | {
      type: 'started'
      backend: { name: string; device: string | null; versions: Record<string, string | null> }
      rows: { train: number; validation: number; test: number }
      loadSeconds: number
    }
  | {
      type: 'epoch'
      epoch: number
      epochs: number
      loss: number
      validation: Record<string, number>
      epochSeconds: number
    }
  | { type: 'batch'; epoch: number; epochs: number; batch: number; batches: number; loss: number }
  | {
      type: 'finished'
      metrics: RunMetrics
      epochsRun: number
      onnxPath: string
      weightsPath: string
      signature: ModelSignature
      preprocessing: Preprocessing
      warnings: string[]
    }
  | { type: 'failed'; message: string; userError: boolean }
