import type { Migration } from './types.js'

export const migration006: Migration = {
  version: 6,
  name: 'serving: remembered deployments',
  up(db) {
    db.exec(`
      -- What the endpoint serves, so a restart (of the app or of lathe serve) serves it again.
      CREATE TABLE serving_deployments (
        model      TEXT PRIMARY KEY,
        -- An alias to follow, or a version number as text (pinned).
        selector   TEXT NOT NULL,
        logging    INTEGER NOT NULL,
        is_default INTEGER NOT NULL,
        updated_at TEXT NOT NULL
      ) STRICT;
    `)
  },
}
