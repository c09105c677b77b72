import type { DuckDBConnection } from '@duckdb/node-api'
import { LatheError } from '../api/common/errors.js'
import type { MonitorEnv, MonitorMigration } from './monitor-migrations/types.js'

/**
 * Brings `monitor.duckdb` up to the newest schema, as `migrate` does for `lathe.db`:
 * `lathe_schema.version` is the last applied migration, and each migration commits
 * with its version bump. A file from a newer Lathe is refused before anything runs.
 */
export async function migrateMonitor(conn: DuckDBConnection, migrations: readonly MonitorMigration[], env: MonitorEnv): Promise<{ from: number; to: number }> {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`monitor migration ${m.name} is numbered ${m.version}, expected ${i + 1}`)
  })
  await conn.run('CREATE TABLE IF NOT EXISTS lathe_schema (version INTEGER NOT NULL)')
  const rows = (await conn.runAndReadAll('SELECT max(version)::INTEGER AS v FROM lathe_schema')).getRowObjectsJS()
  const from = Number(rows[0]?.v ?? 0)
  const latest = migrations.length
  if (from > latest) {
    throw new LatheError(
      'conflict',
      `monitor.duckdb in this workspace was written by a newer Lathe (monitor schema ${from}, this build knows ${latest}); upgrade Lathe to open it`,
      { field: 'workspace' },
    )
  }
  for (const m of migrations.slice(from)) {
    await conn.run('BEGIN TRANSACTION')
    try {
      await m.up(conn, env)
      await conn.run('DELETE FROM lathe_schema')
      await conn.run(`INSERT INTO lathe_schema VALUES (${m.version})`)
      await conn.run('COMMIT')
    } catch (error) {
      await conn.run('ROLLBACK')
      throw error
    }
  }
  return { from, to: latest }
}
