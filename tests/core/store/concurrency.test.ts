// One writer, many readers (WAL): readers opened while the writer holds a transaction read the last committed
// state without waiting, and see the writer's work once it commits.
import { describe, expect, it } from 'vitest';
import {
  getFeature,
  listDictionaries,
  listFeatures,
  openStore,
  saveAnalysis,
  upsertDictionary,
  type Store,
} from '../../../src/core/store';
import { syntheticAnalysis, useTempDirs } from './helpers';

const tempDir = useTempDirs();

describe('readers beside the writer', () => {
  it('read the committed analysis while the writer is inside the transaction replacing it', () => {
    const dir = tempDir();
    const writer = openStore({ dir });
    const old = syntheticAnalysis({ dSae: 1024, nFeatures: 600, seed: 1 });
    saveAnalysis(writer, old);
    const readers: Store[] = [openStore({ dir, readonly: true })]; // opened before the write transaction
    try {
      const fresh = syntheticAnalysis({ dSae: 1024, nFeatures: 64, seed: 2 });
      const seen: number[][] = [];
      saveAnalysis(writer, fresh, {
        replace: true,
        onProgress: () => {
          // Inside the write transaction: the reader opened before and one opened now both see the old analysis.
          readers.push(openStore({ dir, readonly: true }));
          for (const reader of readers) {
            seen.push([
              listFeatures(reader, 'toy-sae', { limit: 1000 }).total,
              getFeature(reader, 'toy-sae', 100).stats?.actCount ?? -1,
            ]);
          }
        },
      });
      const oldCount = old.features[100]!.actCount; // feature 100 is only in the old analysis
      expect(seen).toEqual([
        [600, oldCount],
        [600, oldCount],
      ]);
      // After the commit the same reader connections see the new analysis.
      for (const reader of readers) {
        expect(listFeatures(reader, 'toy-sae').total).toBe(64);
        expect(getFeature(reader, 'toy-sae', 100).stats).toBeNull();
      }
    } finally {
      for (const r of readers) r.close();
      writer.close();
    }
  });

  it('do not see uncommitted rows, and see them after COMMIT', () => {
    const dir = tempDir();
    const writer = openStore({ dir });
    const reader = openStore({ dir, readonly: true });
    try {
      writer.db.exec('BEGIN IMMEDIATE');
      upsertDictionary(writer, { name: 'pending', path: '/p', config: { d_sae: 4 } }); // nested: a savepoint
      expect(listDictionaries(writer).map((d) => d.name)).toEqual(['pending']);
      expect(listDictionaries(reader)).toEqual([]);
      const late = openStore({ dir, readonly: true });
      expect(listDictionaries(late)).toEqual([]);
      late.close();
      writer.db.exec('COMMIT');
      expect(listDictionaries(reader).map((d) => d.name)).toEqual(['pending']);
    } finally {
      reader.close();
      writer.close();
    }
  });
});
