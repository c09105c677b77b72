import type Database from 'better-sqlite3'
import { LatheError } from '../api/common/errors.js'
import type { Migration } from './migrations/types.js'

/**
 * Brings `lathe.db` up to the newest schema. `user_version` holds the number of the
 * last applied migration; each migration and its version bump commit together, so a
 * crash leaves the database at the previous version, never between two.
 */
export function migrate(db: Database.Database, migrations: readonly Migration[]): { from: number; to: number } {
  // Numbers rise strictly; a gap is a number handed to another branch that has not landed yet.
  migrations.forEach((m, i) => {
    const before = i === 0 ? 0 : migrations[i - 1]!.version
    if (m.version <= before) throw new Error(`migration ${m.name} is numbered ${m.version}, expected more than ${before}`)
  })
  const from = db.pragma('user_version', { simple: true }) as number
  const latest = migrations.at(-1)?.version ?? 0
  if (from > latest) {
    throw new LatheError(
      'conflict',
      `this workspace was written by a newer Lathe (schema ${from}, this build knows ${latest}); upgrade Lathe to open it`,
    )
  }
  for (const m of migrations.filter((m) => m.version > from)) {
    db.transaction(() => {
      m.up(db)
      db.pragma(`user_version = ${m.version}`)
    }).immediate()
  }
  return { from, to: latest }
}
