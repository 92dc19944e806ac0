// `sync push`: the store's records as lm-saes documents into a MongoDB through the official driver. Idempotent
// (upserts keyed by lm-saes's identities; a record whose hash is the one last pushed is not sent at all),
// resumable (each write is acknowledged before the sync state records it; a GridFS file's chunks are written
// before its `fs.files` document, which marks it complete — a killed upload's chunks are removed and rewritten),
// and interpretations edited on both sides are settled by the conflict rule, the loser kept in the conflict log.
import type { Document } from 'bson';
import type { Db } from 'mongodb';
import type { Store } from '../store/database';
import { nowIso } from '../store/codec';
import { resolveInterpretation, type InterpretationSide } from './conflict-rule';
import { gridfsDocuments } from './gridfs';
import { interpretationOf } from './import-features';
import { LM_SAES_INDEXES, indexName } from './indexes';
import { SCHEMAS } from './schema';
import type { DocumentSink, StoredFile } from './sink';
import { docHash, logConflict, textHash, type SyncState } from './sync-state';

export interface PushCounts {
  /** Documents and GridFS files MongoDB reported as inserted or changed. */
  writes: number;
  /** Records whose hash was the one last pushed (not sent). */
  unchanged: number;
  files: number;
  conflicts: number;
  perCollection: Record<string, number>;
}

/** A record's identity as a string key (lm-saes's unique index fields, `_id` for circuits). */
export function recordKey(collection: string, doc: Document): string {
  const keys = SCHEMAS[collection]?.keys ?? ['_id'];
  return keys.map((k) => String((doc[k] as { toHexString?: () => string })?.toHexString?.() ?? doc[k])).join('/');
}

export function identityFilter(collection: string, doc: Document): Document {
  const keys = SCHEMAS[collection]?.keys ?? ['_id'];
  return Object.fromEntries(keys.map((k) => [k, doc[k]]));
}

/** lm-saes's indexes on the collections a push writes (idempotent: same names and options as lm-saes's). */
export async function ensureIndexes(db: Db, collections: Iterable<string>): Promise<void> {
  for (const c of [...collections, 'fs.files', 'fs.chunks'])
    for (const spec of LM_SAES_INDEXES[c] ?? [])
      await db.collection(c).createIndex(spec.key, { name: indexName(spec), ...(spec.unique ? { unique: true } : {}) });
}

interface PushContext {
  db: Db;
  store: Store;
  target: string;
  state: SyncState;
  counts: PushCounts;
  /** Send every record, even those whose hash is the one last pushed. */
  full: boolean;
}

async function pushFile(ctx: PushContext, file: StoredFile, seen: Set<string>): Promise<void> {
  const hex = file.id.toHexString();
  if (seen.has(hex)) return;
  seen.add(hex);
  if (!ctx.full && ctx.state.get('local:fs.files', hex)) return;
  const files = ctx.db.collection('fs.files');
  if (!(await files.findOne({ _id: file.id }, { projection: { _id: 1 } }))) {
    const chunks = ctx.db.collection('fs.chunks');
    await chunks.deleteMany({ files_id: file.id }); // what a killed upload of this file left
    const g = gridfsDocuments(file, new Date());
    if (g.chunks.length > 0) await chunks.insertMany(g.chunks, { ordered: true });
    await files.insertOne(g.files); // last: the file exists for lm-saes (fs.exists) only from here on
    ctx.counts.writes++;
    ctx.counts.files++;
  }
  ctx.state.set('local:fs.files', hex, 'complete');
}

/** Applies the conflict rule to a features document about to be pushed; returns the fields to $set / $unset. */
async function settleInterpretation(ctx: PushContext, key: string, doc: Document) {
  const { interpretation, studio_interpretation: noted, ...rest } = doc;
  const remoteDoc = await ctx.db
    .collection('features')
    .findOne(identityFilter('features', doc), { projection: { interpretation: 1, studio_interpretation: 1 } });
  const remoteI = remoteDoc ? interpretationOf(remoteDoc) : null;
  const local: InterpretationSide = {
    text: (interpretation as { text?: string } | undefined)?.text ?? null,
    updatedAt: (noted as { updated_at?: string } | undefined)?.updated_at ?? null,
  };
  const remote: InterpretationSide = { text: remoteI?.text ?? null, updatedAt: remoteI?.updatedAt ?? null };
  const res = resolveInterpretation(local, remote, ctx.state.get('interpretation', key), nowIso());
  if (res.apply !== 'none' && res.conflict) {
    ctx.counts.conflicts++;
    logConflict(ctx.store, {
      target: ctx.target,
      collection: 'features',
      record_key: key,
      field: 'interpretation',
      winner: res.apply,
      local_value: local.text,
      remote_value: remote.text,
      local_updated_at: res.localTime,
      remote_updated_at: res.remoteTime,
    });
  }
  const winner = res.apply === 'remote' ? remote.text : local.text;
  if (res.apply === 'remote') {
    setLocalInterpretation(ctx.store, doc, remoteI);
    return { set: rest, unset: null, winner };
  }
  if (local.text === null) return { set: rest, unset: { interpretation: '', studio_interpretation: '' }, winner };
  return { set: { ...rest, interpretation, studio_interpretation: noted }, unset: null, winner };
}

function setLocalInterpretation(store: Store, doc: Document, remote: ReturnType<typeof interpretationOf>): void {
  const dict = store.db.prepare('SELECT id FROM dictionaries WHERE name = ?').pluck().get(doc.sae_name) as number;
  const index = Number(doc.index);
  if (!remote) {
    store.db
      .prepare('DELETE FROM feature_interpretations WHERE dictionary_id = ? AND feature_index = ?')
      .run(dict, index);
    return;
  }
  store.db
    .prepare(
      `INSERT INTO feature_interpretations (dictionary_id, feature_index, text, detail, updated_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (dictionary_id, feature_index) DO UPDATE SET text = excluded.text, detail = excluded.detail,
       updated_at = excluded.updated_at`,
    )
    .run(dict, index, remote.text, remote.detail, remote.updatedAt ?? nowIso());
}

async function pushDocument(ctx: PushContext, collection: string, doc: Document): Promise<void> {
  const key = recordKey(collection, doc);
  const hash = docHash(doc);
  if (!ctx.full && ctx.state.get(`local:${collection}`, key) === hash) {
    ctx.counts.unchanged++;
    return;
  }
  const { _id, ...fields } = doc;
  let set: Document = fields;
  let unset: Document | null = null;
  let winner: string | null | undefined;
  if (collection === 'features') ({ set, unset, winner } = await settleInterpretation(ctx, key, doc));
  if (collection === 'features') delete set._id;
  const update: Document = { $set: set, ...(unset ? { $unset: unset } : {}) };
  if (collection !== 'circuits') update.$setOnInsert = { _id };
  const res = await ctx.db.collection(collection).updateOne(identityFilter(collection, doc), update, { upsert: true });
  const n = res.upsertedCount + res.modifiedCount;
  ctx.counts.writes += n;
  ctx.counts.perCollection[collection] = (ctx.counts.perCollection[collection] ?? 0) + n;
  ctx.state.set(`local:${collection}`, key, hash);
  if (winner !== undefined) ctx.state.set('interpretation', key, textHash(winner));
}

/** The sink `exportDocuments` writes into for a push. */
export function pushSink(ctx: PushContext): DocumentSink {
  const seen = new Set<string>();
  return {
    file: (file) => pushFile(ctx, file, seen),
    doc: (collection, doc) => pushDocument(ctx, collection, doc),
  };
}
