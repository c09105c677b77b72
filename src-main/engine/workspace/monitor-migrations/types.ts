import type { DuckDBConnection } from '@duckdb/node-api'

/** Where a monitor.duckdb migration may put files: the prediction log's segment folder. */
export interface MonitorEnv {
  logDir: string
}

/**
 * A numbered change to `monitor.duckdb`. Each table (or view) has one owner, the
 * capability that writes it; only that owner's migrations touch it. Released
 * migrations are never edited: add a new one.
 */
export interface MonitorMigration {
  version: number
  name: string
  owner: 'serving' | 'monitoring'
  up: (conn: DuckDBConnection, env: MonitorEnv) => Promise<void>
}
