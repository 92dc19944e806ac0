// Reading features: a sortable, filterable page of summaries, and one feature in full (stats, logits, neighbours,
// and every sample with its context's tokens and its sparse activations decoded).
import { InputError } from '../errors';
import type { FeatureKindData, LogitEntry, SampleKindData } from '../analysis/types';
import { analysisInfo, chooseAnalysisRow, type AnalysisInfo } from './analyses';
import { arrayReader, type ArrayReader } from './array-files';
import { selectList } from './columns';
import { float32FromBlob, int32FromBlob, parseJson } from './codec';
import type { Store } from './database';
import { checkFeatureIndex, requireDictionaryRow } from './dictionaries';
import { findBookmark, type Bookmark } from './bookmarks';
import { findInterpretation, type Interpretation } from './interpretations';
import {
  FEATURE_COLUMNS,
  FEATURE_SAMPLE_COLUMNS,
  type ContextRow,
  type FeatureRow,
  type FeatureSampleRow,
} from './rows';

export const FEATURE_SORTS = ['index', 'frequency', 'max'] as const;
export type FeatureSort = (typeof FEATURE_SORTS)[number];
export const MAX_PAGE = 10_000;

export interface ListFeaturesOptions {
  /** Which analysis (default: 'default', else the most recent). */
  analysis?: string;
  /** Default 'index'. */
  sort?: FeatureSort;
  /** Default 'asc' for index, 'desc' for frequency and max. */
  order?: 'asc' | 'desc';
  minFrequency?: number;
  maxFrequency?: number;
  /** Range of the feature's largest activation. */
  minMaxActivation?: number;
  maxMaxActivation?: number;
  /** Case-insensitive substring of the interpretation text. */
  search?: string;
  /** Default 100, at most MAX_PAGE. */
  limit?: number;
  offset?: number;
}

export interface FeatureSummary {
  index: number;
  actCount: number;
  frequency: number;
  maxActivation: number;
  meanActivation: number;
  interpretation: string | null;
  bookmarked: boolean;
  topLogits: LogitEntry[];
  /** Samples stored for it across all samplings. */
  nSamples: number;
}

export interface FeaturePage {
  dictionary: string;
  /** The analysis listed; null when the dictionary has none yet (then the page is empty). */
  analysis: string | null;
  /** Features matching the filters, over all pages. */
  total: number;
  items: FeatureSummary[];
}

const SORT_COLUMN: Record<FeatureSort, string> = {
  index: 'f.feature_index',
  frequency: 'f.frequency',
  max: 'f.max_activation',
};

function checkListOptions(o: ListFeaturesOptions): void {
  if (o.sort !== undefined && !FEATURE_SORTS.includes(o.sort))
    throw new InputError(`sort '${String(o.sort)}': expected one of ${FEATURE_SORTS.join(', ')}`);
  if (o.order !== undefined && o.order !== 'asc' && o.order !== 'desc')
    throw new InputError(`order '${String(o.order)}': expected asc or desc`);
  if (o.limit !== undefined && (!Number.isInteger(o.limit) || o.limit < 1 || o.limit > MAX_PAGE))
    throw new InputError(`limit ${o.limit}: expected an integer from 1 to ${MAX_PAGE}`);
  if (o.offset !== undefined && (!Number.isInteger(o.offset) || o.offset < 0))
    throw new InputError(`offset ${o.offset}: expected a non-negative integer`);
  if (o.minFrequency !== undefined && o.maxFrequency !== undefined && o.minFrequency > o.maxFrequency) {
    throw new InputError(`minFrequency ${o.minFrequency} is above maxFrequency ${o.maxFrequency}`);
  }
  if (o.minMaxActivation !== undefined && o.maxMaxActivation !== undefined && o.minMaxActivation > o.maxMaxActivation) {
    throw new InputError(`minMaxActivation ${o.minMaxActivation} is above maxMaxActivation ${o.maxMaxActivation}`);
  }
}

const likePattern = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

export function listFeatures(store: Store, dictionary: string, options: ListFeaturesOptions = {}): FeaturePage {
  checkListOptions(options);
  // One read transaction: the count and the page come from the same snapshot even while the writer saves.
  return store.db.transaction(() => listFeaturesNow(store, dictionary, options)).deferred();
}

function listFeaturesNow(store: Store, dictionary: string, options: ListFeaturesOptions): FeaturePage {
  const db = store.db;
  const dict = requireDictionaryRow(db, dictionary);
  const analysis = chooseAnalysisRow(db, dict, options.analysis);
  if (!analysis) return { dictionary, analysis: null, total: 0, items: [] };

  const where = ['f.analysis_id = @analysis'];
  const params: Record<string, string | number> = { analysis: analysis.id };
  if (options.minFrequency !== undefined) {
    where.push('f.frequency >= @minFrequency');
    params.minFrequency = options.minFrequency;
  }
  if (options.maxFrequency !== undefined) {
    where.push('f.frequency <= @maxFrequency');
    params.maxFrequency = options.maxFrequency;
  }
  if (options.minMaxActivation !== undefined) {
    where.push('f.max_activation >= @minMax');
    params.minMax = options.minMaxActivation;
  }
  if (options.maxMaxActivation !== undefined) {
    where.push('f.max_activation <= @maxMax');
    params.maxMax = options.maxMaxActivation;
  }
  if (options.search !== undefined && options.search.trim() !== '') {
    where.push(`i.text LIKE @search ESCAPE '\\'`);
    params.search = likePattern(options.search.trim());
  }
  const from = `FROM features f
    LEFT JOIN feature_interpretations i ON i.dictionary_id = f.dictionary_id AND i.feature_index = f.feature_index
    LEFT JOIN bookmarks b ON b.dictionary_id = f.dictionary_id AND b.feature_index = f.feature_index
    WHERE ${where.join(' AND ')}`;
  const total = db.prepare(`SELECT count(*) ${from}`).pluck().get(params) as number;

  const sort = options.sort ?? 'index';
  const order = options.order ?? (sort === 'index' ? 'asc' : 'desc');
  const rows = db
    .prepare(
      `SELECT f.feature_index, f.act_count, f.frequency, f.max_activation, f.mean_activation, f.top_logits,
      (SELECT count(*) FROM feature_samples s WHERE s.feature_id = f.id) AS n_samples,
      i.text AS interpretation, b.id IS NOT NULL AS bookmarked
    ${from} ORDER BY ${SORT_COLUMN[sort]} ${order.toUpperCase()}, f.feature_index ASC LIMIT @limit OFFSET @offset`,
    )
    .all({ ...params, limit: options.limit ?? 100, offset: options.offset ?? 0 }) as (Pick<
    FeatureRow,
    'feature_index' | 'act_count' | 'frequency' | 'max_activation' | 'mean_activation' | 'top_logits'
  > & { n_samples: number; interpretation: string | null; bookmarked: number })[];
  return {
    dictionary,
    analysis: analysis.name,
    total,
    items: rows.map((r) => ({
      index: r.feature_index,
      actCount: r.act_count,
      frequency: r.frequency,
      maxActivation: r.max_activation,
      meanActivation: r.mean_activation,
      interpretation: r.interpretation,
      bookmarked: r.bookmarked === 1,
      topLogits: parseJson<LogitEntry[]>(r.top_logits, `feature ${r.feature_index}`),
      nSamples: r.n_samples,
    })),
  };
}

export interface FeatureStats {
  actCount: number;
  frequency: number;
  maxActivation: number;
  meanActivation: number;
  histogram: { edges: number[]; counts: number[] };
  topLogits: LogitEntry[];
  bottomLogits: LogitEntry[];
  neighbours: { index: number; cosine: number }[];
}

export interface FeatureSampleDetail {
  rank: number;
  contextIndex: number;
  /** The whole context window (shared by the samples drawn from the same context). */
  tokens: Int32Array;
  positions: Int32Array;
  values: Float32Array;
  maxActivation: number;
  /** The kind's own data of the sample (a Lorsa z-pattern, a crosscoder's per-head activations), or null. */
  kindData: SampleKindData | null;
}

export interface FeatureDetail {
  dictionary: string;
  index: number;
  /** The dictionary's kind (sae_type). */
  kind: string;
  interpretation: Interpretation | null;
  bookmark: Bookmark | null;
  /** The analysis shown; null when the dictionary has none yet. */
  analysis: AnalysisInfo | null;
  /** Null when there is no analysis or it did not cover this feature. */
  stats: FeatureStats | null;
  /** The kind's own data of the feature; null for an SAE or without stats. */
  kindData: FeatureKindData | null;
  /** In the analysis's order; empty without stats. */
  samplings: { name: string; samples: FeatureSampleDetail[] }[];
}

/** The arrays-file key of a row whose data is not inline (a row with neither is a damaged store). */
function arraysRef(ref: string | null, where: string): string {
  if (ref === null) throw new Error(`${where}: neither inline data nor an arrays-file reference`);
  return ref;
}

function readSamples(store: Store, feature: FeatureRow, arrays: ArrayReader): FeatureDetail['samplings'] {
  const db = store.db;
  const contextRows = db
    .prepare(
      `SELECT analysis_id, context_idx, n_tokens, tokens, tokens_ref FROM contexts
    WHERE analysis_id = ? AND context_idx IN (SELECT context_idx FROM feature_samples WHERE feature_id = ?)`,
    )
    .all(feature.analysis_id, feature.id) as ContextRow[];
  const tokens = new Map<number, Int32Array>();
  for (const c of contextRows) {
    const where = `context ${c.context_idx}`;
    tokens.set(
      c.context_idx,
      c.tokens ? int32FromBlob(c.tokens, where) : arrays.readInt32(arraysRef(c.tokens_ref, where)),
    );
  }
  const sampleRows = db
    .prepare(
      `SELECT ${selectList(FEATURE_SAMPLE_COLUMNS)} FROM feature_samples WHERE feature_id = ? ORDER BY sampling, rank`,
    )
    .all(feature.id) as FeatureSampleRow[];
  const names = parseJson<string[]>(feature.sampling_names, `feature ${feature.feature_index}`);
  const samplings = names.map((name) => ({ name, samples: [] as FeatureSampleDetail[] }));
  const byName = new Map(samplings.map((s) => [s.name, s]));
  for (const r of sampleRows) {
    const where = `feature ${feature.feature_index}, sampling '${r.sampling}', sample ${r.rank}`;
    const positions = r.positions
      ? int32FromBlob(r.positions, where)
      : arrays.readInt32(`${arraysRef(r.arrays_ref, where)}.positions`);
    const values = r.activations
      ? float32FromBlob(r.activations, where)
      : arrays.readFloat32(`${arraysRef(r.arrays_ref, where)}.activations`);
    const sampleTokens = tokens.get(r.context_idx);
    if (!sampleTokens) throw new Error(`${where}: its context ${r.context_idx} is not stored`);
    byName.get(r.sampling)?.samples.push({
      rank: r.rank,
      contextIndex: r.context_idx,
      tokens: sampleTokens,
      positions,
      values,
      maxActivation: r.max_activation,
      kindData: r.kind_data === null ? null : parseJson<SampleKindData>(r.kind_data, where),
    });
  }
  return samplings;
}

/** One feature in full; an InputError for an unknown dictionary, analysis or an index outside 0…d_sae−1. */
export function getFeature(
  store: Store,
  dictionary: string,
  index: number,
  options: { analysis?: string } = {},
): FeatureDetail {
  return store.db.transaction(() => getFeatureNow(store, dictionary, index, options)).deferred();
}

function getFeatureNow(store: Store, dictionary: string, index: number, options: { analysis?: string }): FeatureDetail {
  const db = store.db;
  const dict = requireDictionaryRow(db, dictionary);
  checkFeatureIndex(dict, index);
  const analysis = chooseAnalysisRow(db, dict, options.analysis);
  const base = {
    dictionary,
    index,
    kind: dict.sae_type,
    interpretation: findInterpretation(db, dict.id, index),
    bookmark: findBookmark(db, dict.id, index),
    analysis: analysis ? analysisInfo(analysis) : null,
  };
  const row = analysis
    ? (db
        .prepare(`SELECT ${selectList(FEATURE_COLUMNS)} FROM features WHERE analysis_id = ? AND feature_index = ?`)
        .get(analysis.id, index) as FeatureRow | undefined)
    : undefined;
  if (!row) return { ...base, stats: null, kindData: null, samplings: [] };
  const where = `feature ${index} of '${dictionary}'`;
  const stats: FeatureStats = {
    actCount: row.act_count,
    frequency: row.frequency,
    maxActivation: row.max_activation,
    meanActivation: row.mean_activation,
    histogram: parseJson(row.histogram, where),
    topLogits: parseJson(row.top_logits, where),
    bottomLogits: parseJson(row.bottom_logits, where),
    neighbours: parseJson(row.neighbours, where),
  };
  const arrays = arrayReader(store.dir);
  try {
    const kindData = row.kind_data === null ? null : parseJson<FeatureKindData>(row.kind_data, where);
    return { ...base, stats, kindData, samplings: readSamples(store, row, arrays) };
  } finally {
    arrays.close();
  }
}
