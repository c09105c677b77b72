import { z } from 'zod'
import { LatheError } from '../api/common/errors.js'
import { ModelSignature } from '../api/common/signature.js'
import { defineOperation, defineOperations, type EventPayloadsOf } from '../api/index.js'
import { defineEvents } from '../api/index.js'
import type { EngineContext } from '../context.js'
import { readPredictionFile } from './batch-file.js'
import { defaultMaxBodyBytes, defaultServingPort } from './server.js'
import { servingService, type ServingService } from './service.js'
import { RangeMargin } from './ranges.js'

const Deployment = z.object({
  model: z.string(),
  selector: z.string(),
  logging: z.boolean(),
  isDefault: z.boolean(),
  status: z.enum(['loading', 'ready', 'failed']),
  version: z.number().int().nullable(),
  error: z.string().nullable(),
  loadSeconds: z.number().nullable(),
  signature: ModelSignature.nullable(),
})

const DeployInput = z.object({
  model: z.string().min(1),
  /** An alias to follow (hot swap when it moves) or a version number to pin. */
  selector: z.string().min(1).default('production'),
  logging: z.boolean().default(true),
  default: z.boolean().default(false),
})

const Batching = z.object({
  enabled: z.boolean(),
  maxBatchRows: z.number().int().min(1).max(100_000),
  maxWaitMs: z.number().min(0).max(100),
})

const Status = z.object({
  running: z.boolean(),
  url: z.string().nullable(),
  host: z.string().nullable(),
  port: z.number().int().nullable(),
  /** The bearer token clients must send, when the server requires one. */
  token: z.string().nullable(),
  maxBodyBytes: z.number().int().nullable(),
  batching: Batching,
  deployments: z.array(Deployment),
  log: z.object({
    queuedRows: z.number().int(),
    writtenRows: z.number().int(),
    droppedRows: z.number().int(),
    dropped: z.object({ queue: z.number().int(), limit: z.number().int(), disk: z.number().int(), error: z.number().int() }),
    /** Why new rows are dropped right now: the retention's size limit or a full disk. */
    full: z.enum(['limit', 'disk']).nullable(),
    bytes: z.number().int(),
  }),
})

function statusOf(service: ServingService): z.input<typeof Status> {
  const server = service.server
  return {
    running: server !== null,
    url: server?.url ?? null,
    host: server?.host ?? null,
    port: server?.port ?? null,
    token: server?.token ?? null,
    maxBodyBytes: server?.maxBodyBytes ?? null,
    batching: service.batchingOptions,
    deployments: service.deployments.list(),
    log: {
      queuedRows: service.log.queueDepth,
      writtenRows: service.log.writtenRows,
      droppedRows: service.log.droppedRows,
      dropped: { ...service.log.dropped },
      full: service.log.full,
      bytes: service.log.segments.bytes,
    },
  }
}

const service = (ctx: EngineContext) => servingService(ctx)

/**
 * The Serving page's "try it" form sends its request through here: the engine calls
 * its own endpoint over HTTP, exactly as curl would, so the page needs neither CORS
 * nor a content-security exception for the serving port.
 */
const invoke = defineOperation({
  summary: 'Send one request to the running endpoint (the "try it" form) and return its answer',
  input: z.object({
    path: z
      .string()
      .regex(
        /^\/(invocations|v2\/models\/[^/?#]+(\/versions\/\d+)?\/infer)(\?[\w=&]*)?$/,
        'path must be /invocations or /v2/models/{name}[/versions/{v}]/infer',
      ),
    body: z.unknown(),
  }),
  output: z.object({ status: z.number().int(), requestId: z.string().nullable(), latencyMs: z.number(), body: z.unknown() }),
  handler: async (input, ctx) => {
    const server = service(ctx).server
    if (!server) throw new LatheError('unavailable', 'the serving endpoint is not running: start it first')
    const started = performance.now()
    const response = await fetch(`${server.url}${input.path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(server.token ? { authorization: `Bearer ${server.token}` } : {}) },
      body: JSON.stringify(input.body ?? null),
    })
    const text = await response.text()
    let body: unknown = text
    try {
      body = JSON.parse(text)
    } catch {
      // Not JSON: hand the text back as it came.
    }
    return { status: response.status, requestId: response.headers.get('x-request-id'), latencyMs: performance.now() - started, body }
  },
})
export const servingOperations = defineOperations('serving', {
  'serving.invoke': invoke,

  'serving.status': defineOperation({
    summary: 'Whether the serving endpoint runs, where, and what it serves',
    input: z.object({}),
    output: Status,
    handler: (_input, ctx) => statusOf(service(ctx)),
  }),

  'serving.log.drain': defineOperation({
    summary: 'Write every prediction answered so far to the prediction log; resolves once monitoring can read them',
    input: z.object({}).strict(),
    output: z.object({ writtenRows: z.number().int(), droppedRows: z.number().int() }),
    handler: async (_input, ctx) => {
      const log = service(ctx).log
      await log.drain()
      return { writtenRows: log.writtenRows, droppedRows: log.droppedRows }
    },
  }),

  'serving.start': defineOperation({
    summary: 'Start the serving endpoint (its own port) and deploy the given models',
    input: z.object({
      port: z.number().int().min(0).max(65535).default(defaultServingPort),
      host: z.string().min(1).default('127.0.0.1'),
      token: z.string().min(8, 'a token needs at least 8 characters').nullable().optional(),
      maxBodyBytes: z.number().int().min(1024).default(defaultMaxBodyBytes),
      batching: Batching.partial().optional(),
      /** How far past its training range a value is flagged (served, with a warning): a fraction of the range, overall or per column. */
      rangeMargin: RangeMargin.partial().optional(),
      /** Left out (and nothing deployed yet): what was deployed last time, else every model with a production version. */
      models: z.array(DeployInput).optional(),
      /** Whether the models deployed by default (see `models`) log their predictions. */
      logging: z.boolean().default(true),
    }),
    output: Status,
    handler: async (input, ctx) => {
      const s = service(ctx)
      if (s.server) throw new LatheError('conflict', `the serving endpoint already runs at ${s.server.url}; stop it first to change its address`)
      if (input.batching) s.setBatching(input.batching)
      if (input.rangeMargin) s.setRangeMargin(input.rangeMargin)
      // Deploy first: a model that cannot load stops the start before a port is taken.
      if (input.models) {
        for (const m of input.models) await s.deploy({ model: m.model, selector: m.selector, logging: m.logging }, m.default)
      } else {
        await s.deployDefaults(input.logging)
      }
      await s.start({ port: input.port, host: input.host, token: input.token ?? null, maxBodyBytes: input.maxBodyBytes })
      return statusOf(s)
    },
  }),

  'serving.stop': defineOperation({
    summary: 'Stop the serving endpoint; deployments stay for the next start',
    input: z.object({}),
    output: Status,
    handler: async (_input, ctx) => {
      const s = service(ctx)
      await s.stop()
      return statusOf(s)
    },
  }),

  'serving.deploy': defineOperation({
    summary: 'Serve a model (following an alias, or pinned to a version); loads its session now',
    input: DeployInput,
    output: Deployment,
    handler: (input, ctx) => service(ctx).deploy({ model: input.model, selector: input.selector, logging: input.logging }, input.default),
  }),

  'serving.undeploy': defineOperation({
    summary: 'Stop serving a model',
    input: z.object({ model: z.string().min(1) }),
    output: Status,
    handler: async (input, ctx) => {
      const s = service(ctx)
      await s.undeploy(input.model)
      return statusOf(s)
    },
  }),

  'serving.requests': defineOperation({
    summary: 'The most recent requests the endpoint answered or refused, newest first',
    input: z.object({ limit: z.number().int().min(1).max(200).default(50) }),
    output: z.array(
      z.object({
        requestId: z.string(),
        time: z.string(),
        model: z.string(),
        version: z.number().int().nullable(),
        route: z.string(),
        status: z.number().int(),
        latencyMs: z.number(),
        rows: z.number().int(),
        error: z.string().nullable(),
      }),
    ),
    handler: (input, ctx) => service(ctx).activity.recentRequests(input.limit),
  }),

  'serving.stats': defineOperation({
    summary: 'Requests, errors and p50/p99 latency per second, for the live chart',
    input: z.object({ seconds: z.number().int().min(1).max(600).default(60) }),
    output: z.array(
      z.object({
        time: z.string(),
        requests: z.number().int(),
        errors: z.number().int(),
        rows: z.number().int(),
        p50Ms: z.number().nullable(),
        p99Ms: z.number().nullable(),
      }),
    ),
    handler: (input, ctx) => service(ctx).activity.perSecond(input.seconds),
  }),

  'serving.predict': defineOperation({
    summary: 'Batch prediction through the serving code path: rows given inline or read from a CSV/JSON file',
    input: z
      .object({
        model: z.string().min(1),
        selector: z.string().min(1).default('production'),
        /** Records (column -> value), as `dataframe_records`. */
        records: z.array(z.record(z.string(), z.unknown())).optional(),
        /** An absolute path to a .csv, .tsv, .json or .ndjson file of rows. */
        file: z.string().optional(),
      })
      .refine((v) => (v.records === undefined) !== (v.file === undefined), { message: 'give either records or file', path: ['records'] }),
    output: z.object({
      model: z.string(),
      version: z.number().int(),
      requestId: z.string(),
      rows: z.number().int(),
      columns: z.array(z.string()),
      inputs: z.array(z.record(z.string(), z.unknown())),
      predictions: z.array(z.unknown()),
      probabilities: z.array(z.array(z.number().nullable()).nullable()).nullable(),
      classes: z.array(z.string()).nullable(),
    }),
    handler: async (input, ctx) => {
      const s = service(ctx)
      const served = await s.deployments.forPrediction(input.model, input.selector)
      const records = input.file ? await readPredictionFile(ctx, input.file, served.signature) : input.records!
      if (records.length === 0)
        throw new LatheError('bad_request', input.file ? `${input.file} holds no rows` : 'records is empty: send at least one row', {
          field: input.file ? 'file' : 'records',
        })
      const result = await s.predictRecords(served, records)
      const classification = result.predictions[0]?.probabilities !== null && result.predictions[0]?.probabilities !== undefined
      return {
        model: served.model,
        version: served.version,
        requestId: result.requestId,
        rows: records.length,
        columns: served.signature.columns?.map((c) => c.name) ?? served.signature.inputs.map((i) => i.name),
        inputs: records as Array<Record<string, unknown>>,
        predictions: result.predictions.map((p) => p.prediction),
        probabilities: classification ? result.predictions.map((p) => p.probabilities) : null,
        classes: served.signature.classes,
      }
    },
  }),
})

export const servingEvents = defineEvents({
  'serving.started': z.object({ url: z.string() }),
  'serving.stopped': z.object({}),
  'serving.deployed': z.object({ model: z.string(), version: z.number().int().nullable(), selector: z.string() }),
  'serving.swapped': z.object({ model: z.string(), from: z.number().int().nullable(), to: z.number().int() }),
  'serving.swap_failed': z.object({ model: z.string(), message: z.string() }),
  'serving.undeployed': z.object({ model: z.string() }),
})

// Typed emit and subscribe: the bus knows these topics' payloads.
declare module '../api/events.js' {
  interface EventPayloadMap extends EventPayloadsOf<typeof servingEvents> {}
}
