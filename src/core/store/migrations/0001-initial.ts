// Models, datasets, dictionaries (lm-saes `models`, `datasets`, `saes`) and training runs with their metrics.
// Frozen once released: later changes go into a new numbered migration.
import type { Migration } from '../migration';

export const migration0001: Migration = {
  version: 1,
  name: 'initial',
  up(db) {
    db.exec(`
      CREATE TABLE models (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        cfg TEXT NOT NULL CHECK (json_valid(cfg)),
        created_at TEXT NOT NULL
      ) STRICT;

      CREATE TABLE datasets (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        cfg TEXT NOT NULL CHECK (json_valid(cfg)),
        created_at TEXT NOT NULL
      ) STRICT;

      CREATE TABLE dictionaries (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        series TEXT NOT NULL,
        path TEXT NOT NULL,
        sae_type TEXT NOT NULL,
        d_sae INTEGER NOT NULL CHECK (d_sae > 0),
        model_name TEXT,
        config TEXT NOT NULL CHECK (json_valid(config)),
        metrics TEXT CHECK (metrics IS NULL OR json_valid(metrics)),
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      ) STRICT;
      CREATE INDEX dictionaries_by_series ON dictionaries (series);

      CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        dictionary_name TEXT NOT NULL,
        config TEXT NOT NULL CHECK (json_valid(config)),
        status TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed', 'cancelled')),
        error TEXT,
        started_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        finished_at TEXT
      ) STRICT;
      CREATE INDEX runs_by_updated ON runs (updated_at);

      CREATE TABLE run_metrics (
        run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        step INTEGER NOT NULL,
        tokens INTEGER NOT NULL,
        metrics TEXT NOT NULL,
        PRIMARY KEY (run_id, step)
      ) STRICT, WITHOUT ROWID;

      CREATE TABLE run_checkpoints (
        run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        step INTEGER NOT NULL,
        tokens INTEGER NOT NULL,
        path TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (run_id, step)
      ) STRICT, WITHOUT ROWID;
    `);
  },
};
