import path from 'node:path'
import { LatheError } from '../api/common/errors.js'
import type { EngineContext } from '../context.js'
import { getDatasetVersionById } from '../data/index.js'
import { resolveModelVersion, type ModelVersionRecord } from '../registry/index.js'
import { getRun } from '../training/index.js'
import { ReferenceCache } from './drift/referenceCache.js'
import { computeDriftReport, type DriftReport, type FeatureOverride } from './drift/report.js'
import { datasetSource, predictionLogSource, type LogWindow, type TableSource } from './drift/sources.js'
import { hasLoggedTraffic } from './monitorDb.js'

/**
 * Drift for a registered model: the reference defaults to the training split of the
 * dataset version the model was trained on; the current side is a window of the
 * model's logged traffic, or any dataset version (batch data checked before scoring).
 */
export interface ModelDriftRequest {
  model: string
  /** Alias or version number; production by default. */
  selector?: string
  /** `name@version`; the training split of the model's dataset when absent. */
  reference?: string | null
  /** `name@version` to compare instead of logged traffic. */
  currentDataset?: string | null
  window?: LogWindow
  features?: FeatureOverride[]
  driftShareThreshold?: number
  /** Every statistic of each feature (KS, PSI...), not only what its method and chart need. */
  allStatistics?: boolean
}

/** Where the reference sides of drift reports are kept, per reference dataset version. */
export function referenceCacheOf(ctx: EngineContext): ReferenceCache {
  return new ReferenceCache(path.join(ctx.workspace.dir, 'cache', 'drift-reference'))
}

export interface ModelDriftReport extends DriftReport {
  model: string
  version: number
}

export async function referenceOfModel(ctx: EngineContext, version: ModelVersionRecord): Promise<TableSource> {
  if (version.runId) {
    const run = getRun(ctx.workspace.db, version.runId)
    return datasetSource(ctx, `${run.dataset.name}@${run.dataset.version}`, { spec: run.split, part: 'train' })
  }
  if (version.datasetVersionId) {
    const dataset = getDatasetVersionById(ctx, version.datasetVersionId)
    return datasetSource(ctx, `${dataset.name}@${dataset.version}`)
  }
  throw new LatheError(
    'bad_request',
    `${version.model} v${version.version} was not trained by Lathe, so there is no training data to compare with: give a reference dataset (--reference NAME@VERSION)`,
    { field: 'reference' },
  )
}

export async function modelDrift(ctx: EngineContext, request: ModelDriftRequest): Promise<ModelDriftReport> {
  const version = resolveModelVersion(ctx, request.model, request.selector ?? 'production')
  const signature = version.signature
  const reference = request.reference ? await datasetSource(ctx, request.reference) : await referenceOfModel(ctx, version)
  const columns = signature.columns
  if (!columns) {
    throw new LatheError(
      'bad_request',
      `${version.model} v${version.version} has no tabular input columns (an imported ONNX graph): drift needs named feature columns`,
      {
        field: 'model',
      },
    )
  }
  const outputKind = signature.task === 'regression' ? 'numeric' : signature.task === 'classification' ? 'categorical' : null
  const conn = await ctx.workspace.monitor()
  let current: TableSource
  let prediction: { reference: string; current: string; kind: 'numeric' | 'categorical' } | null = null
  if (request.currentDataset) {
    current = await datasetSource(ctx, request.currentDataset)
  } else {
    if (!(await hasLoggedTraffic(conn, request.model))) {
      throw new LatheError(
        'bad_request',
        `no traffic has been logged for ${request.model} yet: serve it and send requests, or compare a dataset (--current NAME@VERSION)`,
        {
          field: 'current',
        },
      )
    }
    current = predictionLogSource(request.model, request.window ?? { last: 5000 }, columns, outputKind)
    if (outputKind && signature.target) prediction = { reference: signature.target, current: '__prediction', kind: outputKind }
  }
  const features = request.features ?? columns.map((c) => ({ name: c.name, kind: c.kind }))
  const report = await computeDriftReport(conn, reference, current, {
    features: features.map((f) => ({ ...f, kind: f.kind ?? columns.find((c) => c.name === f.name)?.kind })),
    driftShareThreshold: request.driftShareThreshold,
    prediction,
    statistics: request.allStatistics ? 'all' : 'needed',
    referenceCache: referenceCacheOf(ctx),
    onProgress: (p) => ctx.events.emit('monitoring.drift.progress', { model: request.model, ...p }),
  })
  return { model: version.model, version: version.version, ...report }
}
