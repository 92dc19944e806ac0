// What the export selects, and two lm-saes pitfalls the spec flags (§3, §5.9), as decided in decision 0085: a
// feature document never holds two analysis elements of one name (lm-saes's re-run appends a duplicate), and
// sync push holds back bookmarks of features without analyses (one of them makes lm-saes's bookmarks page 404),
// while a folder export keeps them. --series and --only pick their records.
import type { Document } from 'bson';
import { describe, expect, it } from 'vitest';
import { addBookmark, openStore } from '../../../src/core/store';
import { exportDocuments, type ExportOptions } from '../../../src/core/sync/export-documents';
import { useTempDirs } from '../store/helpers';
import { buildFullStore } from './store-fixture';

const tempDir = useTempDirs();

async function collect(dir: string, options: ExportOptions): Promise<Map<string, Document[]>> {
  const out = new Map<string, Document[]>();
  const store = openStore({ dir, readonly: true });
  try {
    await exportDocuments(
      store,
      {
        file: async () => undefined,
        doc: async (c, d) => void out.set(c, [...(out.get(c) ?? []), d]),
      },
      options,
    );
  } finally {
    store.close();
  }
  return out;
}

describe('export options and lm-saes pitfalls', () => {
  it('holds back bookmarks of unanalysed features only when asked, and never repeats an analysis name', async () => {
    const dir = tempDir();
    buildFullStore(dir);
    const store = openStore({ dir });
    addBookmark(store, 'toy-sae', 40, { note: 'interpreted, never analysed' });
    store.close();
    const heldBack = { bookmarks: 0 };
    const pushed = await collect(dir, { onlyAnalysedBookmarks: true, heldBack });
    expect(pushed.get('bookmarks')!.map((b) => `${b.sae_name}#${Number(b.feature_index)}`)).toEqual([
      'toy-clt#5',
      'toy-sae#1',
    ]);
    expect(heldBack.bookmarks).toBe(1);
    const copied = await collect(dir, {});
    expect(copied.get('bookmarks')).toHaveLength(3);
    for (const f of copied.get('features')!) {
      const names = (f.analyses as Document[]).map((a) => a.name as string);
      expect(new Set(names).size, `${f.sae_name}#${Number(f.index)}`).toBe(names.length);
    }
    // toy-sae has two analyses: every analysed feature document carries both, `default` first.
    const sae = copied.get('features')!.filter((f) => f.sae_name === 'toy-sae' && f.analyses.length > 0);
    expect(sae.every((f) => f.analyses.map((a: Document) => a.name).join() === 'default,second')).toBe(true);
  });

  it('selects records by series and by --only groups', async () => {
    const dir = tempDir();
    buildFullStore(dir);
    const none = await collect(dir, { series: 'other-series' });
    expect([...none.keys()].sort()).toEqual(['datasets', 'models']);
    const only = await collect(dir, { only: ['bookmarks', 'circuits'] });
    expect([...only.keys()].sort()).toEqual(['bookmarks', 'circuits', 'sae_sets']);
  });
});
