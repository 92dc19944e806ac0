// Bookmarks, interpretations and dictionaries persist across reopening the store; readers cannot write.
import { describe, expect, it } from 'vitest';
import { InputError } from '../../../src/core/errors';
import {
  addBookmark,
  getDictionary,
  getFeature,
  getInterpretation,
  listBookmarks,
  listDictionaries,
  openStore,
  removeBookmark,
  saveAnalysis,
  setDictionaryMetrics,
  setInterpretation,
  upsertDictionary,
} from '../../../src/core/store';
import { syntheticAnalysis, useTempDirs } from './helpers';

const tempDir = useTempDirs();

describe('bookmarks and interpretations', () => {
  it('persist across reopening the store', async () => {
    const dir = tempDir();
    let store = openStore({ dir });
    saveAnalysis(store, syntheticAnalysis());
    upsertDictionary(store, {
      name: 'second',
      series: 'gpt2',
      path: '/d/second',
      config: { d_sae: 16, sae_type: 'sae' },
    });
    addBookmark(store, 'toy-sae', 2, { tags: ['syntax', 'python', 'syntax '], note: 'opens a block' });
    await new Promise((r) => setTimeout(r, 2));
    addBookmark(store, 'second', 15, { tags: ['french'] });
    await new Promise((r) => setTimeout(r, 2));
    addBookmark(store, 'toy-sae', 9);
    setInterpretation(store, 'toy-sae', 2, 'Python block openers', {
      detail: { complexity: 2, consistency: 4, passed: true },
    });
    setInterpretation(store, 'second', 15, 'French articles');
    store.close();

    store = openStore({ dir, readonly: true });
    try {
      expect(listBookmarks(store).map((b) => [b.dictionary, b.index])).toEqual([
        ['toy-sae', 9],
        ['second', 15],
        ['toy-sae', 2],
      ]);
      expect(listBookmarks(store, { dictionary: 'toy-sae', tags: ['python'] })).toEqual([
        {
          dictionary: 'toy-sae',
          index: 2,
          tags: ['syntax', 'python'],
          note: 'opens a block',
          createdAt: expect.any(String),
        },
      ]);
      expect(listBookmarks(store, { tags: ['french', 'python'] }).map((b) => b.index)).toEqual([15, 2]);
      expect(listBookmarks(store, { limit: 1, offset: 1 }).map((b) => b.index)).toEqual([15]);
      expect(getInterpretation(store, 'toy-sae', 2)).toEqual({
        text: 'Python block openers',
        detail: { complexity: 2, consistency: 4, passed: true },
        updatedAt: expect.any(String),
      });
      const detail = getFeature(store, 'toy-sae', 2);
      expect(detail.bookmark?.note).toBe('opens a block');
      expect(detail.interpretation?.text).toBe('Python block openers');
      expect(listDictionaries(store).map((d) => d.name)).toEqual(['second', 'toy-sae']);
      expect(listDictionaries(store, { series: 'gpt2' }).map((d) => d.name)).toEqual(['second']);
      // A reader's connection refuses writes with a one-line message.
      expect(() => addBookmark(store, 'toy-sae', 3)).toThrow(
        /studio\.db: opened read-only; saving a bookmark needs the writer's connection/,
      );
    } finally {
      store.close();
    }
  });

  it('updates a bookmark in place, removes it, and clears interpretations', () => {
    const store = openStore({ dir: tempDir() });
    try {
      upsertDictionary(store, { name: 'd', path: '/d', config: { d_sae: 10 } });
      const first = addBookmark(store, 'd', 4, { tags: ['a'], note: 'first' });
      const again = addBookmark(store, 'd', 4, { tags: ['b'] }); // note kept, tags replaced, creation time kept
      expect(again).toEqual({ ...first, tags: ['b'] });
      expect(addBookmark(store, 'd', 4, { note: null })).toEqual({ ...first, tags: ['b'], note: null });
      expect(removeBookmark(store, 'd', 4)).toBe(true);
      expect(removeBookmark(store, 'd', 4)).toBe(false);
      expect(listBookmarks(store)).toEqual([]);
      expect(() => addBookmark(store, 'd', 10)).toThrow(
        new InputError("feature index 10 is out of range for dictionary 'd' (0 to 9)"),
      );
      expect(() => addBookmark(store, 'd', 1, { tags: [' '] })).toThrow(/a tag must not be empty/);

      setInterpretation(store, 'd', 1, 'something');
      expect(setInterpretation(store, 'd', 1, '  ')).toBeNull();
      expect(getInterpretation(store, 'd', 1)).toBeNull();
      expect(() => setInterpretation(store, 'nope', 1, 'x')).toThrow(
        new InputError("unknown dictionary 'nope' (known: d)"),
      );
    } finally {
      store.close();
    }
  });

  it('upserts dictionaries with their metrics and guards d_sae once analyses exist', () => {
    const store = openStore({ dir: tempDir() });
    try {
      const made = upsertDictionary(store, {
        name: 'toy-sae',
        path: '/a',
        config: { d_sae: 64, act_fn: 'topk' },
        metrics: { explained_variance: 0.8 },
      });
      expect(made).toMatchObject({ series: 'default', saeType: 'sae', dSae: 64, metrics: { explained_variance: 0.8 } });
      const moved = upsertDictionary(store, { name: 'toy-sae', path: '/b', config: { d_sae: 64, act_fn: 'topk' } });
      expect(moved).toMatchObject({ path: '/b', metrics: { explained_variance: 0.8 }, createdAt: made.createdAt });
      expect(setDictionaryMetrics(store, 'toy-sae', { l0: 32, ce_loss_score: Number.NaN }).metrics).toEqual({
        l0: 32,
        ce_loss_score: Number.NaN,
      });
      saveAnalysis(store, syntheticAnalysis());
      expect(() => upsertDictionary(store, { name: 'toy-sae', path: '/b', config: { d_sae: 128 } })).toThrow(
        /d_sae changes from 64 to 128 but 1 analyses of the old one exist/,
      );
      expect(() => upsertDictionary(store, { name: 'x', path: '/x', config: { d_sae: 0 } })).toThrow(
        /config field 'd_sae' must be a positive integer/,
      );
      expect(getDictionary(store, 'toy-sae').dSae).toBe(64);
    } finally {
      store.close();
    }
  });
});
