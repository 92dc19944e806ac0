// `sae-studio sync push|pull|status` against an lm-saes MongoDB through the official driver: one connection, one
// sync run recorded in the store (its error redacted), a summary of what moved. The password never reaches the
// store, a log or a message: sync state is keyed by targetKey (no password), errors go through describeMongoError.
import type { Document, ObjectId } from 'bson';
import type { Db } from 'mongodb';
import type { StudioHome } from '../home';
import type { Store } from '../store/database';
import { nowIso } from '../store/codec';
import { resolveInterpretation } from './conflict-rule';
import { connectMongo, describeMongoError, redactUri, targetKey, type MongoTarget } from './connection';
import { exportDocuments } from './export-documents';
import { assembleFiles } from './gridfs';
import { importDocuments, type DocumentSource } from './import-documents';
import { ensureIndexes, pushSink, recordKey, type PushCounts } from './mongo-push';
import { collectionsOf, COLLECTIONS, type CollectionName, type SyncCollectionGroup } from './sink';
import { docHash, finishSyncRun, logConflict, startSyncRun, syncState, textHash } from './sync-state';

export interface SyncOptions {
  series?: string;
  only?: readonly SyncCollectionGroup[];
  gridfsWeights?: boolean;
  /** Send (or read) every record, not only those changed since the last sync. */
  full?: boolean;
  home?: StudioHome | null;
  onProgress?: (done: number, total: number, what: string) => void;
}

export interface SyncSummary {
  direction: 'push' | 'pull';
  /** The server and database, without password. */
  target: string;
  /** push: documents and files MongoDB inserted or changed; pull: records read into the store. */
  writes: number;
  unchanged: number;
  files: number;
  conflicts: number;
  perCollection: Record<string, number>;
  /** push: bookmarks of features without analyses, not sent (they would break lm-saes's bookmarks page). */
  heldBackBookmarks: number;
  seconds: number;
}

async function withTarget<T>(
  store: Store,
  target: MongoTarget,
  direction: 'push' | 'pull',
  work: (db: Db, key: string, runId: number) => Promise<T & { counts: Record<string, unknown> }>,
): Promise<T> {
  const key = targetKey(target);
  const runId = startSyncRun(store, key, direction);
  let client;
  try {
    client = await connectMongo(target);
    const out = await work(client.db(target.db), key, runId);
    finishSyncRun(store, runId, 'done', out.counts);
    return out;
  } catch (err) {
    const e = describeMongoError(err, target);
    finishSyncRun(store, runId, 'failed', {}, e.message);
    throw e;
  } finally {
    await client?.close().catch(() => undefined);
  }
}

export async function pushToMongo(store: Store, target: MongoTarget, options: SyncOptions = {}): Promise<SyncSummary> {
  const started = Date.now();
  return withTarget(store, target, 'push', async (db, key) => {
    const counts: PushCounts = { writes: 0, unchanged: 0, files: 0, conflicts: 0, perCollection: {} };
    await ensureIndexes(db, collectionsOf(options.only));
    const sink = pushSink({
      db,
      store,
      target: key,
      state: syncState(store, key),
      counts,
      full: options.full ?? false,
    });
    const heldBack = { bookmarks: 0 };
    await exportDocuments(store, sink, { ...options, onlyAnalysedBookmarks: true, heldBack });
    const summary: SyncSummary = {
      direction: 'push',
      target: key,
      ...counts,
      heldBackBookmarks: heldBack.bookmarks,
      seconds: (Date.now() - started) / 1000,
    };
    return { ...summary, counts: { ...counts } };
  });
}

const SERIES_FIELD: Partial<Record<CollectionName, string>> = {
  saes: 'series',
  analyses: 'sae_series',
  features: 'sae_series',
  bookmarks: 'sae_series',
  sae_sets: 'sae_series',
  circuits: 'sae_series',
};

/** The MongoDB as a document source, reading only records changed since the last pull (a dictionary's analyses, features and bookmarks as one group). */
function mongoSource(
  db: Db,
  series: string | undefined,
  seen: Map<string, Map<string, string>>,
  last: (c: string) => Map<string, string>,
  full: boolean,
): DocumentSource {
  return {
    async docs(collection) {
      const field = SERIES_FIELD[collection];
      const docs = await db
        .collection(collection)
        .find(series !== undefined && field ? { [field]: series } : {})
        .toArray();
      const before = last(collection);
      const hashes = new Map(docs.map((d) => [recordKey(collection, d), docHash(d)]));
      seen.set(collection, hashes);
      if (full) return docs;
      const changed = (d: Document) => before.get(recordKey(collection, d)) !== hashes.get(recordKey(collection, d));
      if (collection !== 'analyses' && collection !== 'features' && collection !== 'bookmarks')
        return docs.filter(changed);
      // A dictionary's analyses and features are replaced together, so a group is read whole or not at all.
      const groups = new Set(docs.filter(changed).map((d) => `${d.sae_series}/${d.sae_name}`));
      return docs.filter((d) => groups.has(`${d.sae_series}/${d.sae_name}`));
    },
    async files(ids: readonly ObjectId[]) {
      const out = new Map<string, Uint8Array>();
      for (let at = 0; at < ids.length; at += 500) {
        const batch = ids.slice(at, at + 500);
        const files = await db
          .collection('fs.files')
          .find({ _id: { $in: batch } })
          .toArray();
        const chunks = await db
          .collection('fs.chunks')
          .find({ files_id: { $in: batch } })
          .toArray();
        for (const [k, v] of assembleFiles(files, chunks)) out.set(k, v);
      }
      return out;
    },
  };
}

export async function pullFromMongo(
  store: Store,
  target: MongoTarget,
  options: SyncOptions = {},
): Promise<SyncSummary> {
  const started = Date.now();
  return withTarget(store, target, 'pull', async (db, key) => {
    const state = syncState(store, key);
    const seen = new Map<string, Map<string, string>>();
    let conflicts = 0;
    const source = mongoSource(db, options.series, seen, (c) => state.all(`remote:${c}`), options.full ?? false);
    const read = await importDocuments(store, source, {
      ...options,
      acceptInterpretation(doc, remote) {
        const k = recordKey('features', doc);
        const dict = store.db.prepare('SELECT id FROM dictionaries WHERE name = ?').pluck().get(doc.sae_name) as number;
        const row = store.db
          .prepare('SELECT text, updated_at FROM feature_interpretations WHERE dictionary_id = ? AND feature_index = ?')
          .get(dict, doc.index) as { text: string; updated_at: string } | undefined;
        const res = resolveInterpretation(
          { text: row?.text ?? null, updatedAt: row?.updated_at ?? null },
          { text: remote.text, updatedAt: remote.updatedAt },
          state.get('interpretation', k),
          nowIso(),
        );
        if (res.apply !== 'none' && res.conflict) {
          conflicts++;
          logConflict(store, {
            target: key,
            collection: 'features',
            record_key: k,
            field: 'interpretation',
            winner: res.apply,
            local_value: row?.text ?? null,
            remote_value: remote.text,
            local_updated_at: res.localTime,
            remote_updated_at: res.remoteTime,
          });
        }
        state.set('interpretation', k, textHash(res.apply === 'local' ? (row?.text ?? null) : remote.text));
        return res.apply === 'remote';
      },
    });
    for (const [c, hashes] of seen) for (const [k, h] of hashes) state.set(`remote:${c}`, k, h);
    const perCollection = Object.fromEntries(Object.entries(read).map(([k, v]) => [k, v ?? 0]));
    const writes = Object.values(perCollection).reduce((a, b) => a + b, 0);
    const summary: SyncSummary = {
      direction: 'pull',
      target: key,
      writes,
      unchanged: [...seen.values()].reduce((n, m) => n + m.size, 0) - writes,
      files: 0,
      conflicts,
      perCollection,
      heldBackBookmarks: 0,
      seconds: (Date.now() - started) / 1000,
    };
    return { ...summary, counts: { ...perCollection, conflicts } };
  });
}

export interface SyncStatus {
  target: string;
  /** Records per collection in the store, and how many differ from what was last pushed. */
  local: Record<string, { records: number; pending: number }>;
  /** Documents per collection in MongoDB. */
  remote: Record<string, number>;
}

export async function mongoStatus(store: Store, target: MongoTarget, options: SyncOptions = {}): Promise<SyncStatus> {
  const key = targetKey(target);
  const state = syncState(store, key);
  const local: SyncStatus['local'] = {};
  await exportDocuments(
    store,
    {
      file: async () => undefined,
      doc: async (c, d) => {
        const entry = (local[c] ??= { records: 0, pending: 0 });
        entry.records++;
        if (state.get(`local:${c}`, recordKey(c, d)) !== docHash(d)) entry.pending++;
      },
    },
    options,
  );
  let client;
  try {
    client = await connectMongo(target);
    const db = client.db(target.db);
    const remote: Record<string, number> = {};
    for (const c of [...COLLECTIONS, 'fs.files']) remote[c] = await db.collection(c).estimatedDocumentCount();
    return { target: key, local, remote };
  } catch (err) {
    throw describeMongoError(err, target);
  } finally {
    await client?.close().catch(() => undefined);
  }
}

export { redactUri };
