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
// `decoder_similarity_matrices` [H][H], a CLT's `decoder_norms` [L] (per target layer), a Lorsa sampling's
// `z_pattern_indices` int64 [3, nnz] (sample, query, key) and `z_pattern_values` — ours hold the z-pattern of each
// top sample at its strongest token only, where lm-saes keeps every query the feature fired at.
import { pyFloat, pyInt } from '../sync/bson-values';
import type { Bookmark } from './bookmarks';
import type { CatalogEntry } from './catalog';
import type { Dictionary } from './dictionaries';
import type { FeatureDetail } from './features';

export interface NumpyArray {
  dtype: 'float32' | 'int64' | 'int32';
  shape: number[];
  /** Row-major. */
  data: Float32Array | BigInt64Array | Int32Array;
}

/** What the sampling arrays are made of: one sample's sparse activations (and a Lorsa's z-pattern). */
export type SampleActivations = Pick<
  FeatureDetail['samplings'][number]['samples'][number],
  'positions' | 'values' | 'kindData'
>;

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
  decoder_similarity_matrices?: (number | null)[][];
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
export function sparseActs(samples: readonly SampleActivations[]): {
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
export function zPatterns(
  samples: readonly SampleActivations[],
): Pick<LmSaesSamplingDocument, 'z_pattern_indices' | 'z_pattern_values'> {
  const entries: [number, number, number, number][] = [];
  samples.forEach((x, i) => {
    const z = x.kindData?.zPattern;
    z?.contributions.forEach((v, k) => v !== 0 && entries.push([i, z.query, k, v]));
  });
  if (entries.length === 0) return {};
  const nnz = entries.length;
  const indices = new BigInt64Array(3 * nnz); // int64, as lm-saes stores z_pattern_indices
  entries.forEach(([i, q, k], e) => {
    indices[e] = BigInt(i);
    indices[nnz + e] = BigInt(q);
    indices[2 * nnz + e] = BigInt(k);
  });
  return {
    z_pattern_indices: { dtype: 'int64', shape: [3, nnz], data: indices },
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
      ...(feature.kindData?.kind === 'crosscoder' ? { decoder_similarity_matrices: feature.kindData.similarity } : {}),
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

/** lm-saes config fields that are Python floats: BSON doubles even when whole (expansion_factor 8.0). */
const LM_SAES_FLOAT_FIELDS = new Set([
  'expansion_factor',
  'sparsity_threshold_for_triton_spmm_kernel',
  'jumprelu_threshold_window',
  'jumprelu_threshold',
  'l1_coefficient',
  'lp',
  'init_decoder_norm',
  'init_encoder_norm',
  'norm_activation_scale',
  'rotary_base',
]);

function typedValue(key: string, value: unknown): unknown {
  if (typeof value === 'number')
    return LM_SAES_FLOAT_FIELDS.has(key) || !Number.isInteger(value) ? pyFloat(value) : pyInt(value);
  if (Array.isArray(value)) return value.map((v) => typedValue(key, v));
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, typedValue(k, v)]));
  return value;
}

/**
 * The `cfg` of an lm-saes `saes` document: `sae_type` first, `expansion_factor` (a double: d_sae / d_model, as
 * lm-saes stores it instead of d_sae) right after `d_model` when the config has d_model (then d_sae is left out),
 * every number typed as PyMongo would.
 */
export function toLmSaesCfg(
  config: Readonly<Record<string, unknown>>,
  dSae: number,
  saeType: string,
): Record<string, unknown> {
  const cfg: Record<string, unknown> = { sae_type: saeType };
  const hasDModel = typeof config.d_model === 'number';
  const derive = hasDModel && config.expansion_factor === undefined;
  for (const [key, value] of Object.entries(config)) {
    if (key === 'sae_type' || (key === 'd_sae' && hasDModel)) continue; // lm-saes derives d_sae, it does not store it
    cfg[key] = value;
    if (key === 'd_model' && derive) cfg.expansion_factor = dSae / (value as number);
  }
  return typedValue('', cfg) as Record<string, unknown>;
}
