// Feature analyses (lm-saes `analyses` and the `analyses[]` / `samplings[]` of its `features` documents, split
// into rows), the context windows samples point into, interpretations and bookmarks.
// Frozen once released: later changes go into a new numbered migration.
import type { Migration } from '../migration';

export const migration0002: Migration = {
  version: 2,
  name: 'features',
  up(db) {
    db.exec(`
      CREATE TABLE analyses (
        id INTEGER PRIMARY KEY,
        uid TEXT NOT NULL UNIQUE,
        dictionary_id INTEGER NOT NULL REFERENCES dictionaries (id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        model_name TEXT NOT NULL REFERENCES models (name),
        dataset_name TEXT NOT NULL REFERENCES datasets (name),
        dataset_split TEXT NOT NULL,
        context_size INTEGER NOT NULL,
        hook_point_in TEXT NOT NULL,
        hook_point_out TEXT NOT NULL,
        n_analyzed_tokens INTEGER NOT NULL,
        n_features INTEGER NOT NULL,
        arrays_file TEXT,
        created_at TEXT NOT NULL,
        UNIQUE (dictionary_id, name)
      ) STRICT;
      CREATE INDEX analyses_by_model ON analyses (model_name);
      CREATE INDEX analyses_by_dataset ON analyses (dataset_name);

      CREATE TABLE features (
        id INTEGER PRIMARY KEY,
        analysis_id INTEGER NOT NULL REFERENCES analyses (id) ON DELETE CASCADE,
        dictionary_id INTEGER NOT NULL REFERENCES dictionaries (id) ON DELETE CASCADE,
        feature_index INTEGER NOT NULL CHECK (feature_index >= 0),
        act_count INTEGER NOT NULL,
        frequency REAL NOT NULL,
        max_activation REAL NOT NULL,
        mean_activation REAL NOT NULL,
        histogram TEXT NOT NULL,
        top_logits TEXT NOT NULL,
        bottom_logits TEXT NOT NULL,
        neighbours TEXT NOT NULL,
        sampling_names TEXT NOT NULL,
        UNIQUE (dictionary_id, analysis_id, feature_index)
      ) STRICT;
      CREATE INDEX features_by_index ON features (analysis_id, feature_index);
      CREATE INDEX features_by_frequency ON features (analysis_id, frequency);
      CREATE INDEX features_by_max ON features (analysis_id, max_activation);

      CREATE TABLE contexts (
        analysis_id INTEGER NOT NULL REFERENCES analyses (id) ON DELETE CASCADE,
        context_idx INTEGER NOT NULL,
        n_tokens INTEGER NOT NULL,
        tokens BLOB,
        tokens_ref TEXT,
        PRIMARY KEY (analysis_id, context_idx),
        CHECK ((tokens IS NULL) <> (tokens_ref IS NULL))
      ) STRICT;

      CREATE TABLE feature_samples (
        id INTEGER PRIMARY KEY,
        feature_id INTEGER NOT NULL REFERENCES features (id) ON DELETE CASCADE,
        analysis_id INTEGER NOT NULL,
        sampling TEXT NOT NULL,
        rank INTEGER NOT NULL,
        context_idx INTEGER NOT NULL,
        max_activation REAL NOT NULL,
        positions BLOB,
        activations BLOB,
        arrays_ref TEXT,
        UNIQUE (feature_id, sampling, rank),
        FOREIGN KEY (analysis_id, context_idx) REFERENCES contexts (analysis_id, context_idx) ON DELETE CASCADE,
        CHECK ((positions IS NULL) = (activations IS NULL) AND (positions IS NULL) <> (arrays_ref IS NULL))
      ) STRICT;
      CREATE INDEX feature_samples_by_context ON feature_samples (analysis_id, context_idx);

      CREATE TABLE feature_interpretations (
        dictionary_id INTEGER NOT NULL REFERENCES dictionaries (id) ON DELETE CASCADE,
        feature_index INTEGER NOT NULL CHECK (feature_index >= 0),
        text TEXT NOT NULL,
        detail TEXT CHECK (detail IS NULL OR json_valid(detail)),
        updated_at TEXT NOT NULL,
        PRIMARY KEY (dictionary_id, feature_index)
      ) STRICT, WITHOUT ROWID;

      CREATE TABLE bookmarks (
        id INTEGER PRIMARY KEY,
        dictionary_id INTEGER NOT NULL REFERENCES dictionaries (id) ON DELETE CASCADE,
        feature_index INTEGER NOT NULL CHECK (feature_index >= 0),
        tags TEXT NOT NULL CHECK (json_valid(tags)),
        note TEXT,
        created_at TEXT NOT NULL,
        UNIQUE (dictionary_id, feature_index)
      ) STRICT;
      CREATE INDEX bookmarks_by_created ON bookmarks (created_at);
    `);
  },
};
