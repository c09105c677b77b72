import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { LatheError } from '../engine/api/common/errors.js'
import { appendAudit, type AuditActor } from './audit.js'
import { inTransaction, type Db, type Tx } from './db.js'

/**
 * Projects, users, roles and tokens: the one module that writes those tables. Every
 * change lands in one transaction with its audit row.
 */
export const ROLES = ['viewer', 'member', 'maintainer', 'admin'] as const
export type Role = (typeof ROLES)[number]
const rank: Record<Role, number> = { viewer: 1, member: 2, maintainer: 3, admin: 4 }

export function atLeast(role: Role | null, minimum: Role): boolean {
  return role !== null && rank[role] >= rank[minimum]
}

export function higher(a: Role | null, b: Role | null): Role | null {
  if (a === null) return b
  if (b === null) return a
  return rank[a] >= rank[b] ? a : b
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/

function checkName(kind: string, name: string): string {
  if (!NAME.test(name)) {
    throw new LatheError('bad_request', `${kind} name "${name}" must be 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit`, {
      field: kind,
    })
  }
  return name
}

export function parseRole(value: string): Role {
  if (!(ROLES as readonly string[]).includes(value)) {
    throw new LatheError('bad_request', `role "${value}" is not one of ${ROLES.join(', ')}`, { field: 'role' })
  }
  return value as Role
}

/** `30d`, `12h`, `90m`, `2w`: how long a token lives. */
export function parseDuration(value: string): number {
  const m = /^(\d+)\s*([mhdw])$/.exec(value.trim())
  if (!m || Number(m[1]) <= 0) {
    throw new LatheError('bad_request', `--expires "${value}" is not a duration such as 90m, 12h, 30d or 2w`, { field: 'expires' })
  }
  const unit = { m: 60, h: 3600, d: 86400, w: 7 * 86400 }[m[2] as 'm' | 'h' | 'd' | 'w']
  return Number(m[1]) * unit * 1000
}

export function tokenSha256(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex')
}

export interface Project {
  id: string
  name: string
  createdAt: string
}

export interface UserSummary {
  id: string
  name: string
  createdAt: string
  roles: Array<{ project: string | null; role: Role }>
}

export interface TokenSummary {
  id: string
  user: string
  createdAt: string
  expiresAt: string | null
  revokedAt: string | null
  state: 'active' | 'expired' | 'revoked'
}

async function projectId(tx: Tx | Db, name: string): Promise<string> {
  const { rows } = await tx.query<{ id: string }>('SELECT id FROM projects WHERE name = $1', [name])
  if (!rows[0]) throw new LatheError('not_found', `no project named "${name}" (add it with \`lathe team-server projects add ${name}\`)`, { field: 'project' })
  return rows[0].id
}

async function userByName(tx: Tx | Db, name: string): Promise<{ id: string; name: string }> {
  const { rows } = await tx.query<{ id: string; name: string }>('SELECT id, name FROM users WHERE name = $1', [name])
  if (!rows[0]) throw new LatheError('not_found', `no user named "${name}" (add it with \`lathe team-server users add ${name} --role ...\`)`, { field: 'user' })
  return rows[0]
}

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null)

export async function addProject(db: Db, actor: AuditActor, name: string): Promise<Project> {
  checkName('project', name)
  return inTransaction(db, async (tx) => {
    const { rows } = await tx.query<{ id: string; created_at: Date }>(
      'INSERT INTO projects (id, name) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING RETURNING id, created_at',
      [randomUUID(), name],
    )
    if (!rows[0]) throw new LatheError('conflict', `project "${name}" already exists`, { field: 'project' })
    await appendAudit(tx, { actor, action: 'project.add', outcome: 'accepted', project: name, target: name })
    return { id: rows[0].id, name, createdAt: rows[0].created_at.toISOString() }
  })
}

export async function listProjects(db: Db): Promise<Project[]> {
  const { rows } = await db.query<{ id: string; name: string; created_at: Date }>('SELECT id, name, created_at FROM projects ORDER BY name')
  return rows.map((r) => ({ id: r.id, name: r.name, createdAt: r.created_at.toISOString() }))
}

/** Creates a user with a role in one project, or everywhere when project is null. */
export async function addUser(db: Db, actor: AuditActor, name: string, role: Role, project: string | null): Promise<UserSummary> {
  checkName('user', name)
  return inTransaction(db, async (tx) => {
    const pid = project === null ? null : await projectId(tx, project)
    const id = randomUUID()
    const { rowCount } = await tx.query('INSERT INTO users (id, name) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [id, name])
    if (!rowCount) throw new LatheError('conflict', `user "${name}" already exists (change a role with \`lathe team-server users grant\`)`, { field: 'user' })
    await tx.query('INSERT INTO grants (user_id, project_id, role) VALUES ($1, $2, $3)', [id, pid, role])
    await appendAudit(tx, { actor, action: 'user.add', outcome: 'accepted', project, target: name, detail: { role } })
    return (await usersWhere(tx, 'u.id = $1', [id]))[0]!
  })
}

/** Sets a user's role in a project (or everywhere), replacing the one it had there. */
export async function grantRole(db: Db, actor: AuditActor, name: string, role: Role, project: string | null): Promise<UserSummary> {
  return inTransaction(db, async (tx) => {
    const user = await userByName(tx, name)
    const pid = project === null ? null : await projectId(tx, project)
    await tx.query(
      `INSERT INTO grants (user_id, project_id, role) VALUES ($1, $2, $3)
       ON CONFLICT (user_id, project_id) DO UPDATE SET role = excluded.role, granted_at = now()`,
      [user.id, pid, role],
    )
    await appendAudit(tx, { actor, action: 'user.grant', outcome: 'accepted', project, target: name, detail: { role } })
    return (await usersWhere(tx, 'u.id = $1', [user.id]))[0]!
  })
}

async function usersWhere(tx: Tx | Db, where: string, params: unknown[]): Promise<UserSummary[]> {
  const { rows } = await tx.query<{ id: string; name: string; created_at: Date; project: string | null; role: Role | null }>(
    `SELECT u.id, u.name, u.created_at, p.name AS project, g.role
     FROM users u LEFT JOIN grants g ON g.user_id = u.id LEFT JOIN projects p ON p.id = g.project_id
     WHERE ${where} ORDER BY u.name, p.name NULLS FIRST`,
    params,
  )
  const byId = new Map<string, UserSummary>()
  for (const r of rows) {
    let user = byId.get(r.id)
    if (!user) byId.set(r.id, (user = { id: r.id, name: r.name, createdAt: r.created_at.toISOString(), roles: [] }))
    if (r.role) user.roles.push({ project: r.project, role: r.role })
  }
  return [...byId.values()]
}

export async function listUsers(db: Db): Promise<UserSummary[]> {
  return usersWhere(db, 'true', [])
}

export async function hasAdmin(db: Db | Tx): Promise<boolean> {
  const { rows } = await db.query("SELECT 1 FROM grants WHERE project_id IS NULL AND role = 'admin' LIMIT 1")
  return rows.length > 0
}

/** A new bearer token: 32 random bytes, returned once; only its SHA-256 is stored. */
export async function createToken(
  db: Db,
  actor: AuditActor,
  userName: string,
  expiresInMs: number | null,
  tx?: Tx,
): Promise<{ token: string; summary: TokenSummary }> {
  const work = async (t: Tx) => {
    const user = await userByName(t, userName)
    const token = `lathe_${randomBytes(32).toString('base64url')}`
    const id = randomUUID()
    const expiresAt = expiresInMs === null ? null : new Date(Date.now() + expiresInMs)
    const { rows } = await t.query<{ created_at: Date }>('INSERT INTO tokens (id, user_id, sha256, expires_at) VALUES ($1, $2, $3, $4) RETURNING created_at', [
      id,
      user.id,
      tokenSha256(token),
      expiresAt,
    ])
    await appendAudit(t, { actor, action: 'token.create', outcome: 'accepted', target: id, detail: { user: user.name, expiresAt: iso(expiresAt) } })
    const summary: TokenSummary = {
      id,
      user: user.name,
      createdAt: rows[0]!.created_at.toISOString(),
      expiresAt: iso(expiresAt),
      revokedAt: null,
      state: 'active',
    }
    return { token, summary }
  }
  return tx ? work(tx) : inTransaction(db, work)
}

interface DbToken {
  id: string
  user_name: string
  created_at: Date
  expires_at: Date | null
  revoked_at: Date | null
}

function tokenSummary(r: DbToken, now = Date.now()): TokenSummary {
  const state = r.revoked_at ? 'revoked' : r.expires_at && r.expires_at.getTime() <= now ? 'expired' : 'active'
  return { id: r.id, user: r.user_name, createdAt: r.created_at.toISOString(), expiresAt: iso(r.expires_at), revokedAt: iso(r.revoked_at), state }
}

export async function listTokens(db: Db, user?: string): Promise<TokenSummary[]> {
  const { rows } = await db.query<DbToken>(
    `SELECT t.id, u.name AS user_name, t.created_at, t.expires_at, t.revoked_at
     FROM tokens t JOIN users u ON u.id = t.user_id WHERE $1::text IS NULL OR u.name = $1 ORDER BY t.created_at`,
    [user ?? null],
  )
  return rows.map((r) => tokenSummary(r))
}

/** Revokes a token; revoking one already revoked is harmless and says so. */
export async function revokeToken(db: Db, actor: AuditActor, id: string): Promise<TokenSummary> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) throw new LatheError('bad_request', `"${id}" is not a token id (see \`lathe team-server tokens list\`)`, { field: 'id' })
  return inTransaction(db, async (tx) => {
    const { rows } = await tx.query<DbToken>(
      `SELECT t.id, u.name AS user_name, t.created_at, t.expires_at, t.revoked_at
       FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.id = $1 FOR UPDATE OF t`,
      [id],
    )
    const row = rows[0]
    if (!row) throw new LatheError('not_found', `no token with id ${id}`, { field: 'id' })
    if (row.revoked_at) {
      await appendAudit(tx, { actor, action: 'token.revoke', outcome: 'duplicate', target: id, detail: { user: row.user_name } })
      return tokenSummary(row)
    }
    // clock_timestamp(), not now(): now() is when this transaction began, which can be before a
    // push that held the token's row lock (and so was allowed to finish) committed its ops.
    const { rows: updated } = await tx.query<{ revoked_at: Date }>('UPDATE tokens SET revoked_at = clock_timestamp() WHERE id = $1 RETURNING revoked_at', [id])
    await appendAudit(tx, { actor, action: 'token.revoke', outcome: 'accepted', target: id, detail: { user: row.user_name } })
    return tokenSummary({ ...row, revoked_at: updated[0]!.revoked_at })
  })
}

/** The user behind a bearer token, with every role they hold. */
export interface Principal {
  userId: string
  userName: string
  tokenId: string
  globalRole: Role | null
  projectRoles: Record<string, Role>
}

export type TokenCheck =
  { ok: true; principal: Principal } | { ok: false; reason: 'unknown' | 'revoked' | 'expired'; userId?: string; userName?: string; tokenId?: string }

/** Looks the token up by its hash on every request, so a revocation counts from the very next one. */
export async function checkToken(db: Db, token: string): Promise<TokenCheck> {
  const { rows } = await db.query<{ id: string; user_id: string; user_name: string; expires_at: Date | null; revoked_at: Date | null }>(
    `SELECT t.id, t.user_id, u.name AS user_name, t.expires_at, t.revoked_at FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.sha256 = $1`,
    [tokenSha256(token)],
  )
  const t = rows[0]
  if (!t) return { ok: false, reason: 'unknown' }
  const known = { userId: t.user_id, userName: t.user_name, tokenId: t.id }
  if (t.revoked_at) return { ok: false, reason: 'revoked', ...known }
  if (t.expires_at && t.expires_at.getTime() <= Date.now()) return { ok: false, reason: 'expired', ...known }
  const grants = await db.query<{ project: string | null; role: Role }>(
    'SELECT p.name AS project, g.role FROM grants g LEFT JOIN projects p ON p.id = g.project_id WHERE g.user_id = $1',
    [t.user_id],
  )
  const principal: Principal = { userId: t.user_id, userName: t.user_name, tokenId: t.id, globalRole: null, projectRoles: {} }
  for (const g of grants.rows) {
    if (g.project === null) principal.globalRole = g.role
    else principal.projectRoles[g.project] = g.role
  }
  return { ok: true, principal }
}

/** A user's role in a project: the higher of their role there and their role everywhere. */
export function roleIn(principal: Principal, project: string | null): Role | null {
  return project === null ? principal.globalRole : higher(principal.globalRole, principal.projectRoles[project] ?? null)
}
