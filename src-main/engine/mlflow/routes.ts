import fs from 'node:fs'
import { Readable } from 'node:stream'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { EngineContext } from '../context.js'
import { artifactFile, deleteArtifact, listProxy, listRunArtifacts, putArtifact } from './artifacts.js'
import { loggedModelHandlers } from './logged-models.js'
import { registryHandlers } from './model-registry.js'
import { experimentHandlers } from './experiments.js'
import { runHandlers, type RequestMeta } from './runs.js'
import { asMlflowError, MlflowError, type Message } from './wire.js'

/**
 * MLflow's REST routes on the engine's HTTP server: `/api/2.0/mlflow/...` (tracking,
 * logged models, registry) and `/api/2.0/mlflow-artifacts/...` (the artifact proxy),
 * answering as MLflow's server does: 200 with a JSON object, or
 * `{"error_code","message"}` with MLflow's status for that code. A deterministic
 * error is never a 5xx, because the client retries those (every POST included).
 */
export interface MlflowRoutesOptions {
  ctx: EngineContext
  /** Logs an unexpected error with its stack and returns the line to show. */
  internalError: (error: unknown) => string
}

type Handler = (ctx: EngineContext, m: Message, ...rest: string[]) => unknown
type MetaHandler = (ctx: EngineContext, m: Message, meta: RequestMeta) => unknown

const reads = [
  'experiments/get',
  'experiments/get-by-name',
  'experiments/search',
  'runs/get',
  'runs/search',
  'metrics/get-history',
  'registered-models/get',
  'registered-models/search',
  'registered-models/get-latest-versions',
  'model-versions/get',
  'model-versions/search',
  'model-versions/get-download-uri',
]
const patches = ['registered-models/update', 'model-versions/update']
const deletes = ['registered-models/delete', 'registered-models/delete-tag', 'model-versions/delete', 'model-versions/delete-tag']

function messageOf(request: FastifyRequest): Message {
  const query = (request.query ?? {}) as Message
  const body = request.body
  if (body && typeof body === 'object' && !Array.isArray(body)) return { ...query, ...(body as Message) }
  if (body !== undefined && body !== null && body !== '') throw new MlflowError('BAD_REQUEST', 'The request body must be a JSON object')
  return query
}

function sendError(reply: FastifyReply, error: MlflowError) {
  return reply.code(error.status).type('application/json').send(error.toBody())
}

function installErrors(app: FastifyInstance, options: MlflowRoutesOptions) {
  app.setErrorHandler((error, _request, reply) => {
    const known = asMlflowError(error)
    if (known) return sendError(reply, known)
    return reply
      .code(500)
      .type('application/json')
      .send({ error_code: 'INTERNAL_ERROR', message: options.internalError(error) })
  })
  app.setNotFoundHandler((request, reply) =>
    sendError(
      reply,
      new MlflowError('ENDPOINT_NOT_FOUND', `Unsupported endpoint: ${request.method} ${request.url.split('?')[0]} is not part of Lathe's MLflow API`),
    ),
  )
}

/** The JSON API under /api/2.0/mlflow. */
export async function mlflowApiRoutes(app: FastifyInstance, options: MlflowRoutesOptions): Promise<void> {
  const { ctx } = options
  installErrors(app, options)
  // A body without a JSON content type (some clients send none) is still read as JSON.
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, text, done) => {
    try {
      done(null, (text as string).trim() === '' ? undefined : JSON.parse(text as string))
    } catch (error) {
      done(new MlflowError('BAD_REQUEST', `The request body is not JSON: ${(error as Error).message}`), undefined)
    }
  })
  const meta = (request: FastifyRequest): RequestMeta => ({ client: String(request.headers['user-agent'] ?? 'unknown client').slice(0, 200) })
  const simple: Record<string, Handler | MetaHandler> = { ...experimentHandlers, ...runHandlers, ...registryHandlers }
  for (const [name, handler] of Object.entries(simple)) {
    const spaced = /^(GET|POST|PATCH|DELETE) (.+)$/.exec(name)
    const route = spaced ? spaced[2]! : name
    const methods = spaced
      ? [spaced[1]!]
      : reads.includes(name)
        ? ['GET', 'POST']
        : patches.includes(name)
          ? ['PATCH']
          : deletes.includes(name)
            ? ['DELETE']
            : ['POST']
    app.route({
      method: methods as Array<'GET' | 'POST' | 'PATCH' | 'DELETE'>,
      url: `/${route}`,
      handler: async (request) => (handler as MetaHandler)(ctx, messageOf(request), meta(request)),
    })
  }
  app.route({ method: ['GET', 'POST'], url: '/artifacts/list', handler: async (request) => listRunArtifacts(ctx, messageOf(request)) })
  for (const [name, handler] of Object.entries(loggedModelHandlers)) {
    const [method, route] = name.split(' ') as ['GET' | 'POST' | 'PATCH' | 'DELETE', string]
    app.route({
      method,
      url: `/${route}`,
      handler: async (request) => {
        const params = request.params as Record<string, string>
        return (handler as Handler)(ctx, messageOf(request), params.id ?? '', params.key ?? '')
      },
    })
  }
}

/** The artifact proxy under /api/2.0/mlflow-artifacts: raw bodies of any type and size, streamed. */
export async function mlflowArtifactRoutes(app: FastifyInstance, options: MlflowRoutesOptions): Promise<void> {
  const { ctx } = options
  installErrors(app, options)
  // fastify would refuse application/octet-stream (415) and text over its body limit
  // (413); every upload here is a stream to staging instead, of any type and size.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (_request, payload, done) => done(null, payload))

  app.get('/artifacts', async (request) => listProxy(ctx, messageOf(request)))
  app.put<{ Params: { '*': string } }>('/artifacts/*', async (request) => {
    const body = (request.body as Readable | undefined) ?? Readable.from([])
    await putArtifact(ctx, request.params['*'], body, request.headers['content-type'])
    return {}
  })
  app.get<{ Params: { '*': string } }>('/artifacts/*', async (request, reply) => {
    const path = request.params['*']
    if (path.replace(/\/+$/, '') === '') return listProxy(ctx, messageOf(request))
    const file = artifactFile(ctx, path)
    const name = file.path.slice(file.path.lastIndexOf('/') + 1)
    return reply
      .type(file.contentType)
      .header('content-length', file.size)
      .header('content-disposition', `attachment; filename="${name.replace(/["\\]/g, '_')}"`)
      .send(fs.createReadStream(file.file))
  })
  app.delete<{ Params: { '*': string } }>('/artifacts/*', async (request) => {
    deleteArtifact(ctx, request.params['*'])
    return {}
  })
  app.post('/mpu/*', async () => {
    throw new MlflowError('NOT_IMPLEMENTED', 'Multipart upload is not supported for the current artifact repository')
  })
}

/** MLflow paths Lathe does not serve (`/api/3.0/...`: traces, scorers, datasets; `/ajax-api`): MLflow's 404, not Lathe's. */
export async function mlflowUnsupportedRoutes(app: FastifyInstance, options: MlflowRoutesOptions): Promise<void> {
  installErrors(app, options)
}
