// lm-saes's indexes (spec §1, §2), named as PyMongo names them (`<field>_<dir>` joined by `_`): written into a
// mongodump's metadata.json and created by `sync push` (a same-key index under another name would stop lm-saes's
// server from starting).
import type { Document } from 'bson';

export interface IndexSpec {
  key: Record<string, 1 | -1>;
  unique?: boolean;
}

export const LM_SAES_INDEXES: Record<string, readonly IndexSpec[]> = {
  saes: [{ key: { name: 1, series: 1 }, unique: true }, { key: { series: 1 } }],
  analyses: [{ key: { name: 1, sae_name: 1, sae_series: 1 }, unique: true }],
  features: [{ key: { sae_name: 1, sae_series: 1, index: 1 }, unique: true }],
  datasets: [{ key: { name: 1 }, unique: true }],
  models: [{ key: { name: 1 }, unique: true }],
  bookmarks: [{ key: { sae_name: 1, sae_series: 1, feature_index: 1 }, unique: true }, { key: { created_at: -1 } }],
  sae_sets: [{ key: { name: 1 }, unique: true }, { key: { sae_series: 1 } }],
  circuits: [{ key: { sae_series: 1 } }, { key: { created_at: -1 } }],
  studio_runs: [{ key: { id: 1 }, unique: true }],
  'fs.files': [{ key: { filename: 1, uploadDate: 1 } }],
  'fs.chunks': [{ key: { files_id: 1, n: 1 }, unique: true }],
};

export const indexName = (spec: IndexSpec): string =>
  Object.entries(spec.key)
    .map(([k, d]) => `${k}_${d}`)
    .join('_');

/** The `listIndexes` documents of a collection, `_id_` first, as mongodump writes them into metadata.json. */
export function listIndexDocuments(collection: string): Document[] {
  return [
    { v: 2, key: { _id: 1 }, name: '_id_' },
    ...(LM_SAES_INDEXES[collection] ?? []).map((s) => ({
      v: 2,
      key: s.key,
      name: indexName(s),
      ...(s.unique ? { unique: true } : {}),
    })),
  ];
}
