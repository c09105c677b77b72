import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { LatheError, isLatheError } from '../api/common/errors.js'
import { schemaCompilersOnDemand } from '../api/index.js'
import type { EngineContext } from '../context.js'
import type { StoredRequest } from './activity.js'
import type { DeploymentSet, ServedVersion } from './deployments.js'
import type { InputBatch } from './loaded-model.js'
import type { ServingMetrics } from './metrics.js'
import { parseMlflowPayload, parseV2Payload, v2Datatype } from './payload.js'
import { describeOutOfRange, type RangeFlags } from './ranges.js'
import { mlflowBody, v2Body, type RowPrediction } from './responses.js'

export interface PredictResult {
  requestId: string
  served: ServedVersion
  predictions: RowPrediction[]
  outputs: Awaited<ReturnType<ServedVersion['predict']>>
  /** Values outside the training range (plus margin): served, and flagged. */
  outOfRange: RangeFlags | null
}

/** An answered or refused request; `logged` carries what the prediction log keeps when it is on. */
export type LoggedRequest = StoredRequest & {
  logged?: { batch: InputBatch; predictions: RowPrediction[]; classes: string[] | null; outOfRange?: RangeFlags | null }
}

/** What the HTTP server needs of the serving service that starts it (declared here, so neither file imports the other's). */
export interface ServingEndpoint {
  readonly deployments: DeploymentSet
  readonly metrics: ServingMetrics | null
  predict(served: ServedVersion, batch: InputBatch, requestId: string): Promise<PredictResult>
  recordRequest(entry: LoggedRequest): void
}

export interface ServingServerOptions {
  port?: number
  host?: string
  /** Required as `Authorization: Bearer <token>` when set; generated when binding beyond loopback. */
  token?: string | null
  /** Largest request body, bytes (default 10 MB); larger ones get 413. */
  maxBodyBytes?: number
}

export interface ServingServer {
  url: string
  host: string
  port: number
  /** null when the server is open to loopback callers without one. */
  token: string | null
  maxBodyBytes: number
  close(): Promise<void>
}

export const defaultServingPort = 7071
export const defaultMaxBodyBytes = 10 * 1024 * 1024

const loopbackHosts = new Set(['127.0.0.1', 'localhost', '::1', '[::1]'])
export function isLoopback(host: string): boolean {
  return loopbackHosts.has(host) || host.startsWith('127.')
}

/** Liveness probes stay open so a load balancer or `curl /ping` works without the token. */
const openPaths = new Set(['/ping', '/health', '/v2/health/live', '/v2/health/ready'])

type Protocol = 'mlflow' | 'v2'

interface Timed {
  startedAt: number
  startedMs: number
  requestId: string
  /** Set once the request is in the metrics and the live view, so a failure is not counted twice. */
  recorded: boolean
}

declare module 'fastify' {
  interface FastifyRequest {
    lathe: Timed
  }
}

const requestIdPattern = /^[\w.:-]{1,128}$/

/**
 * The serving endpoint: MLflow's scoring routes, Open Inference Protocol v2, and
 * Prometheus metrics, on a port of its own. Errors take the shape each protocol's
 * clients expect: `{"error_code", "message"}` on MLflow routes, `{"error"}` on v2.
 */
export async function startServingServer(service: ServingEndpoint, ctx: EngineContext, options: ServingServerOptions): Promise<ServingServer> {
  const host = options.host ?? '127.0.0.1'
  const loopback = isLoopback(host)
  const token = options.token ?? (loopback ? null : randomBytes(24).toString('base64url'))
  const maxBodyBytes = options.maxBodyBytes ?? defaultMaxBodyBytes
  const { default: Fastify } = await import('fastify')
  const app = Fastify({
    logger: false,
    bodyLimit: maxBodyBytes,
    forceCloseConnections: true,
    keepAliveTimeout: 30_000,
    schemaController: schemaCompilersOnDemand,
  })
  let port = 0

  const protocolOf = (url: string): Protocol => (url.startsWith('/v2') ? 'v2' : 'mlflow')

  const sendError = (request: FastifyRequest, reply: FastifyReply, error: LatheError | { status: number; message: string }) => {
    const status = isLatheError(error) ? error.status : error.status
    const field = isLatheError(error) ? error.field : undefined
    const body =
      protocolOf(request.url) === 'v2'
        ? { error: error.message, ...(field ? { field } : {}) }
        : { error_code: mlflowErrorCode(status), message: error.message, ...(field ? { field } : {}) }
    recordRefusal(request, status, error.message)
    return reply.code(status).send(body)
  }

  // Names from URLs label metrics only when deployed: arbitrary names must not grow the label sets.
  const knownModel = (name: string) => (service.deployments.has(name) ? name : '(unknown)')

  /** Requests refused before a model was picked (bad JSON, too large, no such route) still count. */
  const recordRefusal = (request: FastifyRequest, status: number, message: string) => {
    const timed = request.lathe
    if (!timed || timed.recorded) return
    timed.recorded = true
    const params = request.params as { name?: string } | undefined
    service.recordRequest({
      requestId: timed.requestId,
      timeMs: timed.startedMs,
      model: knownModel(params?.name ?? service.deployments.defaultName ?? ''),
      version: null,
      route: protocolOf(request.url) === 'v2' ? 'v2' : request.url.startsWith('/invocations') ? 'invocations' : 'other',
      status,
      latencyMs: performance.now() - timed.startedAt,
      rows: 0,
      error: message,
    })
  }

  app.removeAllContentTypeParsers()
  // Any content type is read as JSON: curl's default form type included, so a missing -H is not a puzzle.
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => {
    const text = body as string
    if (text.length === 0) return done(null, undefined)
    try {
      done(null, JSON.parse(text))
    } catch (error) {
      done(new LatheError('bad_request', `the body is not valid JSON: ${(error as Error).message}`, { field: 'body' }), undefined)
    }
  })

  app.addHook('onRequest', async (request, reply) => {
    const given = request.headers['x-request-id']
    request.lathe = {
      startedAt: performance.now(),
      startedMs: Date.now(),
      requestId: typeof given === 'string' && requestIdPattern.test(given) ? given : randomUUID(),
      recorded: false,
    }
    reply.header('x-request-id', request.lathe.requestId)
    const origin = request.headers.origin
    if (origin !== undefined && isLoopbackOrigin(origin)) {
      // Pages served on loopback (a local notebook, the UI in dev) may call the endpoint; other sites may not read it.
      reply.header('access-control-allow-origin', origin)
      reply.header('access-control-expose-headers', 'x-request-id')
      reply.header('vary', 'origin')
      if (request.method === 'OPTIONS') {
        reply.header('access-control-allow-methods', 'GET, POST')
        reply.header('access-control-allow-headers', 'content-type, authorization, x-request-id')
        return reply.code(204).send()
      }
    }
    if (loopback) {
      // A page on some other site must not reach the endpoint through a DNS-rebound name.
      const hostHeader = (request.headers.host ?? '').replace(/:\d+$/, '')
      if (!isLoopback(hostHeader)) return sendError(request, reply, new LatheError('forbidden', `Host "${request.headers.host}" is not this server's address`))
    }
    if (token && !openPaths.has(request.url.split('?')[0]!) && !hasToken(request.headers.authorization, token)) {
      return sendError(request, reply, new LatheError('unauthorized', 'missing or wrong token: send "Authorization: Bearer <token>" (shown by lathe serve)'))
    }
  })

  app.setErrorHandler((error, request, reply) => {
    if (isLatheError(error)) return sendError(request, reply, error)
    const status = (error as { statusCode?: number }).statusCode
    if (status === 413)
      return sendError(request, reply, new LatheError('too_large', `the body is larger than the server's limit of ${maxBodyBytes} bytes`, { field: 'body' }))
    if (status && status >= 400 && status < 500) return sendError(request, reply, new LatheError('bad_request', (error as Error).message))
    const message = `internal error (${(error as Error).message})`
    process.emitWarning(`lathe serving: ${(error as Error).stack ?? String(error)}`)
    return sendError(request, reply, { status: 500, message })
  })

  app.setNotFoundHandler((request, reply) =>
    sendError(
      request,
      reply,
      new LatheError('not_found', `no route ${request.method} ${request.url.split('?')[0]}; see /v2/models/{name}, /invocations, /metrics`),
    ),
  )

  /** Runs one prediction request end to end and records it whatever happens. */
  const infer = async (
    request: FastifyRequest,
    reply: FastifyReply,
    route: string,
    model: string,
    pick: () => ServedVersion | Promise<ServedVersion>,
    parse: (body: unknown, served: ServedVersion) => InputBatch,
    answer: (served: ServedVersion, result: PredictResult) => unknown,
  ) => {
    const { requestId, startedAt, startedMs } = request.lathe
    request.lathe.recorded = true
    let served: ServedVersion | null = null
    let rows = 0
    try {
      served = await pick()
      const batch = parse(request.body, served)
      rows = batch.rows
      const result = await service.predict(served, batch, requestId)
      reply.header('x-model-name', served.model).header('x-model-version', String(served.version))
      const body = answer(served, result)
      const logging = service.deployments.isLogging(served.model)
      service.recordRequest({
        requestId,
        timeMs: startedMs,
        model: served.model,
        version: served.version,
        route,
        status: 200,
        latencyMs: performance.now() - startedAt,
        rows,
        error: null,
        logged: logging ? { batch, predictions: result.predictions, classes: served.signature.classes, outOfRange: result.outOfRange } : undefined,
      })
      return body
    } catch (error) {
      const status = isLatheError(error) ? error.status : 500
      service.recordRequest({
        requestId,
        timeMs: startedMs,
        model: served?.model ?? knownModel(model),
        version: served?.version ?? null,
        route,
        status,
        latencyMs: performance.now() - startedAt,
        rows,
        error: (error as Error).message,
      })
      throw error
    }
  }

  const ok = { status: 'ok' }
  app.get('/ping', async () => ok)
  app.get('/health', async () => ok)

  app.post<{ Querystring: { probabilities?: string } }>('/invocations', (request, reply) => {
    const model = service.deployments.defaultName
    if (model === null) throw new LatheError('unavailable', 'no model is deployed: deploy one (lathe serve --model M) first')
    const withProbabilities = request.query.probabilities === 'true' || request.query.probabilities === '1'
    return infer(
      request,
      reply,
      'invocations',
      model,
      () => service.deployments.current(model),
      (body, s) => parseMlflowPayload(body, s.signature, s.loaded.columnRules),
      (s, r) => {
        // MLflow's body has no place for warnings: they go in a header, one entry per flagged column.
        if (r.outOfRange) reply.header('x-lathe-warning', r.outOfRange.summary.map(describeOutOfRange).join('; '))
        return mlflowBody(r.predictions, s.signature, r.requestId, withProbabilities)
      },
    )
  })

  app.get('/v2', async () => ({ name: 'lathe', version: '1', extensions: [] }))
  app.get('/v2/health/live', async () => ({ live: true }))
  app.get('/v2/health/ready', async (_request, reply) => {
    const all = service.deployments.list()
    const ready = all.length > 0 && all.every((d) => d.status === 'ready')
    return reply.code(ready ? 200 : 503).send({ ready })
  })

  type ModelParams = { name: string; version?: string }
  const pickV2 = (params: ModelParams) => () =>
    params.version === undefined ? service.deployments.current(params.name) : service.deployments.pinned(params.name, parseVersion(params.version))

  const metadata = async (request: FastifyRequest<{ Params: ModelParams }>) => {
    const served = await pickV2(request.params)()
    const tensor = (t: { name: string; dtype: string; shape: Array<number | null> }) => ({
      name: t.name,
      datatype: v2Datatype(t.dtype),
      shape: t.shape.map((d) => d ?? -1),
    })
    return {
      name: served.model,
      versions: [String(served.version)],
      platform: 'onnxruntime',
      inputs: served.signature.inputs.map(tensor),
      outputs: served.signature.outputs.map(tensor),
      parameters: { task: served.signature.task, classes: served.signature.classes, columns: served.signature.columns },
    }
  }
  const ready = async (request: FastifyRequest<{ Params: ModelParams }>) => {
    const served = await pickV2(request.params)()
    return { name: served.model, version: String(served.version), ready: true }
  }
  app.get<{ Params: ModelParams }>('/v2/models/:name', metadata)
  app.get<{ Params: ModelParams }>('/v2/models/:name/versions/:version', metadata)
  app.get<{ Params: ModelParams }>('/v2/models/:name/ready', ready)
  app.get<{ Params: ModelParams }>('/v2/models/:name/versions/:version/ready', ready)

  const inferV2 = (request: FastifyRequest<{ Params: ModelParams }>, reply: FastifyReply) => {
    const body = request.body as { id?: unknown; outputs?: Array<{ name?: unknown }> } | undefined
    if (body && typeof body.id === 'string' && requestIdPattern.test(body.id)) request.lathe.requestId = body.id
    const wanted = Array.isArray(body?.outputs) ? body.outputs.map((o) => String(o?.name)) : null
    return infer(
      request,
      reply,
      'v2',
      request.params.name,
      pickV2(request.params),
      (b, s) => parseV2Payload(b, s.signature, s.loaded.columnRules),
      (s, r) => {
        const body = v2Body(r.outputs, s.model, s.version, r.requestId, wanted)
        if (r.outOfRange) body.parameters = { warnings: r.outOfRange.summary.map(describeOutOfRange), out_of_range: r.outOfRange.summary }
        return body
      },
    )
  }
  app.post<{ Params: ModelParams }>('/v2/models/:name/infer', inferV2)
  app.post<{ Params: ModelParams }>('/v2/models/:name/versions/:version/infer', inferV2)

  app.post<{ Params: { name: string } }>('/v2/models/:name/feedback', async (request) => {
    const body = request.body as { items?: unknown } | unknown[] | undefined
    const items = Array.isArray(body) ? body : (body as { items?: unknown } | undefined)?.items
    if (!Array.isArray(items)) throw new LatheError('bad_request', 'send {"items": [{"request_id", "row_index"?, "label"}, ...]}', { field: 'items' })
    // Monitoring owns feedback and sits above serving, so the label goes through the contract.
    return ctx.call('monitoring.feedback', { model: request.params.name, items })
  })

  app.get('/metrics', async (_request, reply) => {
    const metrics = service.metrics!
    const text = await metrics.registry.metrics()
    return reply.header('content-type', metrics.registry.contentType).send(text)
  })

  try {
    await app.listen({ port: options.port ?? defaultServingPort, host })
  } catch (error) {
    const e = error as NodeJS.ErrnoException
    if (e.code === 'EADDRINUSE')
      throw new LatheError('in_use', `port ${options.port ?? defaultServingPort} on ${host} is already in use: choose another with --port`, { field: 'port' })
    throw error
  }
  const address = app.server.address()
  port = typeof address === 'object' && address ? address.port : (options.port ?? defaultServingPort)
  const urlHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host
  return {
    url: `http://${urlHost}:${port}`,
    host,
    port,
    token,
    maxBodyBytes,
    close: () => app.close(),
  }
}

function parseVersion(text: string): number {
  if (!/^\d+$/.test(text)) throw new LatheError('bad_request', `version "${text}" is not a version number`, { field: 'version' })
  return Number(text)
}

function hasToken(header: string | undefined, token: string): boolean {
  if (!header?.startsWith('Bearer ')) return false
  const given = Buffer.from(header.slice(7))
  const want = Buffer.from(token)
  return given.length === want.length && timingSafeEqual(given, want)
}

function isLoopbackOrigin(origin: string): boolean {
  try {
    const url = new URL(origin)
    return url.protocol === 'http:' && isLoopback(url.hostname)
  } catch {
    // Not a URL (e.g. "null" from a file:// page): no CORS grant.
    return false
  }
}

function mlflowErrorCode(status: number): string {
  if (status === 404) return 'RESOURCE_DOES_NOT_EXIST'
  if (status === 401) return 'UNAUTHENTICATED'
  if (status === 403) return 'PERMISSION_DENIED'
  if (status === 503) return 'TEMPORARILY_UNAVAILABLE'
  if (status >= 500) return 'INTERNAL_ERROR'
  return 'BAD_REQUEST'
}
