import type { Principal, Role } from '../accounts.js'
import { atLeast } from '../accounts.js'
import { appendAudit, appendAuditMany, recordAudit, type AuditActor, type AuditEntry } from '../audit.js'
import type { BlobStore } from '../blobs.js'
import type { Db, Tx } from '../db.js'
import { checkSegment } from '../../engine/api/common/metric-segments.js'
import {
  payloadSchemas,
  type AliasState,
  type SegmentPayload,
  type ChangeKind,
  type Op,
  type OpResult,
  type Outcome,
} from '../../engine/api/common/sync-protocol.js'

/** The aliases only maintainers (and admins) may move, where a project has not said (migration 012). */
export const DEFAULT_PROTECTED_ALIASES: readonly string[] = ['production']

/** A project's protected aliases; read in the caller's transaction, so a move and a change of the list do not interleave. */
export async function protectedAliases(q: Pick<Tx, 'query'>, project: string): Promise<string[]> {
  const { rows } = await q.query<{ aliases: string[] }>('SELECT aliases FROM sync_protected_aliases WHERE project = $1 FOR SHARE', [project])
  return rows[0]?.aliases ?? [...DEFAULT_PROTECTED_ALIASES]
}

export interface OpContext {
  db: Db
  blobs: BlobStore
  project: string
  principal: Principal
  role: Role | null
  actor: AuditActor
}

/** An op the server will not take, with why: nothing it did is kept. */
class Refusal extends Error {
  constructor(
    readonly outcome: Extract<Outcome, 'missing_ref' | 'forbidden' | 'invalid'>,
    message: string,
  ) {
    super(message)
  }
}

/** The token was revoked or expired while the batch was being applied: stop, apply nothing more. */
export class TokenRevoked extends Error {}

/** What a duplicate answers: the first answer, marked as a resend. */
function duplicateOf(op: Op, first: OpResult): OpResult {
  const { opId: _opId, outcome, ...rest } = first
  return { ...rest, opId: op.opId, outcome: 'duplicate', original: outcome }
}

function auditOf(c: OpContext, op: Op, result: OpResult): AuditEntry {
  const entry = { actor: c.actor, action: `sync.${op.kind}`, project: c.project, target: op.opId }
  if (result.outcome === 'duplicate') return { ...entry, outcome: 'duplicate' }
  if (result.outcome === 'applied' || result.outcome === 'conflict') {
    return {
      ...entry,
      outcome: result.outcome === 'conflict' ? 'conflict' : 'accepted',
      detail: result.outcome === 'conflict' ? { current: result.current } : result.number !== undefined ? { number: result.number } : undefined,
    }
  }
  return { ...entry, outcome: 'refused', detail: { outcome: result.outcome, reason: result.message } }
}

function refusalOf(op: Op, refusal: Refusal): OpResult {
  return { opId: op.opId, outcome: refusal.outcome, message: refusal.message }
}

function parseOp(op: Op): { payload: unknown } | { refusal: Refusal } {
  const parsed = payloadSchemas[op.kind].safeParse(op.payload)
  if (parsed.success) return { payload: parsed.data }
  const issue = parsed.error.issues[0]!
  return { refusal: new Refusal('invalid', `${op.kind}: ${issue.path.join('.') || 'payload'}: ${issue.message}`) }
}

/** Row-locks the token: a revocation that commits first stops this transaction; one that comes after waits for it. */
async function requireLiveToken(c: OpContext, tx: Tx): Promise<void> {
  const token = await tx.query<{ revoked_at: Date | null; expires_at: Date | null }>('SELECT revoked_at, expires_at FROM tokens WHERE id = $1 FOR SHARE', [
    c.principal.tokenId,
  ])
  const t = token.rows[0]
  if (!t || t.revoked_at || (t.expires_at && t.expires_at.getTime() <= Date.now())) throw new TokenRevoked()
}

type Step = { result: OpResult; changes: Array<{ kind: ChangeKind; id: string }> }

/**
 * One op inside the caller's transaction: the op id goes into sync_applied_ops first (a
 * second arrival waits on it, then answers `duplicate` with the first answer), then the
 * change. A Refusal leaves the transaction as it found it only if the caller wrapped
 * this in a savepoint (or rolls back).
 */
async function applyInTx(c: OpContext, tx: Tx, op: Op, payload: unknown): Promise<Step> {
  const claimed = await tx.query(
    `INSERT INTO sync_applied_ops (project, op_id, outcome, result, user_name, client_id) VALUES ($1, $2, 'pending', '{}', $3, $4)
     ON CONFLICT (project, op_id) DO NOTHING RETURNING op_id`,
    [c.project, op.opId, c.principal.userName, c.actor.clientId ?? null],
  )
  if (claimed.rowCount === 0) {
    const { rows } = await tx.query<{ result: OpResult }>('SELECT result FROM sync_applied_ops WHERE project = $1 AND op_id = $2', [c.project, op.opId])
    return { result: duplicateOf(op, rows[0]!.result), changes: [] }
  }
  const { result, changes } = await applyKind(c, tx, op, payload)
  await tx.query('UPDATE sync_applied_ops SET outcome = $3, result = $4 WHERE project = $1 AND op_id = $2', [c.project, op.opId, result.outcome, result])
  return { result, changes }
}

/** The change-log rows, after the audit lock: sequence order is commit order, so a pull never skips a change. */
async function appendChanges(c: OpContext, tx: Tx, changes: Array<{ kind: ChangeKind; id: string }>): Promise<void> {
  for (let i = 0; i < changes.length; i += 5000) {
    const chunk = changes.slice(i, i + 5000)
    await tx.query(`INSERT INTO sync_changes (project, kind, id) VALUES ${chunk.map((_, r) => `($1, $${r * 2 + 2}, $${r * 2 + 3})`).join(', ')}`, [
      c.project,
      ...chunk.flatMap((ch) => [ch.kind, ch.id]),
    ])
  }
}

/**
 * Applies one op in one PostgreSQL transaction: its claim, its change, its audit row and
 * its change-log row. A refused op rolls back and leaves only an audit row saying so.
 */
export async function applyOp(c: OpContext, op: Op): Promise<OpResult> {
  const parsed = parseOp(op)
  if ('refusal' in parsed) return refuse(c, op, parsed.refusal)
  const tx = await c.db.connect()
  try {
    await tx.query('BEGIN')
    await requireLiveToken(c, tx)
    const { result, changes } = await applyInTx(c, tx, op, parsed.payload)
    await appendAudit(tx, auditOf(c, op, result))
    await appendChanges(c, tx, changes)
    await tx.query('COMMIT')
    return result
  } catch (error) {
    await tx.query('ROLLBACK').catch(() => {})
    if (error instanceof Refusal) return refuse(c, op, error)
    throw error
  } finally {
    tx.release()
  }
}

/**
 * Applies a push's ops in order, with the guarantees of one transaction per op at the cost
 * of a few: the op ids already applied are looked up at once and answered `duplicate`
 * (their audit rows appended together, in one transaction); each run of other ops is one
 * transaction with a savepoint per op, so a refused op rolls back alone and leaves only
 * its audit row; an alias move keeps its own transaction. A group that deadlocks with
 * another push is rolled back whole and applied op by op. `results` fills as ops are
 * answered for good, so a TokenRevoked says how many were.
 */
export async function applyBatch(c: OpContext, ops: readonly Op[], results: OpResult[]): Promise<void> {
  const answers = new Map<number, OpResult>()
  for (const [opId, result] of await answerDuplicates(c, ops)) {
    ops.forEach((op, i) => {
      if (op.opId === opId) answers.set(i, result)
    })
  }
  let i = 0
  const flush = () => {
    while (answers.has(results.length)) results.push(answers.get(results.length)!)
  }
  flush()
  while (i < ops.length) {
    if (answers.has(i)) {
      i++
      continue
    }
    if (ops[i]!.kind === 'alias.move') {
      answers.set(i, await applyOp(c, ops[i]!))
      flush()
      i++
      continue
    }
    const group: number[] = []
    while (i < ops.length && !answers.has(i) && ops[i]!.kind !== 'alias.move') group.push(i++)
    const out = await applyGroup(
      c,
      group.map((g) => ops[g]!),
    )
    group.forEach((g, k) => answers.set(g, out[k]!))
    flush()
  }
}

/**
 * Answers `duplicate` (with the first answer) for the ops already applied, their audit rows
 * appended in one transaction; ops not applied yet are left out of the map.
 */
export async function answerDuplicates(c: OpContext, ops: ReadonlyArray<Pick<Op, 'opId' | 'kind'>>): Promise<Map<string, OpResult>> {
  const { rows } = await c.db.query<{ op_id: string; result: OpResult }>(
    `SELECT op_id, result FROM sync_applied_ops WHERE project = $1 AND op_id = ANY($2) AND outcome <> 'pending'`,
    [c.project, ops.map((op) => op.opId)],
  )
  const known = new Map(rows.map((r) => [r.op_id, r.result]))
  const duplicates = ops.filter((op) => known.has(op.opId))
  const answers = new Map<string, OpResult>()
  if (duplicates.length === 0) return answers
  const tx = await c.db.connect()
  try {
    await tx.query('BEGIN')
    await requireLiveToken(c, tx)
    await appendAuditMany(
      tx,
      duplicates.map((op) => auditOf(c, op as Op, { opId: op.opId, outcome: 'duplicate' })),
    )
    await tx.query('COMMIT')
  } catch (error) {
    await tx.query('ROLLBACK').catch(() => {})
    throw error
  } finally {
    tx.release()
  }
  for (const op of duplicates) answers.set(op.opId, duplicateOf(op as Op, known.get(op.opId)!))
  return answers
}

const DEADLOCK = '40P01'

async function applyGroup(c: OpContext, ops: Op[]): Promise<OpResult[]> {
  const tx = await c.db.connect()
  try {
    await tx.query('BEGIN')
    await requireLiveToken(c, tx)
    const out: OpResult[] = []
    const audits: AuditEntry[] = []
    const changes: Step['changes'] = []
    const take = (op: Op, step: Step) => {
      out.push(step.result)
      audits.push(auditOf(c, op, step.result))
      changes.push(...step.changes)
    }
    for (let i = 0; i < ops.length;) {
      // A run of metric segments goes in a few statements for all of them (they were 6 round trips each).
      if (ops[i]!.kind === 'metric.segment') {
        const run: Op[] = []
        while (i < ops.length && ops[i]!.kind === 'metric.segment') run.push(ops[i++]!)
        const steps = await applySegments(c, tx, run)
        run.forEach((op, k) => take(op, steps[k]!))
        continue
      }
      const op = ops[i++]!
      const parsed = parseOp(op)
      if ('refusal' in parsed) {
        take(op, { result: refusalOf(op, parsed.refusal), changes: [] })
        continue
      }
      await tx.query('SAVEPOINT sync_op')
      let step: Step
      try {
        step = await applyInTx(c, tx, op, parsed.payload)
      } catch (error) {
        if (!(error instanceof Refusal)) throw error
        await tx.query('ROLLBACK TO SAVEPOINT sync_op')
        step = { result: refusalOf(op, error), changes: [] }
      }
      await tx.query('RELEASE SAVEPOINT sync_op')
      take(op, step)
    }
    await appendAuditMany(tx, audits)
    await appendChanges(c, tx, changes)
    await tx.query('COMMIT')
    return out
  } catch (error) {
    await tx.query('ROLLBACK').catch(() => {})
    if ((error as { code?: string }).code !== DEADLOCK) throw error
  } finally {
    tx.release()
  }
  // Deadlocked with a concurrent push (rows locked in another order): nothing of the group was kept; one op at a time cannot deadlock so.
  const out: OpResult[] = []
  for (const op of ops) out.push(await applyOp(c, op))
  return out
}

/**
 * Consecutive `metric.segment` ops inside the caller's transaction, with what applyInTx
 * does for each, in four statements for all: every check that can refuse an op (payload,
 * bytes, run on the server) comes before it writes, so a refused op leaves nothing and
 * needs no savepoint. Then the op ids are claimed at once (an id another push holds makes
 * this wait for it, then answers `duplicate` with its first answer), and the claimed
 * ops' segments go in one INSERT from arrays, their bytes as one bytea cut by offset.
 */
async function applySegments(c: OpContext, tx: Tx, ops: Op[]): Promise<Step[]> {
  const steps: Array<Step | undefined> = new Array(ops.length)
  const valid: Array<{ k: number; payload: SegmentPayload; bytes: Buffer }> = []
  for (const [k, op] of ops.entries()) {
    const parsed = parseOp(op)
    if ('refusal' in parsed) {
      steps[k] = { result: refusalOf(op, parsed.refusal), changes: [] }
      continue
    }
    const payload = parsed.payload as SegmentPayload
    const bytes = Buffer.from(payload.data, 'base64')
    let points: number
    try {
      points = checkSegment(bytes)
    } catch (error) {
      steps[k] = { result: refusalOf(op, new Refusal('invalid', `metric.segment: ${(error as Error).message}`)), changes: [] }
      continue
    }
    if (points !== payload.points) {
      steps[k] = { result: refusalOf(op, new Refusal('invalid', `metric.segment: says ${payload.points} points, holds ${points}`)), changes: [] }
      continue
    }
    valid.push({ k, payload, bytes })
  }
  const runIds = [...new Set(valid.map((v) => v.payload.runId))]
  const { rows: runs } = runIds.length
    ? await tx.query<{ id: string }>(`SELECT id FROM sync_records WHERE project = $1 AND kind = 'run' AND id = ANY($2)`, [c.project, runIds])
    : { rows: [] }
  const known = new Set(runs.map((r) => r.id))
  const present = valid.filter((v) => {
    if (known.has(v.payload.runId)) return true
    const refusal = new Refusal('missing_ref', `metric.segment: run ${v.payload.runId} is not on the server yet`)
    steps[v.k] = { result: refusalOf(ops[v.k]!, refusal), changes: [] }
    return false
  })
  if (present.length > 0) {
    const claimed = await tx.query<{ op_id: string }>(
      `INSERT INTO sync_applied_ops (project, op_id, outcome, result, user_name, client_id)
       SELECT $1, o, 'applied', jsonb_build_object('opId', o, 'outcome', 'applied'), $3, $4 FROM unnest($2::text[]) WITH ORDINALITY AS u(o, n) ORDER BY n
       ON CONFLICT (project, op_id) DO NOTHING RETURNING op_id`,
      [c.project, present.map((v) => ops[v.k]!.opId), c.principal.userName, c.actor.clientId ?? null],
    )
    const mine = new Set(claimed.rows.map((r) => r.op_id))
    const theirs = present.filter((v) => !mine.has(ops[v.k]!.opId))
    if (theirs.length > 0) {
      const { rows } = await tx.query<{ op_id: string; result: OpResult }>(
        'SELECT op_id, result FROM sync_applied_ops WHERE project = $1 AND op_id = ANY($2)',
        [c.project, theirs.map((v) => ops[v.k]!.opId)],
      )
      const first = new Map(rows.map((r) => [r.op_id, r.result]))
      for (const v of theirs) steps[v.k] = { result: duplicateOf(ops[v.k]!, first.get(ops[v.k]!.opId)!), changes: [] }
    }
    // The same op twice in one push: the first is applied, the second answered as its duplicate.
    const once = new Set<string>()
    const insert = present.filter((v) => {
      const opId = ops[v.k]!.opId
      if (!mine.has(opId)) return false
      if (!once.has(opId)) return once.add(opId)
      steps[v.k] = { result: duplicateOf(ops[v.k]!, { opId, outcome: 'applied' }), changes: [] }
      return false
    })
    if (insert.length > 0) {
      const offsets: number[] = []
      let at = 1
      for (const v of insert) {
        offsets.push(at)
        at += v.bytes.length
      }
      const inserted = await tx.query<{ run_id: string; name: string; segment: number }>(
        `INSERT INTO sync_segments (project, run_id, name, segment, points, data)
         SELECT $1, r, m, s, p, substring($6::bytea FROM o FOR l)
         FROM unnest($2::text[], $3::text[], $4::int[], $5::int[], $7::int[], $8::int[]) AS u(r, m, s, p, o, l)
         ON CONFLICT DO NOTHING RETURNING run_id, name, segment`,
        [
          c.project,
          insert.map((v) => v.payload.runId),
          insert.map((v) => v.payload.name),
          insert.map((v) => v.payload.segment),
          insert.map((v) => v.payload.points),
          Buffer.concat(insert.map((v) => v.bytes)),
          offsets,
          insert.map((v) => v.bytes.length),
        ],
      )
      const stored = new Set(inserted.rows.map((r) => JSON.stringify([r.run_id, r.name, r.segment])))
      for (const v of insert) {
        const id = JSON.stringify([v.payload.runId, v.payload.name, v.payload.segment])
        steps[v.k] = { result: { opId: ops[v.k]!.opId, outcome: 'applied' }, changes: stored.has(id) ? [{ kind: 'segment', id }] : [] }
      }
    }
  }
  return steps.map((s) => s!)
}

async function refuse(c: OpContext, op: Op, refusal: Refusal): Promise<OpResult> {
  const result = refusalOf(op, refusal)
  await recordAudit(c.db, auditOf(c, op, result))
  return result
}

type Applied = Step

async function requireBlobs(blobs: BlobStore, hashes: Array<string | undefined | null>, what: string): Promise<void> {
  for (const hash of hashes) {
    if (!hash) continue
    if ((await blobs.size(hash)) === null) throw new Refusal('missing_ref', `${what} names blob ${hash}, which the server does not have: upload it first`)
  }
}

/** The next version number of a dataset or model name, under its row's lock: numbered in order of arrival. */
async function nextNumber(c: OpContext, tx: Tx, kind: 'dataset' | 'model', name: string): Promise<number> {
  const { rows } = await tx.query<{ last_number: number }>(
    `INSERT INTO sync_names (project, kind, name, last_number, created_by) VALUES ($1, $2, $3, 1, $4)
     ON CONFLICT (project, kind, name) DO UPDATE SET last_number = sync_names.last_number + 1 RETURNING last_number`,
    [c.project, kind, name, c.principal.userName],
  )
  return rows[0]!.last_number
}

async function existingNumber(c: OpContext, tx: Tx, kind: string, id: string): Promise<number | null | undefined> {
  const { rows } = await tx.query<{ number: number | null }>('SELECT number FROM sync_records WHERE project = $1 AND kind = $2 AND id = $3', [
    c.project,
    kind,
    id,
  ])
  return rows[0]?.number
}

async function insertRecord(c: OpContext, tx: Tx, kind: ChangeKind, id: string, name: string | null, number: number | null, body: unknown): Promise<void> {
  await tx.query(`INSERT INTO sync_records (project, kind, id, name, number, body, origin_client, user_name) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, [
    c.project,
    kind,
    id,
    name,
    number,
    body,
    c.actor.clientId ?? null,
    c.principal.userName,
  ])
}

async function applyKind(c: OpContext, tx: Tx, op: Op, payload: any): Promise<Applied> {
  const ok = (extra: Partial<OpResult> = {}): OpResult => ({ opId: op.opId, outcome: 'applied', ...extra })
  switch (op.kind) {
    case 'dataset_version.create':
    case 'model_version.create': {
      const isDataset = op.kind === 'dataset_version.create'
      const kind: ChangeKind = isDataset ? 'dataset_version' : 'model_version'
      const name: string = isDataset ? payload.dataset : payload.model
      if (!isDataset && Object.keys(payload.row).some((k) => !/^[a-z_0-9]+$/.test(k)))
        throw new Refusal('invalid', 'model_version.create: row keys must be column names')
      await requireBlobs(c.blobs, [isDataset ? payload.objectSha256 : payload.onnxSha256], `${name} version ${payload.id}`)
      const had = await existingNumber(c, tx, kind, payload.id)
      if (had !== undefined) return { result: ok({ number: had ?? undefined }), changes: [] }
      const number = await nextNumber(c, tx, isDataset ? 'dataset' : 'model', name)
      await insertRecord(c, tx, kind, payload.id, name, number, payload)
      return { result: ok({ number }), changes: [{ kind, id: payload.id }] }
    }
    case 'run.create':
    case 'run.end': {
      const model = (payload.record as { model?: { onnxSha256?: string; weightsSha256?: string } | null }).model
      if (op.kind === 'run.end') await requireBlobs(c.blobs, [model?.onnxSha256, model?.weightsSha256], `run ${payload.id}`)
      if ((payload.record as { id?: unknown }).id !== payload.id) throw new Refusal('invalid', `${op.kind}: record.id must be ${payload.id}`)
      const had = await existingNumber(c, tx, 'run', payload.id)
      if (had === undefined) await insertRecord(c, tx, 'run', payload.id, null, null, payload)
      else if (op.kind === 'run.end') {
        await tx.query(`UPDATE sync_records SET body = $4, updated_at = now() WHERE project = $1 AND kind = $2 AND id = $3`, [
          c.project,
          'run',
          payload.id,
          payload,
        ])
      } else return { result: ok(), changes: [] }
      return { result: ok(), changes: [{ kind: 'run', id: payload.id }] }
    }
    case 'metric.segment': {
      let points
      try {
        points = checkSegment(Buffer.from(payload.data, 'base64'))
      } catch (error) {
        throw new Refusal('invalid', `metric.segment: ${(error as Error).message}`)
      }
      if (points !== payload.points) throw new Refusal('invalid', `metric.segment: says ${payload.points} points, holds ${points}`)
      if ((await existingNumber(c, tx, 'run', payload.runId)) === undefined)
        throw new Refusal('missing_ref', `metric.segment: run ${payload.runId} is not on the server yet`)
      const inserted = await tx.query(
        `INSERT INTO sync_segments (project, run_id, name, segment, points, data) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
        [c.project, payload.runId, payload.name, payload.segment, payload.points, Buffer.from(payload.data, 'base64')],
      )
      const id = JSON.stringify([payload.runId, payload.name, payload.segment])
      return { result: ok(), changes: inserted.rowCount ? [{ kind: 'segment', id }] : [] }
    }
    case 'alias.move': {
      if ((await protectedAliases(tx, c.project)).includes(payload.alias) && !atLeast(c.role, 'maintainer')) {
        throw new Refusal('forbidden', `${c.principal.userName} is a ${c.role}: moving the protected alias "${payload.alias}" needs maintainer or above`)
      }
      const target = await tx.query('SELECT 1 FROM sync_records WHERE project = $1 AND kind = $2 AND id = $3 AND name = $4', [
        c.project,
        'model_version',
        payload.versionId,
        payload.model,
      ])
      if (!target.rowCount) throw new Refusal('missing_ref', `alias.move: ${payload.model} version ${payload.versionId} is not on the server yet`)
      await tx.query('INSERT INTO sync_aliases (project, model, alias) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [c.project, payload.model, payload.alias])
      // The lock alone, then the number: a join under FOR UPDATE re-checked after a concurrent move would lose its joined row.
      const { rows } = await tx.query<{ version_id: string | null; moved_by: string | null; moved_at: Date | null }>(
        `SELECT version_id, moved_by, moved_at FROM sync_aliases WHERE project = $1 AND model = $2 AND alias = $3 FOR UPDATE`,
        [c.project, payload.model, payload.alias],
      )
      const now = rows[0]!
      if (now.version_id !== payload.previousVersionId) {
        const number = now.version_id === null ? undefined : await existingNumber(c, tx, 'model_version', now.version_id)
        const current: AliasState = {
          versionId: now.version_id,
          version: number ?? null,
          movedBy: now.moved_by,
          movedAt: now.moved_at ? now.moved_at.toISOString() : null,
        }
        const message = `${payload.model}@${payload.alias} moved since this client saw it: it points to v${current.version ?? '?'}, moved by ${now.moved_by ?? '?'} at ${current.movedAt ?? '?'}`
        return { result: { opId: op.opId, outcome: 'conflict', message, current }, changes: [] }
      }
      await tx.query(
        `UPDATE sync_aliases SET version_id = $4, move_uid = $5, moved_by = $6, moved_at = now() WHERE project = $1 AND model = $2 AND alias = $3`,
        [c.project, payload.model, payload.alias, payload.versionId, payload.uid, c.principal.userName],
      )
      await insertRecord(c, tx, 'alias_move', payload.uid, payload.model, null, { ...payload, by: c.principal.userName })
      return { result: ok(), changes: [{ kind: 'alias_move', id: payload.uid }] }
    }
    case 'audit.append': {
      if ((await existingNumber(c, tx, 'audit', payload.uid)) !== undefined) return { result: ok(), changes: [] }
      await insertRecord(c, tx, 'audit', payload.uid, null, null, payload)
      return { result: ok(), changes: [{ kind: 'audit', id: payload.uid }] }
    }
  }
}
