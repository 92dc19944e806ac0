// Reads lm-saes documents from a source (a mongodump folder, an Extended JSON folder, a MongoDB) into the store:
// every document checked against its collection's schema first, GridFS files fetched before the transaction that
// writes the rows referring to them, one transaction per dictionary so a failure leaves whole dictionaries.
import { deserialize, serialize, type Document, type ObjectId } from 'bson';
import type Database from 'better-sqlite3';
import type { StudioHome } from '../home';
import { assertWriter, type Store } from '../store/database';
import { nowIso } from '../store/codec';
import type { DictionaryRow } from '../store/rows';
import { fileRefs, importAnalyses, interpretationOf, type FileBytes } from './import-features';
import { importBookmark, importCatalog, importCircuit, importRun, importSae, importSaeSet } from './import-records';
import { validateDocument } from './schema';
import { collectionsOf, COLLECTIONS, type CollectionName, type SyncCollectionGroup } from './sink';

export interface DocumentSource {
  /** Every document of `collection` (none when it does not exist). */
  docs(collection: CollectionName): Promise<Document[]>;
  /** The bytes of these GridFS files, by ObjectId hex (a missing file is left out). */
  files(ids: readonly ObjectId[]): Promise<Map<string, Uint8Array>>;
}

export interface ImportOptions {
  series?: string;
  only?: readonly SyncCollectionGroup[];
  /** Where a dictionary's GridFS weights are written (dictionaries/<name>/); without it they stay in GridFS. */
  home?: StudioHome | null;
  onProgress?: (done: number, total: number, what: string) => void;
  /** Whether a feature document's interpretation replaces the local one (sync's conflict rule); default yes. */
  acceptInterpretation?: (doc: Document, remote: NonNullable<ReturnType<typeof interpretationOf>>) => boolean;
}

/** Records read into the store, per collection. */
export type ImportCounts = Partial<Record<CollectionName | 'interpretations', number>>;

/** One plain form for every source: numbers as numbers, ObjectIds, Dates (what the BSON decoder promotes to). */
const plain = (doc: Document): Document => deserialize(serialize(doc));

const seriesOf = (c: CollectionName, d: Document): string | undefined =>
  c === 'saes' ? d.series : c === 'models' || c === 'datasets' || c === 'studio_runs' ? undefined : d.sae_series;

function ensureDictionary(
  db: Database.Database,
  name: string,
  series: string,
  features: readonly Document[],
): DictionaryRow {
  const find = () => db.prepare('SELECT * FROM dictionaries WHERE name = ?').get(name) as DictionaryRow | undefined;
  const found = find();
  if (found) return found;
  // A lab's analysis without its `saes` document: d_sae from the feature indices lm-saes made (0 … d_sae−1).
  const dSae = Math.max(1, ...features.map((f) => (f.index as number) + 1));
  const now = nowIso();
  db.prepare(
    `INSERT INTO dictionaries (name, series, path, sae_type, d_sae, model_name, config, metrics, created_at, updated_at)
     VALUES (?, ?, '', 'sae', ?, NULL, ?, NULL, ?, ?)`,
  ).run(name, series, dSae, JSON.stringify({ sae_type: 'sae', d_sae: dSae }), now, now);
  return find()!;
}

async function load(source: DocumentSource, wanted: Set<CollectionName>, series: string | undefined) {
  const docs = new Map<CollectionName, Document[]>();
  for (const c of COLLECTIONS) {
    if (!wanted.has(c)) continue;
    const list = (await source.docs(c)).map(plain);
    for (const d of list) validateDocument(c, d);
    docs.set(
      c,
      list.filter((d) => series === undefined || seriesOf(c, d) === undefined || seriesOf(c, d) === series),
    );
  }
  return docs;
}

/** Reads the documents of `source` that the options select into the store; returns what it read. */
export async function importDocuments(
  store: Store,
  source: DocumentSource,
  options: ImportOptions = {},
): Promise<ImportCounts> {
  assertWriter(store, 'importing lm-saes documents');
  const db = store.db;
  const docs = await load(source, collectionsOf(options.only), options.series);
  const of = (c: CollectionName) => docs.get(c) ?? [];
  const counts: ImportCounts = {};
  const add = (c: keyof ImportCounts, n = 1) => (counts[c] = (counts[c] ?? 0) + n);
  const total = [...docs.values()].reduce((n, l) => n + l.length, 0);
  let done = 0;
  const tick = (what: string) => options.onProgress?.(++done, total, what);
  const fetch = async (list: readonly Document[]): Promise<FileBytes> => source.files(list.flatMap((d) => fileRefs(d)));

  db.transaction(() => {
    for (const c of ['models', 'datasets'] as const)
      for (const d of of(c)) {
        importCatalog(db, c, d);
        add(c);
        tick(`${c} ${d.name}`);
      }
  }).immediate();
  const saeFiles = await fetch(of('saes'));
  db.transaction(() => {
    for (const d of of('saes')) {
      importSae(db, d, saeFiles, options.home ?? null);
      add('saes');
      tick(`dictionary ${d.name}`);
    }
  }).immediate();

  const key = (d: Document) => `${d.sae_series as string}\u0000${d.sae_name as string}`;
  const dictionaries = new Set([...of('analyses'), ...of('features'), ...of('bookmarks')].map(key));
  for (const k of [...dictionaries].sort()) {
    const [series, name] = k.split('\u0000') as [string, string];
    const analyses = of('analyses').filter((d) => key(d) === k);
    const features = of('features').filter((d) => key(d) === k);
    const bookmarks = of('bookmarks').filter((d) => key(d) === k);
    const files = await fetch([...analyses, ...features]);
    db.transaction(() => {
      const dict = ensureDictionary(db, name, series, features);
      add('features', importAnalyses(db, dict, analyses, features, files));
      add('analyses', analyses.length);
      for (const f of features) {
        const remote = interpretationOf(f);
        if (!remote || (options.acceptInterpretation && !options.acceptInterpretation(f, remote))) continue;
        db.prepare(
          `INSERT INTO feature_interpretations (dictionary_id, feature_index, text, detail, updated_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (dictionary_id, feature_index) DO UPDATE SET text = excluded.text, detail = excluded.detail, updated_at = excluded.updated_at`,
        ).run(dict.id, f.index, remote.text, remote.detail, remote.updatedAt ?? nowIso());
        add('interpretations');
      }
      for (const b of bookmarks) importBookmark(db, dict.id, b);
      add('bookmarks', bookmarks.length);
    }).immediate();
    for (let i = 0; i < analyses.length + features.length + bookmarks.length; i++) tick(`records of ${name}`);
  }

  const circuitFiles = await fetch(of('circuits'));
  db.transaction(() => {
    for (const d of of('sae_sets')) {
      importSaeSet(db, d);
      add('sae_sets');
      tick(`set ${d.name}`);
    }
    for (const d of of('circuits')) {
      importCircuit(db, store.dir, d, circuitFiles);
      add('circuits');
      tick(`circuit ${d.name}`);
    }
    for (const d of of('studio_runs')) {
      importRun(db, d);
      add('studio_runs');
      tick(`run ${d.id}`);
    }
  }).immediate();
  return counts;
}
