import { randomUUID } from 'node:crypto'
import { LatheError, isLatheError } from '../api/common/errors.js'
import type { EngineContext } from '../context.js'
import { ServingActivity } from './activity.js'
import { defaultBatching, type BatchingOptions } from './batcher.js'
import { DeploymentSet, type DeploymentSpec, type ServedVersion } from './deployments.js'
import type { InputBatch } from './loaded-model.js'
import { ServingMetrics } from './metrics.js'
import { parseMlflowPayload } from './payload.js'
import { PredictionLogWriter, defaultPredictionLogOptions, type PredictionLogOptions } from './prediction-log.js'
import { defaultRangeMargin, flagOutOfRange, type RangeFlags, type RangeMargin } from './ranges.js'
import { aliasMovedTopic, registryResolver, type ModelResolver } from './resolver.js'
import { rowPredictions, type RowPrediction } from './responses.js'
import { forgetDeployment, listRememberedDeployments, rememberDeployment } from './store.js'
import { startServingServer, type LoggedRequest, type PredictResult, type ServingEndpoint, type ServingServer, type ServingServerOptions } from './server.js'

export type { PredictResult } from './server.js'

export interface ServingServiceOptions {
  resolver?: ModelResolver
  log?: PredictionLogOptions
}

/**
 * Serving inside one engine: the deployments, the prediction log writer, the live
 * activity for the UI and, while it runs, the HTTP server. One per engine
 * (`servingService(ctx)`), so the API operations, `lathe serve` and `lathe predict`
 * all go through the same code path.
 */
export class ServingService implements ServingEndpoint {
  readonly deployments: DeploymentSet
  readonly log: PredictionLogWriter
  readonly activity = new ServingActivity()
  server: ServingServer | null = null
  /** Present while a server runs; it owns the Prometheus registry. */
  metrics: ServingMetrics | null = null
  private batching: BatchingOptions = defaultBatching
  private rangeMargin: RangeMargin = defaultRangeMargin
  private readonly unsubscribe: () => void

  constructor(
    private readonly ctx: EngineContext,
    options: ServingServiceOptions = {},
  ) {
    const resolver = options.resolver ?? registryResolver(ctx)
    this.deployments = new DeploymentSet(resolver, {
      onLoaded: (model, version, seconds) => this.metrics?.modelLoadSeconds.set({ model, version: String(version) }, seconds),
      onBatch: (model, version, rows) => this.metrics?.batchRows.observe({ model, version: String(version) }, rows),
      onSwapped: (model, from, to) => {
        this.metrics?.swaps.inc({ model })
        ctx.events.emit('serving.swapped', { model, from, to })
      },
      onSwapFailed: (model, error) => {
        const message = isLatheError(error) ? error.message : String((error as Error)?.message ?? error)
        ctx.events.emit('serving.swap_failed', { model, message })
      },
    })
    this.log = new PredictionLogWriter(
      ctx.workspace.predictionLogDir,
      () => ctx.workspace.monitor(),
      options.log ?? defaultPredictionLogOptions,
      (error) => {
        process.emitWarning(`lathe serving: prediction log write failed: ${(error as Error).message}`)
      },
    )
    this.unsubscribe = ctx.events.subscribe([aliasMovedTopic], (event) => this.deployments.aliasMoved(event.payload))
  }

  get batchingOptions(): BatchingOptions {
    return this.batching
  }

  setBatching(options: Partial<BatchingOptions>): void {
    this.batching = { ...this.batching, ...options }
    this.deployments.setBatching(this.batching)
  }

  get rangeMarginOptions(): RangeMargin {
    return this.rangeMargin
  }

  setRangeMargin(margin: Partial<RangeMargin>): void {
    this.rangeMargin = { ...this.rangeMargin, ...margin }
  }

  /** Deploys and remembers it, so the next start (after a restart too) serves it again. */
  async deploy(spec: DeploymentSpec, makeDefault = false) {
    const info = await this.deployments.deploy(spec, makeDefault)
    rememberDeployment(this.ctx.workspace.db, this.ctx.actor, { model: info.model, selector: info.selector, logging: info.logging, isDefault: info.isDefault })
    this.ctx.events.emit('serving.deployed', { model: info.model, version: info.version, selector: info.selector })
    return info
  }

  async undeploy(model: string): Promise<void> {
    await this.deployments.undeploy(model)
    forgetDeployment(this.ctx.workspace.db, this.ctx.actor, model, this.deployments.defaultName)
    this.ctx.events.emit('serving.undeployed', { model })
  }

  /**
   * What a start with no models named serves: what was deployed last time, else every
   * model with a production version. A remembered model that no longer resolves (its
   * alias was removed) is left out and reported, rather than keeping the endpoint down.
   */
  async deployDefaults(logging: boolean): Promise<void> {
    if (this.deployments.list().length > 0) return
    const remembered = listRememberedDeployments(this.ctx.workspace.db)
    if (remembered.length === 0) {
      for (const [i, model] of this.deployments.productionModels().entries()) await this.deploy({ model, selector: 'production', logging }, i === 0)
      return
    }
    for (const d of remembered) {
      try {
        await this.deployments.deploy({ model: d.model, selector: d.selector, logging: d.logging }, d.isDefault)
      } catch (error) {
        this.ctx.events.emit('serving.swap_failed', { model: d.model, message: `not served: ${(error as Error).message}` })
      }
    }
  }

  /** The one prediction path: HTTP routes and `serving.predict` both end here. */
  async predict(served: ServedVersion, batch: InputBatch, requestId: string = randomUUID()): Promise<PredictResult> {
    const outOfRange = flagOutOfRange(served.signature, batch, this.rangeMargin)
    const outputs = await served.predict(batch)
    const predictions = rowPredictions(outputs, served.signature, batch.rows)
    refuseNonFinite(predictions, outOfRange)
    if (outOfRange && this.metrics) for (const o of outOfRange.summary) this.metrics.outOfRange.inc({ model: served.model, column: o.column }, o.count)
    return { requestId, served, outputs, predictions, outOfRange }
  }

  /**
   * Batch prediction (`serving.predict`, `lathe predict`): the same validation and
   * session as a request, in slices so no single run holds a whole large file.
   */
  async predictRecords(served: ServedVersion, records: Array<Record<string, unknown>>): Promise<{ requestId: string; predictions: RowPrediction[] }> {
    const predictions: RowPrediction[] = []
    const requestId = randomUUID()
    for (let offset = 0; offset < records.length; offset += BATCH_PREDICTION_SLICE) {
      const slice = records.slice(offset, offset + BATCH_PREDICTION_SLICE)
      let batch: InputBatch
      try {
        batch = parseMlflowPayload(served.signature.columns ? { dataframe_records: slice } : { instances: slice }, served.signature, served.loaded.columnRules)
      } catch (error) {
        if (offset === 0 || !(error instanceof LatheError)) throw error
        throw new LatheError(error.code, `${error.message} (row numbers count from row ${offset} of the input)`, { field: error.field })
      }
      const part = await this.predict(served, batch, requestId)
      for (const p of part.predictions) predictions.push(p)
    }
    return { requestId, predictions }
  }

  /** Records an answered or refused request: metrics, the live view, and (when answered and on) the log. */
  recordRequest(entry: LoggedRequest): void {
    const metrics = this.metrics
    metrics?.countRequest(entry.model, entry.version, entry.route, entry.status, entry.latencyMs / 1000)
    this.activity.record(entry)
    if (entry.logged && entry.version !== null) {
      this.log.append({
        requestId: entry.requestId,
        time: entry.timeMs,
        model: entry.model,
        version: entry.version,
        route: entry.route,
        status: entry.status,
        latencyMs: entry.latencyMs,
        batch: entry.logged.batch,
        predictions: entry.logged.predictions,
        classes: entry.logged.classes,
        outOfRange: entry.logged.outOfRange?.perRow,
      })
    }
  }

  async start(options: ServingServerOptions): Promise<ServingServer> {
    if (this.server) return this.server
    this.metrics = new ServingMetrics(this.log)
    this.log.prepare()
    // Models deployed before the server started were loaded with no registry to record into.
    for (const d of this.deployments.list()) {
      if (d.version !== null && d.loadSeconds !== null) this.metrics.modelLoadSeconds.set({ model: d.model, version: String(d.version) }, d.loadSeconds)
    }
    try {
      this.server = await startServingServer(this, this.ctx, options)
    } catch (error) {
      this.metrics = null
      throw error
    }
    this.ctx.events.emit('serving.started', { url: this.server.url })
    return this.server
  }

  async stop(): Promise<void> {
    const server = this.server
    if (!server) return
    this.server = null
    await server.close()
    await this.log.drain()
    this.metrics = null
    this.ctx.events.emit('serving.stopped', {})
  }

  async close(): Promise<void> {
    this.unsubscribe()
    await this.stop()
    await this.log.close()
    await this.deployments.close()
  }
}

/**
 * No answer carries NaN: a row the model gave no finite number for is refused, naming
 * the out-of-range columns that most likely caused it.
 */
function refuseNonFinite(predictions: RowPrediction[], flags: RangeFlags | null): void {
  for (let r = 0; r < predictions.length; r++) {
    const p = predictions[r]!
    const bad = (typeof p.prediction === 'number' && !Number.isFinite(p.prediction)) || p.probabilities?.some((x) => x === null || !Number.isFinite(x))
    if (!bad) continue
    const columns = flags?.perRow[r]
    throw new LatheError(
      'bad_request',
      `the model gives no finite answer for row ${r}${columns ? `: ${columns.join(', ')} ${columns.length > 1 ? 'are' : 'is'} far outside the training range` : ''}; check the inputs`,
      { field: columns?.[0] ?? 'inputs' },
    )
  }
}

const serviceKey = 'serving.service'
/** Rows per session run in batch prediction. */
const BATCH_PREDICTION_SLICE = 50_000

/** The engine's serving service, created on first use and closed with the engine. */
export function servingService(ctx: EngineContext, options?: ServingServiceOptions): ServingService {
  return ctx.singleton(serviceKey, () => {
    const service = new ServingService(ctx, options)
    ctx.onClose(() => service.close())
    return service
  })
}

/** The endpoint's most recent answered and refused requests, newest first (monitoring reads its error rate here). */
export function recentServingRequests(ctx: EngineContext, limit: number) {
  return servingService(ctx).activity.recentRequests(limit)
}
