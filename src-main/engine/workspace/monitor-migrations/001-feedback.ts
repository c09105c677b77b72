import type { MonitorMigration } from './types.js'

export const monitorMigration001: MonitorMigration = {
  version: 1,
  name: 'monitoring: feedback labels',
  owner: 'monitoring',
  async up(conn) {
    // One label per logged row: a corrected label replaces the earlier one. IF NOT EXISTS: workspaces from
    // before numbered migrations already have it.
    await conn.run(`CREATE TABLE IF NOT EXISTS feedback (
      request_id VARCHAR NOT NULL, row_index INTEGER NOT NULL, label JSON, time TIMESTAMPTZ NOT NULL,
      PRIMARY KEY (request_id, row_index))`)
  },
}
