// Pure mappings from store records to the MongoDB documents of lm-saes (OpenMOSS Language-Model-SAEs,
// src/lm_saes/database.py: FeatureRecord, FeatureAnalysis, FeatureAnalysisSampling, SAERecord, AnalysisRecord,
// BookmarkRecord, ModelRecord, DatasetRecord), so that syncing is writing these documents.
//
// Samplings follow lm-saes's post-analysis (analysis/post_analysis/base.py): each sampling's activations are the
// sparse COO form of a dense [n_samples, context] tensor, `feature_acts_indices` float32 [2, nnz] (row 0 the sample,
// row 1 the token position, sorted) and `feature_acts_values` float32 [nnz]; `context_idx`, `shard_idx` (0) and
// `n_shards` (1) are int64 [n_samples]; `dataset_name` and `model_name` are lists with one entry per sample. lm-saes
// stores the arrays through GridFS as `np.save` bytes: NumpyArray keeps dtype and shape for that.
// Our fields lm-saes has no place for are added with a `studio_` prefix (its pydantic models ignore unknown keys).
// The other kinds' data goes where lm-saes's post-analysis processors put it: a crosscoder's `decoder_norms` [H] and
// `decoder_similarity_matrix` [H][H], a CLT's `decoder_norms` [L] (per target layer), a Lorsa sampling's
// `z_pattern_indices` float32 [3, nnz] (sample, query, key) and `z_pattern_values` — ours hold the z-pattern of each
// top sample at its strongest token only, where lm-saes keeps every query the feature fired at.
import type { Bookmark } from './bookmarks';
import type { CatalogEntry } from './catalog';
import type { Dictionary } from './dictionaries';
import type { FeatureDetail } from './features';

export interface NumpyArray {
  dtype: 'float32' | 'int64';
  shape: number[];
  /** Row-major. */
  data: Float32Array | BigInt64Array;
}

export interface LmSaesSamplingDocument {
  name: string;
  feature_acts_indices: NumpyArray;
  feature_acts_values: NumpyArray;
  dataset_name: string[];
  shard_idx: NumpyArray;
  n_shards: NumpyArray;
  context_idx: NumpyArray;
  model_name: string[];
  /** Lorsa only. */
  z_pattern_indices?: NumpyArray;
  z_pattern_values?: NumpyArray;
}

export interface LmSaesFeatureAnalysisDocument {
  name: string;
  act_times: number;
  max_feature_acts: number;
  n_analyzed_tokens: number;
  samplings: LmSaesSamplingDocument[];
  studio_mean_feature_acts: number;
  studio_histogram: { edges: number[]; counts: number[] };
  studio_neighbours: { index: number; cosine: number }[];
  /** Crosscoder (per head) and CLT (per target layer). */
  decoder_norms?: number[];
  /** Crosscoder: the heads' decoder cosine; null where a head's decoder is zero (NaN in lm-saes). */
  decoder_similarity_matrix?: (number | null)[][];
}

export interface LmSaesLogit {
  token: string;
  logit: number;
}

export interface LmSaesFeatureDocument {
  sae_name: string;
  sae_series: string;
  index: number;
  analyses: LmSaesFeatureAnalysisDocument[];
  /** Absent when the feature has no analysis (lm-saes: None). */
  logits?: { top_positive: LmSaesLogit[]; top_negative: LmSaesLogit[] };
  /** lm-saes: { text, validation, complexity, consistency, detail, passed }; absent when not interpreted. */
  interpretation?: { text: string } & Record<string, unknown>;
}

export interface LmSaesSaeDocument {
  name: string;
  series: string;
  path: string;
  cfg: Record<string, unknown>;
  model_name: string | null;
}

function int64(values: readonly number[]): NumpyArray {
  return { dtype: 'int64', shape: [values.length], data: BigInt64Array.from(values, (v) => BigInt(v)) };
}

/** The sparse COO activations of a sampling, as torch's `to_sparse()` orders them. */
function sparseActs(samples: FeatureDetail['samplings'][number]['samples']): {
  indices: NumpyArray;
  values: NumpyArray;
} {
  const nnz = samples.reduce((n, s) => n + s.positions.length, 0);
  const indices = new Float32Array(2 * nnz); // [2, nnz]: sample, position
  const values = new Float32Array(nnz);
  let k = 0;
  samples.forEach((s, i) => {
    const order = Array.from(s.positions.keys()).sort((a, b) => s.positions[a]! - s.positions[b]!);
    for (const j of order) {
      indices[k] = i;
      indices[nnz + k] = s.positions[j]!;
      values[k] = s.values[j]!;
      k++;
    }
  });
  return {
    indices: { dtype: 'float32', shape: [2, nnz], data: indices },
    values: { dtype: 'float32', shape: [nnz], data: values },
  };
}

/** A Lorsa sampling's z-patterns as sparse COO over [n_samples, query, key] (lm-saes `z_pattern_indices/values`). */
function zPatterns(
  samples: FeatureDetail['samplings'][number]['samples'],
): Pick<LmSaesSamplingDocument, 'z_pattern_indices' | 'z_pattern_values'> {
  const entries: [number, number, number, number][] = [];
  samples.forEach((x, i) => {
    const z = x.kindData?.zPattern;
    z?.contributions.forEach((v, k) => v !== 0 && entries.push([i, z.query, k, v]));
  });
  if (entries.length === 0) return {};
  const nnz = entries.length;
  const indices = new Float32Array(3 * nnz);
  entries.forEach(([i, q, k], e) => {
    indices[e] = i;
    indices[nnz + e] = q;
    indices[2 * nnz + e] = k;
  });
  return {
    z_pattern_indices: { dtype: 'float32', shape: [3, nnz], data: indices },
    z_pattern_values: { dtype: 'float32', shape: [nnz], data: Float32Array.from(entries, (e) => e[3]) },
  };
}

/** lm-saes `features` document of one feature, with the analysis `feature` was read with. */
export function toLmSaesFeatureDocument(feature: FeatureDetail, options: { series: string }): LmSaesFeatureDocument {
  const doc: LmSaesFeatureDocument = {
    sae_name: feature.dictionary,
    sae_series: options.series,
    index: feature.index,
    analyses: [],
  };
  const { analysis, stats } = feature;
  if (analysis && stats) {
    doc.analyses.push({
      name: analysis.name,
      act_times: stats.actCount,
      max_feature_acts: stats.maxActivation,
      n_analyzed_tokens: analysis.nAnalyzedTokens,
      samplings: feature.samplings.map((s) => {
        const { indices, values } = sparseActs(s.samples);
        const n = s.samples.length;
        return {
          name: s.name,
          feature_acts_indices: indices,
          feature_acts_values: values,
          dataset_name: Array.from({ length: n }, () => analysis.datasetName),
          shard_idx: int64(Array.from({ length: n }, () => 0)),
          n_shards: int64(Array.from({ length: n }, () => 1)),
          context_idx: int64(s.samples.map((x) => x.contextIndex)),
          model_name: Array.from({ length: n }, () => analysis.modelName),
          ...zPatterns(s.samples),
        };
      }),
      studio_mean_feature_acts: stats.meanActivation,
      studio_histogram: stats.histogram,
      studio_neighbours: stats.neighbours,
      ...(feature.kindData?.kind === 'clt' || feature.kindData?.kind === 'crosscoder'
        ? { decoder_norms: feature.kindData.decoderNorms }
        : {}),
      ...(feature.kindData?.kind === 'crosscoder' ? { decoder_similarity_matrix: feature.kindData.similarity } : {}),
    });
    doc.logits = {
      top_positive: stats.topLogits.map((l) => ({ token: l.token, logit: l.logit })),
      top_negative: stats.bottomLogits.map((l) => ({ token: l.token, logit: l.logit })),
    };
  }
  if (feature.interpretation)
    doc.interpretation = { ...(feature.interpretation.detail ?? {}), text: feature.interpretation.text };
  return doc;
}

/** lm-saes `saes` document (SAERecord: name, series, path, cfg, model_name). */
export function toLmSaesSaeDocument(dictionary: Dictionary): LmSaesSaeDocument {
  return {
    name: dictionary.name,
    series: dictionary.series,
    path: dictionary.path,
    cfg: dictionary.config,
    model_name: dictionary.modelName,
  };
}

/** lm-saes `analyses` document (AnalysisRecord). */
export function toLmSaesAnalysisDocument(
  dictionary: Pick<Dictionary, 'name' | 'series'>,
  analysisName: string,
): { name: string; sae_name: string; sae_series: string } {
  return { name: analysisName, sae_name: dictionary.name, sae_series: dictionary.series };
}

/** lm-saes `bookmarks` document (BookmarkRecord). */
export function toLmSaesBookmarkDocument(bookmark: Bookmark, options: { series: string }) {
  return {
    sae_name: bookmark.dictionary,
    sae_series: options.series,
    feature_index: bookmark.index,
    created_at: new Date(bookmark.createdAt),
    tags: [...bookmark.tags],
    notes: bookmark.note,
  };
}

/** lm-saes `models` / `datasets` documents (ModelRecord, DatasetRecord: { name, cfg }). */
export function toLmSaesCatalogDocument(entry: CatalogEntry): { name: string; cfg: Record<string, unknown> } {
  return { name: entry.name, cfg: entry.cfg };
}
