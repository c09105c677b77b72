import { createHash } from 'node:crypto'
import type { Db, Tx } from './db.js'

export type AuditOutcome = 'accepted' | 'duplicate' | 'conflict' | 'refused'

/** Who did it, as the server knows it: the token's user (never a field the client sends), plus what the client said about itself. */
export interface AuditActor {
  userId: string | null
  userName: string
  clientId?: string | null
  clientTime?: string | null
}

export interface AuditEntry {
  actor: AuditActor
  action: string
  outcome: AuditOutcome
  project?: string | null
  target?: string | null
  detail?: Record<string, unknown>
}

export interface AuditRow {
  seq: number
  serverTime: string
  userId: string | null
  userName: string
  clientId: string | null
  clientTime: string | null
  project: string | null
  action: string
  outcome: AuditOutcome
  target: string | null
  detail: string
  prevSha256: string
  rowSha256: string
}

const GENESIS = '0'.repeat(64)
// Held until the appending transaction ends, so rows chain in commit order with no gaps.
const AUDIT_LOCK = 7072_0002

/** The hash of a row's content and the hash of the row before it; the field order is fixed. */
export function auditRowSha256(row: Omit<AuditRow, 'rowSha256'>): string {
  return createHash('sha256')
    .update(JSON.stringify(chainedFields(row)))
    .digest('hex')
}

/** A row's hashed fields, in the order of the hash and of audit_log's columns (row_sha256 follows them). */
function chainedFields(row: Omit<AuditRow, 'rowSha256'>): Array<string | number | null> {
  return [
    row.seq,
    row.serverTime,
    row.userId,
    row.userName,
    row.clientId,
    row.clientTime,
    row.project,
    row.action,
    row.outcome,
    row.target,
    row.detail,
    row.prevSha256,
  ]
}

/**
 * Appends one row inside the caller's transaction, so the row lands exactly when the
 * change it records does (sync calls this inside its per-op transaction). Serialised
 * by a transaction-scoped advisory lock: the chain never forks.
 */
export async function appendAudit(tx: Tx, entry: AuditEntry): Promise<AuditRow> {
  return (await appendAuditMany(tx, [entry]))[0]!
}

const AUDIT_COLUMNS = 13
// PostgreSQL takes at most 65535 parameters a statement.
const AUDIT_ROWS_PER_INSERT = Math.floor(65535 / AUDIT_COLUMNS)

/**
 * Appends several rows, chained in the order given, under one take of the lock, with
 * multi-row INSERTs and one head update: a batch of sync ops records each op's row
 * at the cost of one. Nothing is appended for an empty list.
 */
export async function appendAuditMany(tx: Tx, entries: readonly AuditEntry[]): Promise<AuditRow[]> {
  if (entries.length === 0) return []
  await tx.query('SELECT pg_advisory_xact_lock($1)', [AUDIT_LOCK])
  const head = await tx.query<{ seq: string; row_sha256: string }>('SELECT seq, row_sha256 FROM audit_head')
  let seq = head.rows[0] ? Number(head.rows[0].seq) : 0
  let prevSha256 = head.rows[0] ? head.rows[0].row_sha256 : GENESIS
  const serverTime = new Date().toISOString()
  const rows: AuditRow[] = entries.map((entry) => {
    const partial: Omit<AuditRow, 'rowSha256'> = {
      seq: ++seq,
      serverTime,
      userId: entry.actor.userId,
      userName: entry.actor.userName,
      clientId: entry.actor.clientId ?? null,
      clientTime: entry.actor.clientTime ?? null,
      project: entry.project ?? null,
      action: entry.action,
      outcome: entry.outcome,
      target: entry.target ?? null,
      detail: JSON.stringify(entry.detail ?? {}),
      prevSha256,
    }
    const row: AuditRow = { ...partial, rowSha256: auditRowSha256(partial) }
    prevSha256 = row.rowSha256
    return row
  })
  for (let i = 0; i < rows.length; i += AUDIT_ROWS_PER_INSERT) {
    const chunk = rows.slice(i, i + AUDIT_ROWS_PER_INSERT)
    const values = chunk.flatMap((row) => [...chainedFields(row), row.rowSha256])
    const tuples = chunk.map((_, r) => `(${Array.from({ length: AUDIT_COLUMNS }, (_, c) => `$${r * AUDIT_COLUMNS + c + 1}`).join(', ')})`)
    await tx.query(
      `INSERT INTO audit_log (seq, server_time, user_id, user_name, client_id, client_time, project, action, outcome, target, detail, prev_sha256, row_sha256)
       VALUES ${tuples.join(', ')}`,
      values,
    )
  }
  const last = rows.at(-1)!
  await tx.query(
    `INSERT INTO audit_head (id, seq, row_sha256) VALUES (true, $1, $2)
     ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, row_sha256 = excluded.row_sha256`,
    [last.seq, last.rowSha256],
  )
  return rows
}

/** An audit row on its own transaction: for refusals, where the request changes nothing else. */
export async function recordAudit(db: Db, entry: AuditEntry): Promise<AuditRow> {
  const client = await db.connect()
  try {
    await client.query('BEGIN')
    const row = await appendAudit(client, entry)
    await client.query('COMMIT')
    return row
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {})
    throw error
  } finally {
    client.release()
  }
}

interface DbAuditRow {
  seq: string
  server_time: Date
  user_id: string | null
  user_name: string
  client_id: string | null
  client_time: string | null
  project: string | null
  action: string
  outcome: AuditOutcome
  target: string | null
  detail: string
  prev_sha256: string
  row_sha256: string
}

function fromDb(r: DbAuditRow): AuditRow {
  return {
    seq: Number(r.seq),
    serverTime: r.server_time.toISOString(),
    userId: r.user_id,
    userName: r.user_name,
    clientId: r.client_id,
    clientTime: r.client_time,
    project: r.project,
    action: r.action,
    outcome: r.outcome,
    target: r.target,
    detail: r.detail,
    prevSha256: r.prev_sha256,
    rowSha256: r.row_sha256,
  }
}

export async function listAudit(db: Db, options: { after?: number; limit?: number } = {}): Promise<AuditRow[]> {
  const { rows } = await db.query<DbAuditRow>('SELECT * FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2', [
    options.after ?? 0,
    Math.min(options.limit ?? 100, 1000),
  ])
  return rows.map(fromDb)
}

export interface AuditProblem {
  seq: number
  kind: 'edited' | 'inserted' | 'deleted' | 'trimmed'
  message: string
}

export interface AuditVerification {
  ok: boolean
  rows: number
  lastSeq: number
  problems: AuditProblem[]
}

/**
 * Walks the whole chain in order. An edited row no longer hashes to its stored hash
 * (or, if the editor recomputed that, to the next row's prev_sha256); a deleted row
 * leaves a gap in seq and a broken link; an inserted row breaks the link after it;
 * removing the last rows leaves audit_head pointing past the end.
 */
export async function verifyAudit(db: Db): Promise<AuditVerification> {
  const problems: AuditProblem[] = []
  let prevHash = GENESIS
  let prevSeq = 0
  let rows = 0
  const client = await db.connect()
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY')
    const head = (await client.query<{ seq: string; row_sha256: string }>('SELECT seq, row_sha256 FROM audit_head')).rows[0]
    const pageSize = 5000
    for (;;) {
      const page = (await client.query<DbAuditRow>('SELECT * FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2', [prevSeq, pageSize])).rows.map(fromDb)
      for (const row of page) {
        rows++
        const recomputed = auditRowSha256(row)
        if (row.seq !== prevSeq + 1) {
          const missing = row.seq - prevSeq - 1
          problems.push({
            seq: prevSeq + 1,
            kind: 'deleted',
            message: `row${missing > 1 ? `s ${prevSeq + 1}-${row.seq - 1} are` : ` ${prevSeq + 1} is`} missing (between ${prevSeq} and ${row.seq})`,
          })
        } else if (row.prevSha256 !== prevHash) {
          // Row k+1 does not record row k's hash: row k was rewritten with its hash recomputed, or row k+1 was not written by the server.
          problems.push({
            seq: row.seq,
            kind: 'inserted',
            message: `row ${row.seq} does not record the SHA-256 of row ${prevSeq}: one of them was rewritten or inserted outside the server`,
          })
        }
        if (recomputed !== row.rowSha256) {
          problems.push({ seq: row.seq, kind: 'edited', message: `row ${row.seq} was edited: its content no longer matches its stored SHA-256` })
        }
        prevSeq = row.seq
        prevHash = row.rowSha256
      }
      if (page.length < pageSize) break
    }
    await client.query('COMMIT')
    if (head && (Number(head.seq) !== prevSeq || head.row_sha256 !== prevHash)) {
      const headSeq = Number(head.seq)
      problems.push(
        headSeq > prevSeq
          ? {
              seq: prevSeq + 1,
              kind: 'trimmed',
              message: `the log ends at row ${prevSeq} but its head records row ${headSeq}: rows ${prevSeq + 1}-${headSeq} were deleted`,
            }
          : {
              seq: prevSeq,
              kind: headSeq < prevSeq ? 'inserted' : 'edited',
              message: `the last row (${prevSeq}) is not the one the head records (row ${headSeq})`,
            },
      )
    }
    if (!head && rows > 0) problems.push({ seq: 1, kind: 'inserted', message: 'the log has rows but no head: it was written outside the server' })
  } finally {
    client.release()
  }
  const unique = problems.filter((p, i) => problems.findIndex((q) => q.seq === p.seq && q.kind === p.kind) === i)
  return { ok: unique.length === 0, rows, lastSeq: prevSeq, problems: unique }
}
