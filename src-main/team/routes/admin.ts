import { z } from 'zod'
import { LatheError } from '../../engine/api/common/errors.js'
import { parseInput } from '../../engine/api/index.js'
import {
  ROLES,
  addProject,
  addUser,
  createToken,
  grantRole,
  listProjects,
  listTokens,
  listUsers,
  parseDuration,
  revokeToken,
  roleIn,
} from '../accounts.js'
import { listAudit, verifyAudit } from '../audit.js'
import type { TeamModule } from '../context.js'
import { migration001, migration002 } from '../migrations/index.js'

const roleSchema = z.enum(ROLES)
const projectBody = z.object({ name: z.string() })
const userBody = z.object({ name: z.string(), role: roleSchema, project: z.string().nullable().optional() })
const grantBody = z.object({ role: roleSchema, project: z.string().nullable().optional() })
const tokenBody = z.object({ user: z.string(), expires: z.string().nullable().optional() })
const auditQuery = z.object({ after: z.coerce.number().int().nonnegative().optional(), limit: z.coerce.number().int().positive().max(1000).optional() })

/**
 * `/admin/v1/...`: what an admin UI needs. Users, tokens and the audit log need the
 * admin role held everywhere; every user may see who they are, their own projects and
 * tokens, and revoke their own token.
 */
export const adminModule: TeamModule = {
  name: 'admin',
  migrations: [migration001, migration002],
  routes(app, ctx) {
    app.get('/admin/v1/whoami', async (request) => {
      const p = ctx.principal(request)
      return { user: p.userName, tokenId: p.tokenId, role: p.globalRole, projects: p.projectRoles }
    })

    app.get('/admin/v1/projects', async (request) => {
      const p = ctx.principal(request)
      const projects = await listProjects(ctx.db)
      return projects.filter((proj) => roleIn(p, proj.name) !== null).map((proj) => ({ ...proj, role: roleIn(p, proj.name) }))
    })

    app.post('/admin/v1/projects', async (request, reply) => {
      const input = parseInput(projectBody, request.body, 'POST /admin/v1/projects')
      await ctx.authorize(request, null, 'admin', 'project.add')
      reply.code(201)
      return addProject(ctx.db, ctx.actorOf(request), input.name)
    })

    app.get('/admin/v1/users', async (request) => {
      await ctx.authorize(request, null, 'admin', 'user.list')
      return listUsers(ctx.db)
    })

    app.post('/admin/v1/users', async (request, reply) => {
      const input = parseInput(userBody, request.body, 'POST /admin/v1/users')
      await ctx.authorize(request, null, 'admin', 'user.add')
      reply.code(201)
      return addUser(ctx.db, ctx.actorOf(request), input.name, input.role, input.project ?? null)
    })

    app.put<{ Params: { name: string } }>('/admin/v1/users/:name/role', async (request) => {
      const input = parseInput(grantBody, request.body, 'PUT /admin/v1/users/:name/role')
      await ctx.authorize(request, null, 'admin', 'user.grant')
      return grantRole(ctx.db, ctx.actorOf(request), request.params.name, input.role, input.project ?? null)
    })

    app.get('/admin/v1/tokens', async (request) => {
      const p = ctx.principal(request)
      return listTokens(ctx.db, p.globalRole === 'admin' ? undefined : p.userName)
    })

    app.post('/admin/v1/tokens', async (request, reply) => {
      const input = parseInput(tokenBody, request.body, 'POST /admin/v1/tokens')
      const expiresInMs = input.expires ? parseDuration(input.expires) : null
      await ctx.authorize(request, null, 'admin', 'token.create')
      const { token, summary } = await createToken(ctx.db, ctx.actorOf(request), input.user, expiresInMs)
      reply.code(201).header('cache-control', 'no-store')
      return { ...summary, token }
    })

    app.delete<{ Params: { id: string } }>('/admin/v1/tokens/:id', async (request) => {
      const p = ctx.principal(request)
      const own = (await listTokens(ctx.db, p.userName)).some((t) => t.id === request.params.id)
      if (!own) await ctx.authorize(request, null, 'admin', 'token.revoke')
      return revokeToken(ctx.db, ctx.actorOf(request), request.params.id)
    })

    app.get('/admin/v1/audit', async (request) => {
      const query = parseInput(auditQuery, request.query, 'GET /admin/v1/audit')
      await ctx.authorize(request, null, 'admin', 'audit.read')
      return listAudit(ctx.db, query)
    })

    app.get('/admin/v1/audit/verify', async (request) => {
      await ctx.authorize(request, null, 'admin', 'audit.verify')
      return verifyAudit(ctx.db)
    })

    app.get('/admin/v1', async () => {
      throw new LatheError('not_found', 'see docs/team-server.md for the /admin/v1 routes')
    })
  },
}
