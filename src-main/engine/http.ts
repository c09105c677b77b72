import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto'
import fs from 'node:fs'
import net from 'node:net'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { z } from 'zod'
import type { Engine } from './engine.js'
import { LatheError, isLatheError, type LatheErrorBody } from './api/common/errors.js'
import { mlflowApiRoutes, mlflowArtifactRoutes, mlflowUnsupportedRoutes } from './mlflow/index.js'
import { persistentApiToken, rememberApiPort, rememberedApiPort } from './workspace/index.js'
import { isOperationName, operations } from './contract.js'
import { faviconIco, receiveUpload, schemaCompilersOnDemand } from './api/index.js'

export interface ApiServerOptions {
  port?: number
  host?: string
  /** The built renderer, served at `/` for `lathe ui`. */
  staticDir?: string
  /** Origins besides the server's own that may call it (the desktop renderer's). */
  allowedOrigins?: string[]
  token?: string
}

export interface ApiServer {
  url: string
  /** The bearer token now (it survives restarts; `lathe token --rotate` changes it). */
  readonly token: string
  port: number
  close(): Promise<void>
}

const MAX_BODY_BYTES = 64 * 1024 * 1024

/**
 * The engine API over HTTP: `POST /api/v1/<operation>` (JSON in, JSON out) and
 * `GET /api/v1/events` (server-sent events). Loopback only, a bearer token per
 * launch, and a Host/Origin check so a web page in the user's browser cannot reach
 * it through DNS rebinding or a cross-site request.
 */
export async function startApiServer(engine: Engine, options: ApiServerOptions = {}): Promise<ApiServer> {
  const db = engine.workspace.db
  const currentToken = () => options.token ?? persistentApiToken(db)
  const host = options.host ?? '127.0.0.1'
  // fastify loads when a server starts, not with every CLI command.
  const { default: Fastify } = await import('fastify')
  const app = Fastify({ logger: false, bodyLimit: MAX_BODY_BYTES, forceCloseConnections: true, schemaController: schemaCompilersOnDemand })
  let port = 0

  const allowedHosts = () => new Set([`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, `${host}:${port}`])
  const allowedOrigins = () => new Set([...[...allowedHosts()].map((h) => `http://${h}`), ...(options.allowedOrigins ?? [])])

  const sendError = (reply: FastifyReply, error: LatheError) => reply.code(error.status).send({ error: error.toBody() satisfies LatheErrorBody })
  // MLflow's client reads {"error_code","message"}; its routes get refusals in that shape.
  const refuse = (request: FastifyRequest, reply: FastifyReply, error: LatheError) =>
    request.url.startsWith('/api/2.0/')
      ? reply.code(error.status).send({ error_code: error.code === 'unauthorized' ? 'UNAUTHENTICATED' : 'PERMISSION_DENIED', message: error.message })
      : sendError(reply, error)

  // Cookies are scoped by host, not port: each engine names its own.
  const cookieName = () => `lathe_session_${port}`

  app.addHook('onRequest', async (request, reply) => {
    if (!allowedHosts().has(request.headers.host ?? '')) {
      return refuse(request, reply, new LatheError('forbidden', `Host "${request.headers.host}" is not this engine's address`))
    }
    const origin = request.headers.origin
    if (origin !== undefined && !allowedOrigins().has(origin)) {
      return refuse(request, reply, new LatheError('forbidden', `requests from origin ${origin} are not allowed`))
    }
    if (!request.url.startsWith('/api/')) return
    if (!hasToken(request, currentToken(), cookieName())) {
      return refuse(request, reply, new LatheError('unauthorized', 'missing or wrong API token (Authorization: Bearer <token>; `lathe mlflow-env` prints it)'))
    }
  })

  app.setErrorHandler((error, _request, reply) => {
    if (isLatheError(error)) return sendError(reply, error)
    const status = (error as { statusCode?: number }).statusCode
    if (status && status >= 400 && status < 500) {
      const code = status === 413 ? 'too_large' : 'bad_request'
      return sendError(reply, new LatheError(code, `bad request: ${(error as Error).message}`))
    }
    const message = engine.log.internalError('HTTP API', error)
    return reply.code(500).send({ error: { code: 'internal', message } })
  })

  // The page trades the token from its URL for a cookie the page's script cannot read,
  // so a second tab, a reload and a bookmark of the same engine are signed in too.
  app.post('/api/v1/session', async (_request, reply) => {
    reply.header('set-cookie', `${cookieName()}=${currentToken()}; HttpOnly; SameSite=Strict; Path=/`)
    return { ok: true }
  })

  // A file of any size for an operation (data.import { upload }), streamed to tmp/, not held in memory.
  await app.register(async (scope) => {
    scope.addContentTypeParser('*', { bodyLimit: Number.MAX_SAFE_INTEGER }, (_request, payload, done) => done(null, payload))
    scope.post<{ Querystring: { fileName?: string } }>('/api/v1/uploads', { bodyLimit: Number.MAX_SAFE_INTEGER }, async (request) => {
      const fileName = request.query.fileName ?? ''
      if (!fileName) throw new LatheError('bad_request', 'an upload needs ?fileName=NAME (its extension tells the format)', { field: 'fileName' })
      return receiveUpload(engine.workspace.tmpDir, fileName, request.body as import('node:stream').Readable, randomUUID())
    })
  })

  app.get('/favicon.ico', async (_request, reply) => reply.type('image/x-icon').header('cache-control', 'max-age=86400').send(faviconIco()))

  app.get('/api/v1/operations', async () =>
    Object.entries(operations).map(([name, op]) => ({
      name,
      summary: op.summary,
      input: z.toJSONSchema(op.input, { io: 'input', unrepresentable: 'any' }),
      output: z.toJSONSchema(op.output, { unrepresentable: 'any' }),
    })),
  )

  app.post<{ Params: { operation: string } }>('/api/v1/:operation', async (request) => {
    const name = request.params.operation
    if (!isOperationName(name)) throw new LatheError('not_found', `unknown operation "${name}"`, { field: 'operation' })
    return engine.call(name, request.body ?? {})
  })

  app.get<{ Querystring: { topics?: string } }>('/api/v1/events', (request, reply) => {
    const topics = (request.query.topics ?? '').split(',').filter(Boolean)
    reply.hijack()
    const res = reply.raw
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    })
    res.write(': connected\n\n')
    const unsubscribe = engine.events.subscribeAny(topics, (event) => {
      res.write(`data: ${JSON.stringify(event)}\n\n`)
    })
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), 15_000)
    request.raw.on('close', () => {
      clearInterval(heartbeat)
      unsubscribe()
    })
  })

  const mlflow = { ctx: engine.context, internalError: (error: unknown) => engine.log.internalError('MLflow API', error) }
  await app.register(mlflowApiRoutes, { ...mlflow, prefix: '/api/2.0/mlflow' })
  await app.register(mlflowArtifactRoutes, { ...mlflow, prefix: '/api/2.0/mlflow-artifacts' })
  for (const prefix of ['/api/3.0', '/ajax-api']) await app.register(mlflowUnsupportedRoutes, { ...mlflow, prefix })

  if (options.staticDir) {
    if (!fs.existsSync(options.staticDir)) {
      throw new LatheError('unavailable', `the UI is not built (${options.staticDir} is missing): run "npm run build"`)
    }
    const { default: fastifyStatic } = await import('@fastify/static')
    await app.register(fastifyStatic, { root: options.staticDir, prefix: '/', index: 'index.html' })
  }

  // No port asked for (the desktop app): the one used last time, if free, so scripts' MLFLOW_TRACKING_URI still works.
  const remembered = options.port === undefined ? rememberedApiPort(db) : null
  const listenPort = options.port ?? (remembered !== null && (await portIsFree(host, remembered)) ? remembered : 0)
  try {
    await app.listen({ port: listenPort, host })
  } catch (error) {
    const e = error as NodeJS.ErrnoException
    if (e.code === 'EADDRINUSE') throw new LatheError('in_use', `port ${options.port} on ${host} is already in use`, { field: 'port' })
    throw error
  }
  const address = app.server.address()
  port = typeof address === 'object' && address ? address.port : listenPort
  if (options.port === undefined) rememberApiPort(db, port)
  const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host
  const url = `http://${urlHost}:${port}`
  return {
    url,
    get token() {
      return currentToken()
    },
    port,
    close: () => closeServer(app),
  }
}

function portIsFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer()
    probe.once('error', () => resolve(false))
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve(true)))
  })
}

function hasToken(request: FastifyRequest, token: string, cookieName: string): boolean {
  const header = request.headers.authorization ?? ''
  const given = header.startsWith('Bearer ') ? header.slice(7) : cookieValue(request.headers.cookie, cookieName)
  const a = Buffer.from(given)
  const b = Buffer.from(token)
  return a.length === b.length && timingSafeEqual(a, b)
}

function cookieValue(header: string | undefined, name: string): string {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=')
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim()
  }
  return ''
}

async function closeServer(app: FastifyInstance): Promise<void> {
  await app.close()
}
