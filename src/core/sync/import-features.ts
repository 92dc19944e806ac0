// lm-saes `analyses` and `features` documents of one dictionary back into rows: analyses, contexts, features, their
// samples and the interpretations. Our own exports carry `studio_` fields and come back exactly; a lab's documents
// (made by lm-saes) get what lm-saes knows, with the rest defaulted (contexts without tokens: lm-saes re-renders
// text from the dataset, which we do not have offline).
import { randomUUID } from 'node:crypto';
import type { Document, ObjectId } from 'bson';
import type Database from 'better-sqlite3';
import { InputError } from '../errors';
import { ensureCatalogEntry } from '../store/catalog';
import { arrayBlob, nowIso } from '../store/codec';
import type { DictionaryRow } from '../store/rows';
import { decodeNpy } from './npy';
import { recordName } from './schema';

/** GridFS bytes already fetched, by ObjectId hex. */
export type FileBytes = ReadonlyMap<string, Uint8Array>;

/** Every ObjectId a document refers to (its own `_id` left out), for fetching files before a transaction. */
export function fileRefs(value: unknown, out: ObjectId[] = [], top = true): ObjectId[] {
  if (value && typeof value === 'object') {
    if ((value as { _bsontype?: string })._bsontype === 'ObjectId') out.push(value as ObjectId);
    else if (Array.isArray(value)) for (const v of value) fileRefs(v, out, false);
    else if (!(value instanceof Date))
      for (const [k, v] of Object.entries(value)) if (!(top && k === '_id')) fileRefs(v, out, false);
  }
  return out;
}

function npyOf(files: FileBytes, id: unknown, where: string) {
  const hex = id && typeof id === 'object' && 'toHexString' in id ? (id as ObjectId).toHexString() : null;
  const bytes = hex ? files.get(hex) : undefined;
  if (!bytes) throw new InputError(`${where}: GridFS file ${hex ?? String(id)} is missing`);
  return decodeNpy(bytes, `${where} (GridFS ${hex})`);
}

const numbers = (a: { data: Float32Array | BigInt64Array | Int32Array }): number[] => Array.from(a.data, Number);
const json = (v: unknown): string => JSON.stringify(v);

function insertContexts(
  db: Database.Database,
  analysisId: number,
  doc: Document,
  files: FileBytes,
  used: Set<number>,
  where: string,
) {
  const insert = db.prepare('INSERT INTO contexts (analysis_id, context_idx, n_tokens, tokens) VALUES (?, ?, ?, ?)');
  const c = doc.studio_contexts as Document | undefined;
  if (c) {
    const idx = numbers(npyOf(files, c.context_idx, where));
    const lengths = numbers(npyOf(files, c.n_tokens, where));
    const tokens = npyOf(files, c.tokens, where).data as Int32Array;
    let at = 0;
    idx.forEach((ci, i) => {
      insert.run(analysisId, ci, lengths[i]!, arrayBlob(tokens.slice(at, at + lengths[i]!)));
      at += lengths[i]!;
    });
    return;
  }
  for (const ci of [...used].sort((a, b) => a - b)) insert.run(analysisId, ci, 0, Buffer.alloc(0));
}

interface SampleRows {
  contextIdx: number[];
  positions: Int32Array[];
  values: Float32Array[];
}

function samplesOf(sampling: Document, files: FileBytes, where: string): SampleRows {
  const contextIdx = numbers(npyOf(files, sampling.context_idx, where));
  const indices = npyOf(files, sampling.feature_acts_indices, where);
  const values = npyOf(files, sampling.feature_acts_values, where).data as Float32Array;
  const nnz = values.length;
  if (indices.shape[0] !== 2 || indices.shape[1] !== nnz)
    throw new InputError(
      `${where}: feature_acts_indices has shape (${indices.shape.join(', ')}), expected (2, ${nnz})`,
    );
  const idx = numbers(indices);
  const out: SampleRows = { contextIdx, positions: [], values: [] };
  contextIdx.forEach((_, i) => {
    const ks = Array.from({ length: nnz }, (_, k) => k).filter((k) => idx[k] === i);
    out.positions.push(Int32Array.from(ks, (k) => idx[nnz + k]!));
    out.values.push(Float32Array.from(ks, (k) => values[k]!));
  });
  return out;
}

interface AnalysisContext {
  id: number;
  nAnalyzedTokens: number;
}

function insertFeature(
  db: Database.Database,
  dict: DictionaryRow,
  doc: Document,
  el: Document,
  a: AnalysisContext,
  files: FileBytes,
  where: string,
) {
  const logits = doc.logits as
    | { top_positive?: { token: string; logit: number }[]; top_negative?: { token: string; logit: number }[] }
    | undefined;
  const lab = (l: { token: string; logit: number }[] | undefined) =>
    (l ?? []).map((x) => ({ tokenId: -1, token: x.token, logit: x.logit }));
  const samplings = (el.samplings ?? []) as Document[];
  const kind = el.studio_kind_data ?? null;
  const row = db
    .prepare(
      `INSERT INTO features (analysis_id, dictionary_id, feature_index, act_count, frequency, max_activation, mean_activation,
       histogram, top_logits, bottom_logits, neighbours, sampling_names, kind_data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(
      a.id,
      dict.id,
      doc.index,
      el.act_times,
      el.studio_frequency ?? (a.nAnalyzedTokens > 0 ? el.act_times / a.nAnalyzedTokens : 0),
      el.max_feature_acts,
      el.studio_mean_feature_acts ?? 0,
      json(el.studio_histogram ?? { edges: [], counts: [] }),
      json(el.studio_top_logits ?? lab(logits?.top_positive)),
      json(el.studio_bottom_logits ?? lab(logits?.top_negative)),
      json(el.studio_neighbours ?? []),
      json(el.studio_sampling_names ?? samplings.map((s) => s.name)),
      kind === null ? null : json(kind),
    );
  const insert = db.prepare(
    `INSERT INTO feature_samples (feature_id, analysis_id, sampling, rank, context_idx, max_activation, positions, activations, kind_data)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  samplings.forEach((s, si) => {
    const rows = samplesOf(s, files, `${where}: analyses '${el.name}' samplings[${si}]`);
    const ranks = (s.studio_ranks as number[] | undefined) ?? rows.contextIdx.map((_, i) => i);
    const maxes = s.studio_max_activations as number[] | undefined;
    const kinds = s.studio_kind_data as unknown[] | undefined;
    rows.contextIdx.forEach((ci, i) =>
      insert.run(
        row.lastInsertRowid,
        a.id,
        s.name,
        ranks[i]!,
        ci,
        maxes?.[i] ?? rows.values[i]!.reduce((m, v) => Math.max(m, v), 0),
        arrayBlob(rows.positions[i]!),
        arrayBlob(rows.values[i]!),
        kinds?.[i] == null ? null : json(kinds[i]),
      ),
    );
  });
}

function contextsUsed(features: readonly Document[], name: string, files: FileBytes, dict: DictionaryRow): Set<number> {
  const used = new Set<number>();
  for (const f of features)
    for (const el of (f.analyses ?? []) as Document[])
      if (el.name === name)
        for (const s of (el.samplings ?? []) as Document[])
          for (const ci of numbers(npyOf(files, s.context_idx, recordName('features', f, ['sae_name', 'index']))))
            used.add(ci);
  void dict;
  return used;
}

/** Replaces the dictionary's analyses named by `analyses` (and their features) with the documents' content. */
export function importAnalyses(
  db: Database.Database,
  dict: DictionaryRow,
  analyses: readonly Document[],
  features: readonly Document[],
  files: FileBytes,
): number {
  const firstSampling = (name: string, field: 'model_name' | 'dataset_name'): string | undefined => {
    for (const f of features)
      for (const el of (f.analyses ?? []) as Document[])
        if (el.name === name)
          for (const s of (el.samplings ?? []) as Document[]) if (s[field]?.[0]) return s[field][0] as string;
    return undefined;
  };
  const cfg = JSON.parse(dict.config) as Record<string, unknown>;
  const byName = new Map<string, AnalysisContext>();
  for (const doc of analyses) {
    const where = recordName('analyses', doc, ['name', 'sae_name', 'sae_series']);
    db.prepare('DELETE FROM analyses WHERE dictionary_id = ? AND name = ?').run(dict.id, doc.name);
    const model =
      (doc.studio_model_name as string | undefined) ??
      firstSampling(doc.name, 'model_name') ??
      dict.model_name ??
      'unknown';
    const dataset =
      (doc.studio_dataset_name as string | undefined) ?? firstSampling(doc.name, 'dataset_name') ?? 'unknown';
    ensureCatalogEntry(db, 'models', model, {});
    ensureCatalogEntry(db, 'datasets', dataset, {});
    const elements = features.flatMap((f) => ((f.analyses ?? []) as Document[]).filter((e) => e.name === doc.name));
    const nTokens =
      (doc.studio_n_analyzed_tokens as number | undefined) ??
      (elements[0]?.n_analyzed_tokens as number | undefined) ??
      0;
    const info = db
      .prepare(
        `INSERT INTO analyses (uid, dictionary_id, name, model_name, dataset_name, dataset_split, context_size, hook_point_in,
         hook_point_out, n_analyzed_tokens, n_features, arrays_file, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)`,
      )
      .run(
        doc.studio_uid ?? randomUUID(),
        dict.id,
        doc.name,
        model,
        dataset,
        doc.studio_dataset_split ?? 'train',
        doc.studio_context_size ?? 0,
        doc.studio_hook_point_in ?? cfg.hook_point_in ?? '',
        doc.studio_hook_point_out ?? cfg.hook_point_out ?? '',
        nTokens,
        doc.studio_n_features ?? elements.length,
        doc.studio_created_at ?? nowIso(),
      );
    const id = Number(info.lastInsertRowid);
    byName.set(doc.name as string, { id, nAnalyzedTokens: nTokens });
    insertContexts(
      db,
      id,
      doc,
      files,
      doc.studio_contexts ? new Set() : contextsUsed(features, doc.name, files, dict),
      where,
    );
  }
  let n = 0;
  for (const f of features) {
    const where = recordName('features', f, ['sae_name', 'sae_series', 'index']);
    for (const el of (f.analyses ?? []) as Document[]) {
      const a = byName.get(el.name);
      if (!a) continue; // an analysis this import does not carry (another run's, or not selected)
      insertFeature(db, dict, f, el, a, files, where);
      n++;
    }
  }
  return n;
}

/** The interpretation a feature document holds, in our row's terms, or null. */
export function interpretationOf(
  doc: Document,
): { text: string; detail: string | null; updatedAt: string | null } | null {
  const i = doc.interpretation as Document | null | undefined;
  if (!i || typeof i.text !== 'string' || i.text.trim() === '') return null;
  // Our note of when the text was written holds only while the text is still ours (lm-saes's editor replaces
  // `interpretation` and leaves `studio_interpretation` behind).
  const noted = doc.studio_interpretation as { text?: string; updated_at?: string; detail?: unknown } | undefined;
  const studio = noted && noted.text === i.text ? noted : undefined;
  const { text, ...rest } = i;
  const detail = studio && 'detail' in studio ? studio.detail : Object.keys(rest).length > 0 ? rest : null;
  return { text: text as string, detail: detail == null ? null : json(detail), updatedAt: studio?.updated_at ?? null };
}
