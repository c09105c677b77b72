import type { Migration } from './types.js'

/**
 * A person's decision on an alias move the team server refused (a conflict): promote
 * again against the new current version (the gate re-runs, a new move goes out), or
 * drop the move. The refused outbox entry keeps its state and answer; a decided one is
 * no longer an open conflict. One row per refused op: deciding twice is refused.
 */
export const migration012: Migration = {
  version: 12,
  name: 'sync: decisions on refused alias moves (promote again or drop)',
  up(db) {
    db.exec(`
      CREATE TABLE sync_decisions (
        op_id      TEXT PRIMARY KEY REFERENCES sync_outbox(op_id),
        decision   TEXT NOT NULL CHECK (decision IN ('promoted', 'dropped')),
        -- The alias move the new decision made (promoted), as registry_alias_history.uid.
        move_uid   TEXT,
        actor      TEXT NOT NULL,
        decided_at TEXT NOT NULL,
        note       TEXT
      ) STRICT;
    `)
  },
}
