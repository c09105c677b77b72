import type { FastifyBaseLogger, FastifyInstance, FastifyRequest } from 'fastify'
import type { Registry } from 'prom-client'
import type { Principal, Role } from './accounts.js'
import type { AuditActor } from './audit.js'
import type { BlobStore } from './blobs.js'
import type { Db } from './db.js'
import type { TeamMigration } from './migrate.js'
import type { Uploads } from './uploads.js'

/** What a route module gets: the database, the blobs, and the one way to check who may do what. */
export interface TeamContext {
  db: Db
  blobs: BlobStore
  uploads: Uploads
  metrics: Registry
  log: FastifyBaseLogger
  /** The request's user (every route but public ones has one; the auth hook refused the rest with 401). */
  principal(request: FastifyRequest): Principal
  /**
   * Throws a 403 (recorded in the audit log as refused) unless the request's user holds
   * at least `minimum` in `project` (null: a role held everywhere, as admins need).
   */
  authorize(request: FastifyRequest, project: string | null, minimum: Role, action: string): Promise<Principal>
  /** The audit actor of a request: the token's user, plus the client id and time the client sent (Lathe-Client-Id, Lathe-Client-Time). */
  actorOf(request: FastifyRequest): AuditActor
}

/**
 * A part of the server: its migrations (numbers owned by area: 001-009 core, 010+
 * sync) and its routes. The server runs every module's migrations in order and
 * registers every module's routes; adding one is one line in modules.ts.
 */
export interface TeamModule {
  name: string
  migrations: TeamMigration[]
  routes?(app: FastifyInstance, ctx: TeamContext): void | Promise<void>
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Answered without a bearer token (/health). */
    public?: boolean
  }
}
