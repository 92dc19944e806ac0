// Walks the store and hands every record to a sink as lm-saes documents, GridFS files before the documents that
// refer to them: the one producer behind the mongodump and Extended JSON exports and `sync push`.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { arrayReader } from '../store/array-files';
import type { Store } from '../store/database';
import { DEFAULT_SERIES } from '../store/dictionaries';
import type {
  AnalysisRow,
  BookmarkRow,
  DictionaryRow,
  DictionarySetMemberRow,
  DictionarySetRow,
  GraphRow,
  ModelRow,
  RunRow,
} from '../store/rows';
import { derivedObjectId } from './bson-values';
import { analysisDocument, emitFeatureDocuments } from './export-features';
import {
  bookmarkDocument,
  catalogDocument,
  circuitDocument,
  runDocument,
  saeDocument,
  saeSetDocument,
} from './export-records';
import { collectionsOf, type DocumentSink, type SyncCollectionGroup } from './sink';

export interface ExportOptions {
  /** Only the dictionaries of this series (and their records, sets and circuits). */
  series?: string;
  only?: readonly SyncCollectionGroup[];
  /** Also put each dictionary's weight files in GridFS (`studio_weights` on its `saes` document). */
  gridfsWeights?: boolean;
  /**
   * Leave out bookmarks of features with no analysis (lm-saes's bookmarks page answers 404 for all bookmarks when
   * one of them points at a feature without analyses — spec §5.9); `heldBack` counts them. Sync push sets it; a
   * folder export keeps every bookmark (it is a copy of the store).
   */
  onlyAnalysedBookmarks?: boolean;
  heldBack?: { bookmarks: number };
  onProgress?: (done: number, total: number, what: string) => void;
}

async function weightFiles(dict: DictionaryRow, sink: DocumentSink): Promise<{ file: string; id: unknown }[] | null> {
  if (!existsSync(dict.path) || !statSync(dict.path).isDirectory()) return null;
  const out: { file: string; id: unknown }[] = [];
  for (const file of readdirSync(dict.path).sort()) {
    const path = join(dict.path, file);
    if (!statSync(path).isFile()) continue;
    const bytes = new Uint8Array(readFileSync(path));
    const filename = `sae_${dict.name}_${dict.series}/${file}`;
    const id = derivedObjectId('file', filename, bytes);
    await sink.file({ id, filename, bytes });
    out.push({ file, id });
  }
  return out;
}

/** Records in all, for the progress bar: a dictionary's features count one each. */
function countRecords(store: Store, dictionaries: readonly DictionaryRow[]): number {
  const ids = dictionaries.map((d) => d.id);
  const per = (sql: string) =>
    ids.reduce(
      (n, id) =>
        n +
        (store.db
          .prepare(sql)
          .pluck()
          .get(
            ...sql
              .split('?')
              .slice(1)
              .map(() => id),
          ) as number),
      0,
    );
  return (
    dictionaries.length +
    per('SELECT count(*) FROM analyses WHERE dictionary_id = ?') +
    per(
      `SELECT count(*) FROM (SELECT feature_index FROM features WHERE dictionary_id = ?
       UNION SELECT feature_index FROM feature_interpretations WHERE dictionary_id = ?)`,
    )
  );
}

/** Every record of the store the options select, as lm-saes documents, into `sink`. */
export async function exportDocuments(store: Store, sink: DocumentSink, options: ExportOptions = {}): Promise<void> {
  const db = store.db;
  const wanted = collectionsOf(options.only);
  const dictionaries = (db.prepare('SELECT * FROM dictionaries ORDER BY name').all() as DictionaryRow[]).filter(
    (d) => options.series === undefined || d.series === options.series,
  );
  const byName = new Map(dictionaries.map((d) => [d.name, d]));
  const total = countRecords(store, dictionaries);
  let done = 0;
  const tick = (what: string) => options.onProgress?.(++done, total, what);
  const arrays = arrayReader(store.dir);
  try {
    for (const table of ['models', 'datasets'] as const) {
      if (!wanted.has(table)) continue;
      for (const row of db.prepare(`SELECT * FROM ${table} ORDER BY name`).all() as ModelRow[])
        await sink.doc(table, catalogDocument(table, row));
    }
    for (const dict of dictionaries) {
      if (wanted.has('saes'))
        await sink.doc('saes', saeDocument(dict, options.gridfsWeights ? await weightFiles(dict, sink) : null));
      tick(`dictionary ${dict.name}`);
      const analyses = db
        .prepare('SELECT * FROM analyses WHERE dictionary_id = ? ORDER BY id')
        .all(dict.id) as AnalysisRow[];
      for (const a of analyses) {
        if (wanted.has('analyses')) await sink.doc('analyses', await analysisDocument(db, dict, a, sink, arrays));
        tick(`analysis ${dict.name}/${a.name}`);
      }
      if (wanted.has('features'))
        await emitFeatureDocuments(
          db,
          dict,
          analyses,
          {
            file: sink.file,
            doc: async (c, d) => {
              await sink.doc(c, d);
              tick(`features of ${dict.name}`);
            },
          },
          arrays,
        );
      if (wanted.has('bookmarks'))
        for (const b of db
          .prepare('SELECT * FROM bookmarks WHERE dictionary_id = ? ORDER BY feature_index')
          .all(dict.id) as BookmarkRow[]) {
          const analysed = db
            .prepare('SELECT 1 FROM features WHERE dictionary_id = ? AND feature_index = ? LIMIT 1')
            .get(dict.id, b.feature_index);
          if (options.onlyAnalysedBookmarks && !analysed) {
            if (options.heldBack) options.heldBack.bookmarks++;
            continue;
          }
          await sink.doc('bookmarks', bookmarkDocument(b, dict));
        }
    }
    const setSeries = new Map<string, string>();
    for (const set of db.prepare('SELECT * FROM dictionary_sets ORDER BY name').all() as DictionarySetRow[]) {
      const members = db
        .prepare('SELECT * FROM dictionary_set_members WHERE set_id = ? ORDER BY position')
        .all(set.id) as DictionarySetMemberRow[];
      const series =
        (db
          .prepare('SELECT series FROM dictionaries WHERE name = ?')
          .pluck()
          .get(members[0]?.dictionary_name ?? '') as string | undefined) ?? DEFAULT_SERIES;
      setSeries.set(set.name, series);
      if (options.series !== undefined && series !== options.series) continue;
      if (members.some((m) => options.series !== undefined && !byName.has(m.dictionary_name))) continue;
      if (wanted.has('sae_sets')) await sink.doc('sae_sets', saeSetDocument(set, members, series));
    }
    if (wanted.has('circuits'))
      for (const g of db.prepare('SELECT * FROM graphs ORDER BY name').all() as GraphRow[]) {
        const series = (g.dictionary_set && setSeries.get(g.dictionary_set)) || DEFAULT_SERIES;
        if (options.series !== undefined && series !== options.series) continue;
        await sink.doc('circuits', await circuitDocument(g, store.dir, series, sink));
      }
    if (wanted.has('studio_runs') && options.series === undefined)
      for (const r of db.prepare('SELECT * FROM runs ORDER BY id').all() as RunRow[])
        await sink.doc('studio_runs', runDocument(db, r));
  } finally {
    arrays.close();
  }
}
