// Attribution graphs and dictionary sets (lm-saes `circuits` and `sae_sets`): a graph row per prompt with its
// settings, status and progress, its full matrix and pruned JSON as files beside the database; a dictionary set
// names the dictionaries that together replace a model, each with the sublayer it replaces.
// Frozen once released: later changes go into a new numbered migration.
import type { Migration } from '../migration';

export const migration0003: Migration = {
  version: 3,
  name: 'graphs',
  up(db) {
    db.exec(`
      CREATE TABLE dictionary_sets (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE CHECK (name <> ''),
        model_name TEXT,
        description TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      ) STRICT;

      CREATE TABLE dictionary_set_members (
        set_id INTEGER NOT NULL REFERENCES dictionary_sets (id) ON DELETE CASCADE,
        position INTEGER NOT NULL CHECK (position >= 0),
        dictionary_name TEXT NOT NULL REFERENCES dictionaries (name) ON UPDATE CASCADE,
        role TEXT NOT NULL CHECK (role IN ('attn', 'mlp')),
        PRIMARY KEY (set_id, position),
        UNIQUE (set_id, dictionary_name)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX dictionary_set_members_by_dictionary ON dictionary_set_members (dictionary_name);

      CREATE TABLE graphs (
        id INTEGER PRIMARY KEY,
        uid TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL UNIQUE CHECK (name <> ''),
        prompt TEXT NOT NULL,
        prompt_ids BLOB NOT NULL,
        dictionary_set TEXT,
        model_name TEXT,
        settings TEXT NOT NULL CHECK (json_valid(settings)),
        status TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed', 'cancelled')),
        progress REAL NOT NULL CHECK (progress >= 0 AND progress <= 1),
        error TEXT,
        n_nodes INTEGER,
        n_links INTEGER,
        matrix_file TEXT,
        json_file TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        finished_at TEXT
      ) STRICT;
      CREATE INDEX graphs_by_created ON graphs (created_at);
      CREATE INDEX graphs_by_set ON graphs (dictionary_set);
    `);
  },
};
