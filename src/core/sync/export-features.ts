// A dictionary's analyses as lm-saes `analyses` documents and its features as `features` documents, every sampling
// array a `.npy` GridFS file referred to by ObjectId (spec §1–2). What lm-saes has no field for rides along under
// `studio_` names (lm-saes's pydantic models ignore unknown keys), so that importing gives back the same rows.
import type { Document, ObjectId } from 'bson';
import type Database from 'better-sqlite3';
import type { ArrayReader } from '../store/array-files';
import { float32FromBlob, int32FromBlob, parseJson } from '../store/codec';
import { sparseActs, zPatterns, type NumpyArray } from '../store/lm-saes-documents';
import type { AnalysisRow, DictionaryRow, FeatureRow, FeatureSampleRow, InterpretationRow } from '../store/rows';
import type { FeatureKindData, LogitEntry, SampleKindData } from '../analysis/types';
import { derivedObjectId, pyFloat, pyFloats, pyInt } from './bson-values';
import { encodeNpy } from './npy';
import type { DocumentSink } from './sink';

/** Writes `array` as a content-addressed `.npy` GridFS file and returns its id. */
export async function npyFile(sink: DocumentSink, array: NumpyArray): Promise<ObjectId> {
  const bytes = encodeNpy(array);
  const id = derivedObjectId('npy', bytes);
  await sink.file({ id, bytes });
  return id;
}

const int64Of = (values: readonly number[]): NumpyArray => ({
  dtype: 'int64',
  shape: [values.length],
  data: BigInt64Array.from(values, (v) => BigInt(v)),
});

function contextsOf(db: Database.Database, analysisId: number, arrays: ArrayReader) {
  const rows = db
    .prepare(
      'SELECT context_idx, n_tokens, tokens, tokens_ref FROM contexts WHERE analysis_id = ? ORDER BY context_idx',
    )
    .all(analysisId) as { context_idx: number; n_tokens: number; tokens: Buffer | null; tokens_ref: string | null }[];
  const parts = rows.map((r) =>
    r.tokens ? int32FromBlob(r.tokens, `context ${r.context_idx}`) : arrays.readInt32(r.tokens_ref!),
  );
  const tokens = new Int32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    tokens.set(p, at);
    at += p.length;
  }
  return { contextIdx: rows.map((r) => r.context_idx), nTokens: rows.map((r) => r.n_tokens), tokens };
}

/** The `analyses` document of one analysis run, its context windows as three GridFS arrays. */
export async function analysisDocument(
  db: Database.Database,
  dict: DictionaryRow,
  a: AnalysisRow,
  sink: DocumentSink,
  arrays: ArrayReader,
): Promise<Document> {
  const c = contextsOf(db, a.id, arrays);
  return {
    _id: derivedObjectId('analyses', a.name, dict.name, dict.series),
    name: a.name,
    sae_name: dict.name,
    sae_series: dict.series,
    studio_uid: a.uid,
    studio_model_name: a.model_name,
    studio_dataset_name: a.dataset_name,
    studio_dataset_split: a.dataset_split,
    studio_context_size: pyInt(a.context_size),
    studio_hook_point_in: a.hook_point_in,
    studio_hook_point_out: a.hook_point_out,
    studio_n_analyzed_tokens: pyInt(a.n_analyzed_tokens),
    studio_n_features: pyInt(a.n_features),
    studio_created_at: a.created_at,
    studio_contexts: {
      context_idx: await npyFile(sink, int64Of(c.contextIdx)),
      n_tokens: await npyFile(sink, int64Of(c.nTokens)),
      tokens: await npyFile(sink, { dtype: 'int32', shape: [c.tokens.length], data: c.tokens }),
    },
  };
}

const logitsDoc = (entries: readonly LogitEntry[]) => entries.map((l) => ({ token: l.token, logit: pyFloat(l.logit) }));

async function samplingDocument(
  name: string,
  rows: readonly FeatureSampleRow[],
  a: AnalysisRow,
  sink: DocumentSink,
  arrays: ArrayReader,
): Promise<Document> {
  const samples = rows.map((r) => ({
    positions: r.positions ? int32FromBlob(r.positions, 'sample') : arrays.readInt32(`${r.arrays_ref!}.positions`),
    values: r.activations
      ? float32FromBlob(r.activations, 'sample')
      : arrays.readFloat32(`${r.arrays_ref!}.activations`),
    kindData: r.kind_data === null ? null : parseJson<SampleKindData>(r.kind_data, 'sample kind data'),
  }));
  const { indices, values } = sparseActs(samples);
  const z = zPatterns(samples);
  return {
    name,
    feature_acts_indices: await npyFile(sink, indices),
    feature_acts_values: await npyFile(sink, values),
    context_idx: await npyFile(sink, int64Of(rows.map((r) => r.context_idx))),
    shard_idx: await npyFile(sink, int64Of(rows.map(() => 0))),
    n_shards: await npyFile(sink, int64Of(rows.map(() => 1))),
    ...(z.z_pattern_indices
      ? {
          z_pattern_indices: await npyFile(sink, z.z_pattern_indices),
          z_pattern_values: await npyFile(sink, z.z_pattern_values!),
        }
      : {}),
    model_name: rows.map(() => a.model_name),
    dataset_name: rows.map(() => a.dataset_name),
    studio_ranks: rows.map((r) => pyInt(r.rank)),
    studio_max_activations: pyFloats(rows.map((r) => r.max_activation)),
    studio_kind_data: samples.map((s) => s.kindData),
  };
}

/** One element of a feature document's `analyses` array (lm-saes write order: `name` last). */
async function analysisElement(
  db: Database.Database,
  f: FeatureRow,
  a: AnalysisRow,
  sink: DocumentSink,
  arrays: ArrayReader,
): Promise<Document> {
  const samples = db
    .prepare('SELECT * FROM feature_samples WHERE feature_id = ? ORDER BY sampling, rank')
    .all(f.id) as FeatureSampleRow[];
  const names = parseJson<string[]>(f.sampling_names, 'sampling names');
  for (const s of samples) if (!names.includes(s.sampling)) names.push(s.sampling);
  const kind = f.kind_data === null ? null : parseJson<FeatureKindData>(f.kind_data, 'feature kind data');
  const samplings: Document[] = [];
  for (const name of names)
    samplings.push(
      await samplingDocument(
        name,
        samples.filter((s) => s.sampling === name),
        a,
        sink,
        arrays,
      ),
    );
  return {
    act_times: pyInt(f.act_count),
    n_analyzed_tokens: pyInt(a.n_analyzed_tokens),
    max_feature_acts: pyFloat(f.max_activation),
    ...(kind?.kind === 'clt' || kind?.kind === 'crosscoder' ? { decoder_norms: pyFloats(kind.decoderNorms) } : {}),
    ...(kind?.kind === 'crosscoder'
      ? { decoder_similarity_matrices: kind.similarity.map((row) => row.map((v) => (v === null ? null : pyFloat(v)))) }
      : {}),
    samplings,
    studio_frequency: pyFloat(f.frequency),
    studio_mean_feature_acts: pyFloat(f.mean_activation),
    studio_histogram: parseJson(f.histogram, 'histogram'),
    studio_top_logits: parseJson(f.top_logits, 'top logits'),
    studio_bottom_logits: parseJson(f.bottom_logits, 'bottom logits'),
    studio_neighbours: parseJson(f.neighbours, 'neighbours'),
    studio_sampling_names: parseJson(f.sampling_names, 'sampling names'),
    studio_kind_data: kind,
    name: a.name,
  };
}

/** Calls `emit` with the `features` document of every feature that has an analysis or an interpretation. */
export async function emitFeatureDocuments(
  db: Database.Database,
  dict: DictionaryRow,
  analyses: readonly AnalysisRow[],
  sink: DocumentSink,
  arrays: ArrayReader,
): Promise<void> {
  const byId = new Map(analyses.map((a) => [a.id, a]));
  const features = db
    .prepare('SELECT * FROM features WHERE dictionary_id = ? ORDER BY feature_index, analysis_id')
    .all(dict.id) as FeatureRow[];
  const interpretations = new Map(
    (
      db.prepare('SELECT * FROM feature_interpretations WHERE dictionary_id = ?').all(dict.id) as InterpretationRow[]
    ).map((r) => [r.feature_index, r]),
  );
  const indices = [...new Set([...features.map((f) => f.feature_index), ...interpretations.keys()])].sort(
    (x, y) => x - y,
  );
  let at = 0;
  for (const index of indices) {
    const rows: FeatureRow[] = [];
    while (at < features.length && features[at]!.feature_index === index) rows.push(features[at++]!);
    // The default analysis first: lm-saes's requests without an analysis name use the first element.
    rows.sort(
      (x, y) =>
        Number(byId.get(y.analysis_id)!.name === 'default') - Number(byId.get(x.analysis_id)!.name === 'default'),
    );
    const elements: Document[] = [];
    for (const f of rows) elements.push(await analysisElement(db, f, byId.get(f.analysis_id)!, sink, arrays));
    const first = rows[0];
    const interp = interpretations.get(index);
    const detail = interp?.detail ? parseJson<Record<string, unknown>>(interp.detail, 'interpretation detail') : null;
    await sink.doc('features', {
      _id: derivedObjectId('features', dict.name, dict.series, String(index)),
      sae_name: dict.name,
      sae_series: dict.series,
      index: pyInt(index),
      analyses: elements,
      ...(first
        ? {
            logits: {
              top_positive: logitsDoc(parseJson(first.top_logits, 'top logits')),
              top_negative: logitsDoc(parseJson(first.bottom_logits, 'bottom logits')),
            },
          }
        : {}),
      ...(interp
        ? {
            interpretation: { ...(detail ?? {}), text: interp.text },
            studio_interpretation: { text: interp.text, updated_at: interp.updated_at, detail },
          }
        : {}),
    });
  }
}
