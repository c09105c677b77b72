import { z } from 'zod'
import { LatheError } from '../api/common/errors.js'
import type { EngineContext } from '../context.js'
import { promote, type PromoteResult } from '../registry/index.js'
import { getSetting } from './apply.js'
import { backgroundSync } from './background.js'
import { TeamClient } from './client.js'
import { openConflicts, readConnection } from './sync.js'

/**
 * The Team page's calls to the team server's `/admin/v1` routes, made by the engine
 * with the token stored at connect (the renderer never holds it). A route the token's
 * role may not use answers 403, which reaches the caller as a `forbidden` LatheError
 * naming the role it needs.
 */
function teamClient(ctx: EngineContext): TeamClient {
  const connection = readConnection(ctx)
  if (!connection)
    throw new LatheError(
      'bad_request',
      'this workspace is not connected to a team server: connect on the Team page or with lathe team connect URL --token T --project P',
    )
  return new TeamClient(connection, getSetting(ctx.workspace.db, 'sync.client_id')!)
}

export interface WhoAmI {
  user: string
  tokenId: string
  /** The role held in every project (admin for users and tokens), or null. */
  role: string | null
  projects: Record<string, string>
  project: string
  /** This project's role (a global role counts). */
  projectRole: string | null
  admin: boolean
}

export async function whoAmI(ctx: EngineContext): Promise<WhoAmI> {
  const client = teamClient(ctx)
  const me = await client.json<{ user: string; tokenId: string; role: string | null; projects: Record<string, string> }>('GET', '/admin/v1/whoami')
  const project = client.connection.project
  return { ...me, project, projectRole: me.role ?? me.projects[project] ?? null, admin: me.role === 'admin' }
}

export const TeamUser = z.object({
  id: z.string(),
  name: z.string(),
  createdAt: z.string(),
  roles: z.array(z.object({ project: z.string().nullable(), role: z.string() })),
})
export type TeamUser = z.infer<typeof TeamUser>

export function listMembers(ctx: EngineContext): Promise<TeamUser[]> {
  return teamClient(ctx).json<TeamUser[]>('GET', '/admin/v1/users')
}

/** A token as the team server lists it (never its secret). */
export const TeamToken = z.object({
  id: z.string(),
  user: z.string(),
  createdAt: z.string(),
  expiresAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
  state: z.enum(['active', 'expired', 'revoked']),
})
export type TeamToken = z.infer<typeof TeamToken>

export function listTokens(ctx: EngineContext): Promise<TeamToken[]> {
  return teamClient(ctx).json<TeamToken[]>('GET', '/admin/v1/tokens')
}

/** A new token for a user; the secret is in the answer once and nowhere else. */
export function createToken(ctx: EngineContext, input: { user: string; expires?: string | null }): Promise<TeamToken & { token: string }> {
  return teamClient(ctx).json('POST', '/admin/v1/tokens', { user: input.user, expires: input.expires ?? null })
}

export function revokeToken(ctx: EngineContext, id: string): Promise<TeamToken> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) throw new LatheError('bad_request', `"${id}" is not a token id (pick one from the tokens list)`, { field: 'id' })
  return teamClient(ctx).json('DELETE', `/admin/v1/tokens/${id}`)
}

/** An audit row as the Team page shows it (the chain's hashes stay on the server: verify-audit checks them). */
export const TeamAuditRow = z.object({
  seq: z.number(),
  serverTime: z.string(),
  userName: z.string(),
  clientId: z.string().nullable(),
  clientTime: z.string().nullable(),
  project: z.string().nullable(),
  action: z.string(),
  outcome: z.string(),
  target: z.string().nullable(),
  detail: z.string(),
})
export type TeamAuditRow = z.infer<typeof TeamAuditRow>

const AUDIT_PAGE = 1000
/** The newest rows are found by paging forward; bounded, so a huge trail costs at most this many pages. */
const AUDIT_MAX_PAGES = 50

/**
 * The server's audit trail, newest first: `limit` rows before `before` (a seq), or the
 * latest ones. The admin route pages forward from a seq, so the newest rows are found
 * by reading forward from `before - limit` (or from the start when `before` is not given).
 */
export async function auditTrail(ctx: EngineContext, input: { limit: number; before?: number }): Promise<{ rows: TeamAuditRow[]; more: boolean }> {
  const client = teamClient(ctx)
  const page = (after: number, limit: number) => client.json<TeamAuditRow[]>('GET', `/admin/v1/audit?after=${after}&limit=${limit}`)
  let rows: TeamAuditRow[]
  if (input.before !== undefined) {
    const after = Math.max(0, input.before - 1 - input.limit)
    rows = (await page(after, input.limit)).filter((r) => r.seq < input.before!)
  } else {
    rows = []
    let after = 0
    for (let i = 0; i < AUDIT_MAX_PAGES; i++) {
      const got = await page(after, AUDIT_PAGE)
      rows = [...rows, ...got].slice(-input.limit)
      if (got.length < AUDIT_PAGE) break
      after = got.at(-1)!.seq
    }
  }
  const newestFirst = rows.reverse().map((r) => TeamAuditRow.parse(r))
  return { rows: newestFirst, more: (newestFirst.at(-1)?.seq ?? 1) > 1 }
}

export interface Decision {
  opId: string
  decision: 'promoted' | 'dropped'
  /** What the alias holds locally now, and the promotion when there was one. */
  model: string
  alias: string
  version: number | null
  promotion: PromoteResult | null
  message: string
}

/**
 * A person decides again on an alias move the server refused. `promote`: the gate runs
 * again against the alias's current version (a teammate's, after the pull) and, if it
 * passes (or `force` with a reason), a new move goes out on the next sync. `drop`: the
 * move is given up; the alias keeps what the team holds. Either way the conflict closes.
 */
export async function decideConflict(
  ctx: EngineContext,
  input: { opId: string; decision: 'promote' | 'drop'; force?: boolean; reason?: string },
): Promise<Decision> {
  const db = ctx.workspace.db
  const conflict = openConflicts(ctx).find((c) => c.opId === input.opId)
  if (!conflict)
    throw new LatheError('not_found', `no open conflict ${input.opId}: it was decided already, or the alias was moved since (see the Team page)`, {
      field: 'opId',
    })
  const uid = input.opId.replace(/^alias\.move:/, '')
  const attempted = db
    .prepare('SELECT v.version FROM registry_alias_history h JOIN registry_versions v ON v.id = h.version_id WHERE h.uid = ?')
    .pluck()
    .get(uid) as number
  const record = (decision: Decision['decision'], moveUid: string | null, note: string) =>
    db
      .prepare('INSERT INTO sync_decisions (op_id, decision, move_uid, actor, decided_at, note) VALUES (?, ?, ?, ?, ?, ?)')
      .run(input.opId, decision, moveUid, ctx.actor, new Date().toISOString(), note)

  if (input.decision === 'drop') {
    record('dropped', null, 'dropped on the Team page')
    const now = db
      .prepare(
        'SELECT v.version FROM registry_aliases a JOIN registry_models m ON m.id = a.model_id JOIN registry_versions v ON v.id = a.version_id WHERE m.name = ? AND a.alias = ?',
      )
      .pluck()
      .get(conflict.model, conflict.alias) as number | undefined
    return {
      opId: input.opId,
      decision: 'dropped',
      model: conflict.model,
      alias: conflict.alias,
      version: now ?? null,
      promotion: null,
      message: `dropped the move of ${conflict.model}:${conflict.alias} to v${attempted}; it stays at ${now === undefined ? 'no version' : `v${now}`} as the team has it`,
    }
  }

  const result = await promote(ctx, {
    model: conflict.model,
    version: attempted,
    alias: conflict.alias,
    force: input.force ?? false,
    reason: input.reason,
    cause: `re-decided after sync conflict ${input.opId}`,
  })
  if (result.previous === result.version) {
    record('dropped', null, `the alias already holds v${result.version}`)
    return {
      opId: input.opId,
      decision: 'dropped',
      model: result.model,
      alias: result.alias,
      version: result.version,
      promotion: result,
      message: `${result.model}:${result.alias} already holds v${result.version}: nothing to move, the conflict is closed`,
    }
  }
  const moveUid = db
    .prepare(
      `SELECT h.uid FROM registry_alias_history h JOIN registry_models m ON m.id = h.model_id WHERE m.name = ? AND h.alias = ? ORDER BY h.id DESC LIMIT 1`,
    )
    .pluck()
    .get(result.model, result.alias) as string
  record('promoted', moveUid, result.forced ? `forced: ${input.reason}` : 'gate passed')
  backgroundSync(ctx).soon()
  return {
    opId: input.opId,
    decision: 'promoted',
    model: result.model,
    alias: result.alias,
    version: result.version,
    promotion: result,
    message: `${result.model}:${result.alias} moved to v${result.version} against v${result.previous ?? '-'} (the gate ${result.forced ? 'failed, forced' : 'passed'}); it goes to the team on the next sync`,
  }
}
