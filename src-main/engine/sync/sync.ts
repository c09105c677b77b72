import fs from 'node:fs'
import fsp from 'node:fs/promises'
import path from 'node:path'
import { LatheError } from '../api/common/errors.js'
import type { EngineContext } from '../context.js'
import { applyChange, getSetting, localDigest, setSetting } from './apply.js'
import { TeamClient, type TeamConnection } from './client.js'
import { entriesIn, entriesToPush, nextBatch, outboxCounts, recordResults } from './outbox.js'
import { digestDifferences, MAX_RESEND_OPS, type Digest, type PullResponse, type PushResponse } from '../api/common/sync-protocol.js'

/** The connection lives beside lathe.db, readable by the user only: it holds a bearer token. */
const CONNECTION_FILE = 'team.json'
const PARTIAL_DIR = 'sync-partial'
const PULL_PAGE = 500

export interface SyncProgress {
  phase: 'blobs' | 'push' | 'pull'
  done: number
  total: number | null
}

export interface Conflict {
  opId: string
  model: string
  alias: string
  attempted: string
  current: { versionId: string | null; version: number | null; movedBy: string | null; movedAt: string | null } | null
  message: string
}

export interface SyncReport {
  /** Both sides hold the same records and nothing is left to send. */
  agreed: boolean
  pushed: Record<string, number>
  pulled: number
  blobsSent: number
  left: string[]
  conflicts: Conflict[]
}

export function readConnection(ctx: EngineContext): TeamConnection | null {
  const file = path.join(ctx.workspace.dir, CONNECTION_FILE)
  if (!fs.existsSync(file)) return null
  return JSON.parse(fs.readFileSync(file, 'utf8')) as TeamConnection
}

function requireConnection(ctx: EngineContext): TeamConnection {
  const connection = readConnection(ctx)
  if (!connection) throw new LatheError('bad_request', 'this workspace is not connected to a team server: lathe team connect URL --token T --project P')
  return connection
}

function clientOf(ctx: EngineContext, connection: TeamConnection): TeamClient {
  return new TeamClient(connection, getSetting(ctx.workspace.db, 'sync.client_id')!)
}

/** Checks the URL, the token and the project with the server, then stores them (mode 0600, by rename). */
export async function connect(ctx: EngineContext, input: TeamConnection): Promise<{ url: string; project: string; user: string }> {
  let url: URL
  try {
    url = new URL(input.url)
  } catch {
    throw new LatheError('bad_request', `"${input.url}" is not a URL (e.g. http://127.0.0.1:7072)`, { field: 'url' })
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new LatheError('bad_request', `the team server URL must be http(s), not ${url.protocol}`, { field: 'url' })
  const connection = { url: url.origin, token: input.token, project: input.project }
  const me = await clientOf(ctx, connection).json<{ user: string; role: string | null }>('GET', `/sync/v1/whoami?project=${encodeURIComponent(input.project)}`)
  if (!me.role)
    throw new LatheError('forbidden', `${me.user} has no role in project "${input.project}" on ${url.origin}; ask an admin to add you`, { field: 'project' })
  const file = path.join(ctx.workspace.dir, CONNECTION_FILE)
  const staged = `${file}.${process.pid}.tmp`
  await fsp.writeFile(staged, JSON.stringify(connection, null, 2), { mode: 0o600 })
  await fsp.chmod(staged, 0o600)
  await fsp.rename(staged, file)
  return { url: connection.url, project: connection.project, user: me.user }
}

export async function disconnect(ctx: EngineContext): Promise<{ disconnected: boolean }> {
  const file = path.join(ctx.workspace.dir, CONNECTION_FILE)
  const had = fs.existsSync(file)
  await fsp.rm(file, { force: true })
  return { disconnected: had }
}

/**
 * One sync: push the outbox (blobs first, then batches of ops), pull the change log,
 * then compare digests. Safe to kill at any point and run again: a resent op comes back
 * `duplicate`, a pulled change commits with its sequence number, a cut blob resumes.
 */
export async function runSync(
  ctx: EngineContext,
  options: { push?: boolean; pull?: boolean; onProgress?: (p: SyncProgress) => void } = {},
): Promise<SyncReport> {
  const connection = requireConnection(ctx)
  const client = clientOf(ctx, connection)
  const db = ctx.workspace.db
  const report: SyncReport = { agreed: false, pushed: {}, pulled: 0, blobsSent: 0, left: [], conflicts: [] }
  const progress = (p: SyncProgress) => {
    options.onProgress?.(p)
    ctx.events.emit('sync.progress', p)
  }

  if (options.push !== false) {
    const total = (outboxCounts(db).pending ?? 0) + (outboxCounts(db).missing_ref ?? 0)
    let done = 0
    let after = 0
    // Ops a lost answer left pending may be applied already: asked by id first, so their payloads are never rebuilt nor resent.
    for (let seen = 0; ;) {
      const page = entriesToPush(db, seen, MAX_RESEND_OPS)
      if (page.length === 0) break
      const response = await client.json<PushResponse>('POST', '/sync/v1/resend', {
        project: connection.project,
        ops: page.map((e) => ({ opId: e.opId, kind: e.kind })),
      })
      recordResults(
        db,
        page.map((entry) => ({ entry })),
        response.results,
      )
      for (const r of response.results) report.pushed[r.outcome] = (report.pushed[r.outcome] ?? 0) + 1
      done += response.results.length
      seen = page.at(-1)!.clientSeq
    }
    if (done > 0) progress({ phase: 'push', done, total })
    const sentBlobs = new Set<string>()
    for (;;) {
      const batch = nextBatch(db, after)
      if (batch.length === 0) break
      for (const blob of new Set(batch.flatMap((b) => b.blobs))) {
        if (sentBlobs.has(blob)) continue
        report.blobsSent += await client.uploadBlob(ctx.workspace.objects, blob)
        sentBlobs.add(blob)
        progress({ phase: 'blobs', done: sentBlobs.size, total: null })
      }
      const response = await client.json<PushResponse>('POST', '/sync/v1/push', { project: connection.project, ops: batch.map((b) => b.op) })
      recordResults(db, batch, response.results)
      for (const r of response.results) report.pushed[r.outcome] = (report.pushed[r.outcome] ?? 0) + 1
      after = batch.at(-1)!.entry.clientSeq
      done += batch.length
      progress({ phase: 'push', done, total })
    }
  }

  if (options.pull !== false) {
    for (;;) {
      const after = Number(getSetting(db, 'sync.last_seq') ?? 0)
      const page = await client.json<PullResponse>('GET', `/sync/v1/pull?project=${encodeURIComponent(connection.project)}&after=${after}&limit=${PULL_PAGE}`)
      for (const change of page.changes) {
        for (const blob of blobsOf(change.kind, change.body)) {
          await client.downloadBlob(ctx.workspace.objects, path.join(ctx.workspace.dir, PARTIAL_DIR), blob)
        }
        const effect = applyChange(db, change)
        report.pulled += 1
        if (effect.aliasMoved) {
          ctx.events.emit('registry.alias.moved', { ...effect.aliasMoved, previous: null })
        }
      }
      progress({ phase: 'pull', done: report.pulled, total: null })
      if (!page.more || page.changes.length === 0) break
    }
  }

  setSetting(db, 'sync.last_sync', new Date().toISOString())
  report.conflicts = openConflicts(ctx)
  report.left = await whatIsLeft(ctx, client, connection)
  report.agreed = report.left.length === 0
  return report
}

/** Blobs a pulled record needs on disk. */
function blobsOf(kind: string, body: Record<string, unknown>): string[] {
  if (kind === 'dataset_version') return [body.objectSha256 as string]
  if (kind === 'model_version') return [body.onnxSha256 as string]
  return []
}

/** Alias moves of this workspace that the server did not apply, unless the person has since moved that alias again or decided on it (sync_decisions). */
export function openConflicts(ctx: EngineContext): Conflict[] {
  const db = ctx.workspace.db
  const refused = entriesIn(db, ['conflict', 'forbidden'])
    .filter((e) => e.kind === 'alias.move')
    .map((e) => {
      const move = db
        .prepare(
          `SELECT h.id, h.alias, m.name AS model, v.version FROM registry_alias_history h JOIN registry_models m ON m.id = h.model_id
           JOIN registry_versions v ON v.id = h.version_id WHERE h.uid = ?`,
        )
        .get(e.entityId) as { id: number; alias: string; model: string; version: number }
      return { e, move }
    })
  return refused
    .filter(({ e, move }) => {
      // Decided on the Team page (promoted again, or dropped): no longer open.
      if (db.prepare('SELECT 1 FROM sync_decisions WHERE op_id = ?').get(e.opId)) return false
      const later = db
        .prepare(
          `SELECT 1 FROM registry_alias_history h JOIN sync_outbox o ON o.entity_id = h.uid AND o.kind = 'alias.move'
           WHERE h.model_id = (SELECT model_id FROM registry_alias_history WHERE uid = ?) AND h.alias = ? AND h.id > ?`,
        )
        .get(e.entityId, move.alias, move.id)
      return !later
    })
    .map(({ e, move }) => ({
      opId: e.opId,
      model: move.model,
      alias: move.alias,
      attempted: `v${move.version}`,
      current: e.result?.current ?? null,
      message: e.result?.message ?? e.state,
    }))
}

async function whatIsLeft(ctx: EngineContext, client: TeamClient, connection: TeamConnection): Promise<string[]> {
  const db = ctx.workspace.db
  const left: string[] = []
  const counts = outboxCounts(db)
  if (counts.pending) left.push(`${counts.pending} operation(s) not pushed yet (run lathe sync)`)
  if (counts.missing_ref) left.push(`${counts.missing_ref} operation(s) name a record or blob the server lacks`)
  if (counts.invalid) left.push(`${counts.invalid} operation(s) the server refused as invalid (see lathe team status)`)
  const forbidden = entriesIn(db, ['forbidden']).length
  if (forbidden) left.push(`${forbidden} operation(s) refused: your role does not allow them (e.g. moving a protected alias needs maintainer)`)
  for (const c of openConflicts(ctx)) {
    const who = c.current ? ` (now v${c.current.version} by ${c.current.movedBy} at ${c.current.movedAt})` : ''
    left.push(`${c.model}@${c.alias} -> ${c.attempted} was not applied: someone moved it first${who}; promote again to decide`)
  }
  const server = await client.json<Digest>('GET', `/sync/v1/digest?project=${encodeURIComponent(connection.project)}`)
  for (const d of digestDifferences(localDigest(db), server)) {
    left.push(`${d.kind}: this workspace holds ${d.local}, the server ${d.server}, and they differ`)
  }
  return left
}

export interface TeamStatus {
  connected: boolean
  url: string | null
  project: string | null
  clientId: string
  pending: number
  outbox: Record<string, number>
  lastSync: string | null
  lastPulledSeq: number
  conflicts: Conflict[]
  verified: { agreed: boolean; differences: Array<{ kind: string; local: number; server: number }> } | null
}

export async function teamStatus(ctx: EngineContext, options: { verify?: boolean } = {}): Promise<TeamStatus> {
  const db = ctx.workspace.db
  const connection = readConnection(ctx)
  const outbox = outboxCounts(db)
  let verified: TeamStatus['verified'] = null
  if (options.verify) {
    if (!connection) throw new LatheError('bad_request', 'not connected: lathe team connect URL --token T --project P, then --verify')
    const server = await clientOf(ctx, connection).json<Digest>('GET', `/sync/v1/digest?project=${encodeURIComponent(connection.project)}`)
    const differences = digestDifferences(localDigest(db), server)
    verified = { agreed: differences.length === 0, differences }
  }
  return {
    connected: connection !== null,
    url: connection?.url ?? null,
    project: connection?.project ?? null,
    clientId: getSetting(db, 'sync.client_id')!,
    pending: (outbox.pending ?? 0) + (outbox.missing_ref ?? 0),
    outbox,
    lastSync: getSetting(db, 'sync.last_sync'),
    lastPulledSeq: Number(getSetting(db, 'sync.last_seq') ?? 0),
    conflicts: openConflicts(ctx),
    verified,
  }
}
