import type { Migration } from './types.js'

/**
 * Archived datasets and versions: hidden from lists, still readable by `name@V`, so the
 * lineage of a run or model trained on them stays whole. A version nothing depends on
 * is deleted instead (its rows go; its object goes when no other version shares it).
 */
export const migration013: Migration = {
  version: 13,
  name: 'data: archived_at on datasets and dataset versions',
  up(db) {
    db.exec(`
      ALTER TABLE datasets ADD COLUMN archived_at TEXT;
      ALTER TABLE dataset_versions ADD COLUMN archived_at TEXT;

      -- A version deleted before it was pushed is not pushed (its record is gone); one the
      -- server already holds stays there.
      CREATE TRIGGER sync_drop_deleted_dataset_version AFTER DELETE ON dataset_versions
        BEGIN
          DELETE FROM sync_outbox WHERE kind = 'dataset_version.create' AND entity_id = OLD.id AND state IN ('pending', 'missing_ref');
        END;
    `)
  },
}
