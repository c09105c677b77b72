import fs from 'node:fs'
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import { LatheError, isLatheError, type LatheErrorBody } from '../engine/api/common/errors.js'
import { schemaCompilersOnDemand } from '../engine/api/index.js'
import { atLeast, checkToken, roleIn, type Principal } from './accounts.js'
import { recordAudit, type AuditActor } from './audit.js'
import { BlobStore, lockObjectsDir } from './blobs.js'
import type { TeamContext, TeamModule } from './context.js'
import type { Db } from './db.js'
import { allMigrations, teamModules } from './modules.js'
import { requireCurrentSchema } from './migrate.js'
import { Uploads } from './uploads.js'

export interface TeamServerOptions {
  db: Db
  objectsDir: string
  modules?: TeamModule[]
  tls?: { cert: string; key: string }
  /** pino level for the structured log on stderr ('silent' in tests). */
  logLevel?: string
  uploadTtlMs?: number
  maxBlobBytes?: number
  /** How often stale uploads are swept (ms). */
  sweepEveryMs?: number
}

export interface TeamServer {
  app: FastifyInstance
  ctx: TeamContext
  url: string
  close(): Promise<void>
}

const DAY = 24 * 3600 * 1000

declare module 'fastify' {
  interface FastifyRequest {
    teamPrincipal?: Principal
  }
}

/**
 * The team server: one fastify app with /health, /metrics, bearer-token auth on every
 * other request, JSON errors, and the routes of every module (blobs, admin, sync).
 */
export async function createTeamServer(options: TeamServerOptions): Promise<Omit<TeamServer, 'url'> & { listen(host: string, port: number): Promise<string> }> {
  const modules = options.modules ?? teamModules
  await requireCurrentSchema(options.db, allMigrations(modules))
  const blobs = new BlobStore(options.objectsDir)
  await blobs.prepare()
  const unlock = lockObjectsDir(options.objectsDir)
  const uploads = new Uploads(options.db, blobs, {
    ttlMs: options.uploadTtlMs ?? DAY,
    maxBlobBytes: options.maxBlobBytes ?? 256 * 1024 ** 3,
  })
  try {
    await uploads.sweep({ atStart: true })
  } catch (error) {
    unlock()
    throw error
  }

  const app = Fastify({
    logger: { level: options.logLevel ?? 'info', stream: process.stderr },
    https: options.tls ? { cert: fs.readFileSync(options.tls.cert), key: fs.readFileSync(options.tls.key) } : null,
    bodyLimit: 4 * 1024 * 1024,
    exposeHeadRoutes: false,
    forceCloseConnections: true,
    schemaController: schemaCompilersOnDemand,
  }) as unknown as FastifyInstance

  const metrics = new Registry()
  collectDefaultMetrics({ register: metrics, prefix: 'lathe_team_' })
  const requests = new Counter({
    name: 'lathe_team_http_requests_total',
    help: 'HTTP requests by route, method and status',
    labelNames: ['route', 'method', 'status'],
    registers: [metrics],
  })
  const duration = new Histogram({
    name: 'lathe_team_http_request_duration_seconds',
    help: 'HTTP request duration by route',
    labelNames: ['route'],
    buckets: [0.001, 0.005, 0.02, 0.1, 0.5, 2, 10, 60],
    registers: [metrics],
  })
  const authFailures = new Counter({
    name: 'lathe_team_auth_failures_total',
    help: 'Requests refused for a missing, unknown, revoked or expired token, or a role too low',
    labelNames: ['reason'],
    registers: [metrics],
  })

  const actorOf = (request: FastifyRequest): AuditActor => {
    const p = request.teamPrincipal
    const header = (name: string) => {
      const v = request.headers[name]
      return typeof v === 'string' && v.length <= 200 ? v : null
    }
    return { userId: p?.userId ?? null, userName: p?.userName ?? '(anonymous)', clientId: header('lathe-client-id'), clientTime: header('lathe-client-time') }
  }

  const ctx: TeamContext = {
    db: options.db,
    blobs,
    uploads,
    metrics,
    log: app.log,
    principal(request) {
      if (!request.teamPrincipal) throw new LatheError('unauthorized', 'this request needs a bearer token (Authorization: Bearer <token>)')
      return request.teamPrincipal
    },
    async authorize(request, project, minimum, action) {
      const principal = ctx.principal(request)
      const role = roleIn(principal, project)
      if (atLeast(role, minimum)) return principal
      authFailures.inc({ reason: 'forbidden' })
      await recordAudit(options.db, {
        actor: actorOf(request),
        action,
        outcome: 'refused',
        project,
        detail: { reason: 'forbidden', role, needs: minimum },
      })
      const where = project === null ? 'on this server' : `in project "${project}"`
      throw new LatheError('forbidden', `${principal.userName} is ${role ? `a ${role}` : 'not a member'} ${where}; ${action} needs ${minimum} or above`)
    },
    actorOf,
  }

  const sendError = (reply: FastifyReply, error: LatheError) => {
    // Refused before its body was read (a chunk at the wrong offset): close rather than leave the client's bytes on a kept-alive socket.
    if (!reply.request.raw.complete) reply.header('connection', 'close')
    return reply.code(error.status).send({ error: error.toBody() satisfies LatheErrorBody })
  }

  app.addHook('onRequest', async (request, reply) => {
    if (request.routeOptions.config?.public) return
    const header = request.headers.authorization
    const token = typeof header === 'string' && /^Bearer\s+/i.test(header) ? header.replace(/^Bearer\s+/i, '').trim() : ''
    if (!token) {
      authFailures.inc({ reason: 'missing' })
      return sendError(reply, new LatheError('unauthorized', 'this request needs a bearer token (Authorization: Bearer <token>)'))
    }
    const check = await checkToken(options.db, token)
    if (!check.ok) {
      authFailures.inc({ reason: check.reason })
      if (check.userId) {
        await recordAudit(options.db, {
          actor: { userId: check.userId, userName: check.userName!, clientId: null, clientTime: null },
          action: `${request.method} ${request.routeOptions.url ?? request.url}`,
          outcome: 'refused',
          target: check.tokenId,
          detail: { reason: `token ${check.reason}` },
        })
      }
      const why =
        check.reason === 'unknown'
          ? 'is not a token this server issued'
          : `was ${check.reason === 'revoked' ? 'revoked' : 'valid until its expiry, which has passed'}`
      return sendError(reply, new LatheError('unauthorized', `the bearer token ${why}; ask an admin for a new one (lathe team-server tokens create USER)`))
    }
    request.teamPrincipal = check.principal
  })

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched'
    requests.inc({ route, method: request.method, status: String(reply.statusCode) })
    duration.observe({ route }, reply.elapsedTime / 1000)
  })

  app.setNotFoundHandler((request, reply) =>
    sendError(reply, new LatheError('not_found', `no route ${request.method} ${request.url.split('?')[0]} on this team server`)),
  )

  app.setErrorHandler((error, request, reply) => {
    if (isLatheError(error)) return sendError(reply, error)
    const status = (error as { statusCode?: number }).statusCode
    if (status && status >= 400 && status < 500) {
      const code = status === 413 ? 'too_large' : status === 415 ? 'bad_request' : 'bad_request'
      return sendError(reply, new LatheError(code, `bad request: ${(error as Error).message}`))
    }
    request.log.error({ err: error }, 'internal error')
    return reply.code(500).send({ error: { code: 'internal', message: `internal error (${(error as Error).message}); see the server log` } })
  })

  app.get('/health', { config: { public: true } }, async () => ({ ok: true }))
  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', metrics.contentType)
    return metrics.metrics()
  })

  for (const m of modules) await m.routes?.(app, ctx)

  const sweeper = setInterval(
    () => {
      uploads.sweep().catch((error) => app.log.error({ err: error }, 'sweeping stale uploads failed'))
    },
    options.sweepEveryMs ?? 10 * 60 * 1000,
  )
  sweeper.unref()

  return {
    app,
    ctx,
    async listen(host, port) {
      return app.listen({ host, port })
    },
    async close() {
      clearInterval(sweeper)
      await app.close()
      unlock()
    },
  }
}

/** Whether an address is loopback-only (anything else needs TLS in front). */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host)
}
