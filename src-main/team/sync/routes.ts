import { createHash } from 'node:crypto'
import { z } from 'zod'
import { LatheError } from '../../engine/api/common/errors.js'
import { parseInput } from '../../engine/api/index.js'
import { roleIn } from '../accounts.js'
import type { TeamContext, TeamModule } from '../context.js'
import {
  digestLine,
  digestOf,
  MAX_BATCH_BYTES,
  PushRequest,
  ResendRequest,
  type Change,
  type ChangeKind,
  type DigestKind,
  type OpResult,
  type PullResponse,
} from '../../engine/api/common/sync-protocol.js'
import { answerDuplicates, applyBatch, protectedAliases, TokenRevoked } from './apply.js'
import { appendAudit } from '../audit.js'
import { inTransaction } from '../db.js'
import { syncMigration010, syncMigration011, syncMigration012 } from './migrations.js'

const ProjectQuery = z.object({ project: z.string().min(1) })
const AliasList = z.object({
  project: z.string().min(1),
  aliases: z
    .array(z.string().regex(/^[a-z][a-z0-9_-]{0,63}$/, 'an alias name: lowercase letters, digits, - and _, starting with a letter'))
    .max(100)
    .refine((a) => new Set(a).size === a.length, 'each alias once'),
})
const PullQuery = ProjectQuery.extend({
  after: z.coerce.number().int().nonnegative().default(0),
  limit: z.coerce.number().int().min(1).max(5000).default(500),
})

/**
 * `/sync/v1/...`: push (ops in order, each whole or absent; see applyBatch), pull (the change log after a
 * sequence number), digest (what both sides compare), whoami (for `lathe team connect`).
 */
export const syncModule: TeamModule = {
  name: 'sync',
  migrations: [syncMigration010, syncMigration011, syncMigration012],
  routes(app, ctx) {
    app.get('/sync/v1/whoami', async (request) => {
      const { project } = parseInput(ProjectQuery, request.query, 'GET /sync/v1/whoami')
      const principal = ctx.principal(request)
      return { user: principal.userName, role: roleIn(principal, project) }
    })

    // A batch is at most 8 MiB of ops; the JSON around them needs a little more.
    app.post('/sync/v1/push', { bodyLimit: MAX_BATCH_BYTES + 1024 * 1024 }, async (request) => {
      const input = parseInput(PushRequest, request.body, 'POST /sync/v1/push')
      const principal = await ctx.authorize(request, input.project, 'member', 'sync.push')
      const base = { db: ctx.db, blobs: ctx.blobs, project: input.project, principal, role: roleIn(principal, input.project), actor: ctx.actorOf(request) }
      const results: OpResult[] = []
      try {
        await applyBatch(base, input.ops, results)
      } catch (error) {
        if (error instanceof TokenRevoked) {
          throw new LatheError(
            'unauthorized',
            `the bearer token was revoked or expired during this push; ${results.length} of ${input.ops.length} ops were applied before it`,
          )
        }
        throw error
      }
      return { results }
    })

    // A resend by op id: answers `duplicate` for the ops applied already; the client pushes the others whole.
    // 5000 op ids of up to 400 characters each.
    app.post('/sync/v1/resend', { bodyLimit: 4 * 1024 * 1024 }, async (request) => {
      const input = parseInput(ResendRequest, request.body, 'POST /sync/v1/resend')
      const principal = await ctx.authorize(request, input.project, 'member', 'sync.push')
      const base = { db: ctx.db, blobs: ctx.blobs, project: input.project, principal, role: roleIn(principal, input.project), actor: ctx.actorOf(request) }
      try {
        return { results: [...(await answerDuplicates(base, input.ops)).values()] }
      } catch (error) {
        if (error instanceof TokenRevoked)
          throw new LatheError('unauthorized', 'the bearer token was revoked or expired during this resend; nothing was answered')
        throw error
      }
    })

    // Which aliases only maintainers may move in a project (default: production alone).
    app.get('/sync/v1/protected-aliases', async (request) => {
      const { project } = parseInput(ProjectQuery, request.query, 'GET /sync/v1/protected-aliases')
      await ctx.authorize(request, project, 'viewer', 'sync.protected_aliases.read')
      return { project, aliases: await protectedAliases(ctx.db, project) }
    })

    app.put('/sync/v1/protected-aliases', async (request) => {
      const input = parseInput(AliasList, request.body, 'PUT /sync/v1/protected-aliases')
      const principal = await ctx.authorize(request, input.project, 'maintainer', 'sync.protected_aliases.set')
      const known = await ctx.db.query('SELECT 1 FROM projects WHERE name = $1', [input.project])
      if (!known.rowCount) throw new LatheError('not_found', `no project "${input.project}" on this server`, { field: 'project' })
      return inTransaction(ctx.db, async (tx) => {
        const before = await protectedAliases(tx, input.project)
        await tx.query(
          `INSERT INTO sync_protected_aliases (project, aliases, set_by) VALUES ($1, $2, $3)
           ON CONFLICT (project) DO UPDATE SET aliases = excluded.aliases, set_by = excluded.set_by, set_at = now()`,
          [input.project, input.aliases, principal.userName],
        )
        await appendAudit(tx, {
          actor: ctx.actorOf(request),
          action: 'sync.protected_aliases.set',
          outcome: 'accepted',
          project: input.project,
          target: input.project,
          detail: { before, after: input.aliases },
        })
        return { project: input.project, aliases: input.aliases }
      })
    })

    app.get('/sync/v1/pull', async (request): Promise<PullResponse> => {
      const q = parseInput(PullQuery, request.query, 'GET /sync/v1/pull')
      await ctx.authorize(request, q.project, 'viewer', 'sync.pull')
      return pull(ctx, q.project, q.after, q.limit)
    })

    app.get('/sync/v1/digest', async (request) => {
      const { project } = parseInput(ProjectQuery, request.query, 'GET /sync/v1/digest')
      await ctx.authorize(request, project, 'viewer', 'sync.digest')
      return serverDigest(ctx, project)
    })
  },
}

async function pull(ctx: TeamContext, project: string, after: number, limit: number): Promise<PullResponse> {
  const { rows } = await ctx.db.query<{
    seq: string
    kind: ChangeKind
    id: string
    at: Date
    number: number | null
    body: Record<string, unknown> | null
    origin_client: string | null
    user_name: string | null
  }>(
    `SELECT c.seq, c.kind, c.id, c.at, r.number, r.body, r.origin_client, r.user_name FROM sync_changes c
     LEFT JOIN sync_records r ON r.project = c.project AND r.kind = c.kind AND r.id = c.id
     WHERE c.project = $1 AND c.seq > $2 ORDER BY c.seq LIMIT $3`,
    [project, after, limit + 1],
  )
  const more = rows.length > limit
  const changes: Change[] = []
  for (const row of rows.slice(0, limit)) {
    let body = row.body
    let originClient = row.origin_client
    let user = row.user_name
    if (row.kind === 'segment') {
      const [runId, name, segment] = JSON.parse(row.id) as [string, string, number]
      const s = await ctx.db.query<{ points: number; data: Buffer; origin_client: string | null; user_name: string }>(
        `SELECT s.points, s.data, r.origin_client, r.user_name FROM sync_segments s
         JOIN sync_records r ON r.project = s.project AND r.kind = 'run' AND r.id = s.run_id
         WHERE s.project = $1 AND s.run_id = $2 AND s.name = $3 AND s.segment = $4`,
        [project, runId, name, segment],
      )
      const seg = s.rows[0]!
      body = { runId, name, segment, points: seg.points, data: seg.data.toString('base64') }
      originClient = seg.origin_client
      user = seg.user_name
    }
    changes.push({
      seq: Number(row.seq),
      kind: row.kind,
      id: row.id,
      number: row.number,
      body: body ?? {},
      originClient,
      user: user ?? '',
      at: row.at.toISOString(),
    })
  }
  const last = changes.at(-1)?.seq ?? after
  return { changes, last, more }
}

async function serverDigest(ctx: TeamContext, project: string) {
  const q = async (sql: string) => (await ctx.db.query(sql, [project])).rows as any[]
  const lines: Record<DigestKind, string[]> = {
    dataset_version: (await q(`SELECT id, name, number FROM sync_records WHERE project = $1 AND kind = 'dataset_version'`)).map((r) =>
      digestLine.dataset_version(r.id, r.name, r.number),
    ),
    run: (await q(`SELECT id, body->>'status' AS status FROM sync_records WHERE project = $1 AND kind = 'run'`)).map((r) => digestLine.run(r.id, r.status)),
    segment: (await q(`SELECT run_id, name, segment, points FROM sync_segments WHERE project = $1`)).map((r) =>
      digestLine.segment(r.run_id, r.name, r.segment, r.points),
    ),
    model_version: (await q(`SELECT id, name, number FROM sync_records WHERE project = $1 AND kind = 'model_version'`)).map((r) =>
      digestLine.model_version(r.id, r.name, r.number),
    ),
    alias: (await q(`SELECT model, alias, version_id FROM sync_aliases WHERE project = $1 AND version_id IS NOT NULL`)).map((r) =>
      digestLine.alias(r.model, r.alias, r.version_id),
    ),
    alias_move: (await q(`SELECT id FROM sync_records WHERE project = $1 AND kind = 'alias_move'`)).map((r) => digestLine.alias_move(r.id)),
    audit: (await q(`SELECT id FROM sync_records WHERE project = $1 AND kind = 'audit'`)).map((r) => digestLine.audit(r.id)),
  }
  return digestOf(lines, (text) => createHash('sha256').update(text).digest('hex'))
}
