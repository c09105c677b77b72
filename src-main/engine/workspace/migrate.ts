import type Database from 'better-sqlite3'
import { LatheError } from '../api/common/errors.js'
import type { Migration } from './migrations/types.js'

/**
 * Brings `lathe.db` up to the newest schema. `user_version` holds the number of the
 * last applied migration; each migration and its version bump commit together, so a
 * crash leaves the database at the previous version, never between two.
 *
 * Numbers are assigned to branches ahead of time, so a build may ship 010 before 007
 * has landed: the list must increase, and `workspace_migrations` records which
 * numbers a database holds, so a number that lands later is still applied to a
 * database already at a higher one.
 */
export function migrate(db: Database.Database, migrations: readonly Migration[]): { from: number; to: number } {
  // Numbers rise but may skip: each branch of the project owns its own numbers, so a
  // build can carry 008 before 007 lands.
  migrations.forEach((m, i) => {
    const previous = i === 0 ? 0 : migrations[i - 1]!.version
    if (!Number.isInteger(m.version) || m.version <= previous) {
      throw new Error(`migration ${m.name} is numbered ${m.version}, expected a number above ${previous}`)
    }
  })
  const from = db.pragma('user_version', { simple: true }) as number
  const latest = migrations.at(-1)?.version ?? 0
  if (from > latest) {
    throw new LatheError('conflict', `this workspace was written by a newer Lathe (schema ${from}, this build knows ${latest}); upgrade Lathe to open it`)
  }
  const applied = appliedVersions(db, migrations, from)
  for (const m of migrations) {
    if (applied.has(m.version)) continue
    db.transaction(() => {
      m.up(db)
      db.prepare('INSERT INTO workspace_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, new Date().toISOString())
      db.pragma(`user_version = ${Math.max(m.version, db.pragma('user_version', { simple: true }) as number)}`)
    }).immediate()
  }
  return { from, to: latest }
}

/** The numbers this database holds; a database from before the table holds every number up to its user_version. */
function appliedVersions(db: Database.Database, migrations: readonly Migration[], from: number): Set<number> {
  db.transaction(() => {
    const exists = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'workspace_migrations'`).get()
    if (exists) return
    db.exec('CREATE TABLE workspace_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL) STRICT')
    const insert = db.prepare('INSERT INTO workspace_migrations (version, name, applied_at) VALUES (?, ?, ?)')
    for (const m of migrations) if (m.version <= from) insert.run(m.version, m.name, 'before workspace_migrations')
  }).immediate()
  return new Set(db.prepare('SELECT version FROM workspace_migrations').pluck().all() as number[])
}
