import type { Migration } from './types.js'

/**
 * Deleting and archiving runs and models, with lineage kept. What something depends on
 * is checked by the operations (they list it for the person deciding); these triggers
 * are the floor under them: no change can erase a record that lineage or a team points at.
 */
export const migration014: Migration = {
  version: 14,
  name: 'removal: archive flags for models and versions; deletes that keep lineage',
  up(db) {
    db.exec(`
      ALTER TABLE registry_models ADD COLUMN archived_at TEXT;
      ALTER TABLE registry_versions ADD COLUMN archived_at TEXT;

      -- A version may go only when nothing refers to it: no alias holds it or ever did,
      -- and no team has it (pushed, or pulled from the server).
      DROP TRIGGER registry_versions_no_delete;
      CREATE TRIGGER registry_versions_no_delete BEFORE DELETE ON registry_versions
        WHEN EXISTS (SELECT 1 FROM registry_aliases WHERE version_id = OLD.id)
          OR EXISTS (SELECT 1 FROM registry_alias_history WHERE version_id = OLD.id OR previous_version_id = OLD.id)
          OR EXISTS (SELECT 1 FROM sync_outbox WHERE entity_id = OLD.id AND state <> 'pending')
          OR EXISTS (SELECT 1 FROM sync_pulled WHERE entity_id = OLD.id)
        BEGIN SELECT RAISE(ABORT, 'a model version with alias history or on a team server is kept for lineage: archive it'); END;
      CREATE TRIGGER registry_versions_deleted AFTER DELETE ON registry_versions
        BEGIN DELETE FROM sync_outbox WHERE entity_id = OLD.id AND state = 'pending'; END;

      -- A run that a model version was registered from, or that a team has, is archived, never deleted.
      CREATE TRIGGER training_runs_no_delete BEFORE DELETE ON training_runs
        WHEN EXISTS (SELECT 1 FROM registry_versions WHERE run_id = OLD.id)
          OR EXISTS (SELECT 1 FROM sync_outbox WHERE entity_id = OLD.id AND state <> 'pending')
          OR EXISTS (SELECT 1 FROM sync_pulled WHERE entity_id = OLD.id)
        BEGIN SELECT RAISE(ABORT, 'a run that a model version was registered from, or on a team server, is kept for lineage: archive it'); END;
      CREATE TRIGGER training_runs_deleted AFTER DELETE ON training_runs
        BEGIN DELETE FROM sync_outbox WHERE entity_id = OLD.id AND state = 'pending'; END;
    `)
  },
}
