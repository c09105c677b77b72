import { LatheError } from '../engine/api/common/errors.js'
import { inTransaction, type Db, type Tx } from './db.js'

/**
 * A numbered, permanent schema step. Numbers are owned by area so branches never
 * collide: 001-009 the team server core (users, tokens, audit, uploads), 010+ sync.
 * A released migration is never edited; a change is a new number.
 */
export interface TeamMigration {
  version: number
  name: string
  up(tx: Tx): Promise<void>
}

export interface SchemaState {
  current: number
  latest: number
  pending: TeamMigration[]
}

// Any 64-bit key; held for the length of a migration run so two `init`s do not interleave.
const MIGRATION_LOCK = 7072_0001

async function appliedVersions(tx: Tx): Promise<Map<number, string>> {
  await tx.query(`CREATE TABLE IF NOT EXISTS team_schema (
    version integer PRIMARY KEY,
    name text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
  )`)
  const { rows } = await tx.query<{ version: number; name: string }>('SELECT version, name FROM team_schema ORDER BY version')
  return new Map(rows.map((r) => [r.version, r.name]))
}

function checkList(migrations: TeamMigration[]): TeamMigration[] {
  const sorted = [...migrations].sort((a, b) => a.version - b.version)
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.version === sorted[i - 1]!.version) {
      throw new Error(`two team migrations share number ${sorted[i]!.version}: ${sorted[i - 1]!.name}, ${sorted[i]!.name}`)
    }
  }
  return sorted
}

function refuseNewer(applied: Map<number, string>, latest: number): void {
  const newest = Math.max(0, ...applied.keys())
  if (newest > latest) {
    throw new LatheError(
      'conflict',
      `the team database is at schema version ${newest}, newer than this lathe knows (${latest}): upgrade lathe before using this database`,
      { field: 'db' },
    )
  }
}

/** Where the database stands, without changing it (beyond creating the bookkeeping table). */
export async function schemaState(db: Db, migrations: TeamMigration[]): Promise<SchemaState> {
  const sorted = checkList(migrations)
  return inTransaction(db, async (tx) => {
    const applied = await appliedVersions(tx)
    const latest = sorted.at(-1)?.version ?? 0
    refuseNewer(applied, latest)
    return { current: Math.max(0, ...applied.keys()), latest, pending: sorted.filter((m) => !applied.has(m.version)) }
  })
}

/** Applies every pending migration in order, each in its own transaction; refuses a newer schema. */
export async function migrate(db: Db, migrations: TeamMigration[]): Promise<{ from: number; to: number; applied: string[] }> {
  const sorted = checkList(migrations)
  const latest = sorted.at(-1)?.version ?? 0
  const lock = await db.connect()
  try {
    await lock.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK])
    const applied = await inTransaction(db, appliedVersions)
    refuseNewer(applied, latest)
    const from = Math.max(0, ...applied.keys())
    const done: string[] = []
    for (const m of sorted) {
      if (applied.has(m.version)) continue
      await inTransaction(db, async (tx) => {
        await m.up(tx)
        await tx.query('INSERT INTO team_schema (version, name) VALUES ($1, $2)', [m.version, m.name])
      })
      done.push(`${String(m.version).padStart(3, '0')}-${m.name}`)
    }
    return { from, to: Math.max(from, latest), applied: done }
  } finally {
    await lock.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => {})
    lock.release()
  }
}

/** For `start`: the schema must be exactly what this lathe knows. */
export async function requireCurrentSchema(db: Db, migrations: TeamMigration[]): Promise<void> {
  const state = await schemaState(db, migrations)
  if (state.current === 0) {
    throw new LatheError('conflict', 'this database has no team server schema yet: run `lathe team-server init --db ... --objects ...` first', { field: 'db' })
  }
  if (state.pending.length) {
    throw new LatheError(
      'conflict',
      `the team database is at schema version ${state.current}, this lathe needs ${state.latest}: run \`lathe team-server migrate --db ...\` (after a backup)`,
      { field: 'db' },
    )
  }
}
