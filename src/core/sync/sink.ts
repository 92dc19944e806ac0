// Where the lm-saes documents built from the store go (a mongodump folder, an Extended JSON folder, a MongoDB):
// GridFS files first, then the documents that refer to them, so a reader never meets a dangling reference.
import type { Document, ObjectId } from 'bson';

export interface StoredFile {
  id: ObjectId;
  /** lm-saes gives sampling arrays no filename; circuits' and weights' files have one. */
  filename?: string;
  bytes: Uint8Array;
}

export interface DocumentSink {
  /** A GridFS file in bucket `fs`; called before any document that refers to it. */
  file(file: StoredFile): Promise<void>;
  doc(collection: string, doc: Document): Promise<void>;
}

/** The lm-saes collections (§1 of the spec) plus ours, in the order they are written. */
export const COLLECTIONS = [
  'models',
  'datasets',
  'saes',
  'analyses',
  'features',
  'bookmarks',
  'sae_sets',
  'circuits',
  'studio_runs',
] as const;
export type CollectionName = (typeof COLLECTIONS)[number];

/** What `--only` picks: groups of collections a user thinks in. */
export const SYNC_COLLECTION_GROUPS = ['dictionaries', 'analyses', 'features', 'bookmarks', 'circuits'] as const;
export type SyncCollectionGroup = (typeof SYNC_COLLECTION_GROUPS)[number];

const GROUP_COLLECTIONS: Record<SyncCollectionGroup, readonly CollectionName[]> = {
  dictionaries: ['models', 'datasets', 'saes', 'sae_sets'],
  analyses: ['models', 'datasets', 'analyses'],
  features: ['features'],
  bookmarks: ['bookmarks'],
  circuits: ['sae_sets', 'circuits'],
};

/** The collections `only` selects (every collection, runs included, when it is absent or empty). */
export function collectionsOf(only: readonly SyncCollectionGroup[] | undefined): Set<CollectionName> {
  if (!only || only.length === 0) return new Set(COLLECTIONS);
  return new Set(only.flatMap((g) => GROUP_COLLECTIONS[g]));
}
