// Sync state with an lm-saes MongoDB (core/sync): per target (a server and database, never its password), the hash
// of every record as last pushed or pulled, one row per sync run (a checkpoint: what moved, whether it finished),
// and the conflict log (a record edited on both sides since the last sync: the loser's value is kept here).
// Frozen once released: later changes go into a new numbered migration.
import type { Migration } from '../migration';

export const migration0005: Migration = {
  version: 5,
  name: 'sync-state',
  up(db) {
    db.exec(`
      CREATE TABLE sync_records (
        target TEXT NOT NULL,
        collection TEXT NOT NULL,
        record_key TEXT NOT NULL,
        hash TEXT NOT NULL,
        synced_at TEXT NOT NULL,
        PRIMARY KEY (target, collection, record_key)
      ) STRICT, WITHOUT ROWID;

      CREATE TABLE sync_runs (
        id INTEGER PRIMARY KEY,
        target TEXT NOT NULL,
        direction TEXT NOT NULL CHECK (direction IN ('push', 'pull')),
        status TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed')),
        counts TEXT NOT NULL CHECK (json_valid(counts)),
        error TEXT,
        started_at TEXT NOT NULL,
        finished_at TEXT
      ) STRICT;
      CREATE INDEX sync_runs_by_target ON sync_runs (target, started_at);

      CREATE TABLE sync_conflicts (
        id INTEGER PRIMARY KEY,
        target TEXT NOT NULL,
        collection TEXT NOT NULL,
        record_key TEXT NOT NULL,
        field TEXT NOT NULL,
        winner TEXT NOT NULL CHECK (winner IN ('local', 'remote')),
        local_value TEXT,
        remote_value TEXT,
        local_updated_at TEXT,
        remote_updated_at TEXT,
        resolved_at TEXT NOT NULL
      ) STRICT;
      CREATE INDEX sync_conflicts_by_target ON sync_conflicts (target, resolved_at);
    `);
  },
};
