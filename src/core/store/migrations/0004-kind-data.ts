// The dictionary kinds' own analysis data (protocol/features.ts): per feature (a CLT's decoder norm per target
// layer, a crosscoder's per-head decoder norms and similarity, a Lorsa's QK head, a MoLT transform's rank) and per
// sample (a Lorsa z-pattern, a crosscoder's per-head activations), as JSON; null for an SAE.
// Frozen once released: later changes go into a new numbered migration.
import type { Migration } from '../migration';

export const migration0004: Migration = {
  version: 4,
  name: 'kind-data',
  up(db) {
    db.exec(`
      ALTER TABLE features ADD COLUMN kind_data TEXT CHECK (kind_data IS NULL OR json_valid(kind_data));
      ALTER TABLE feature_samples ADD COLUMN kind_data TEXT CHECK (kind_data IS NULL OR json_valid(kind_data));
    `);
  },
};
