// Row types of studio.db, one per table, exactly as SQLite returns them (JSON as text, arrays as BLOBs), each with
// its column tuple: the compiler checks tuple against type, and tests/core/store/schema.test.ts checks tuple
// against the tables the migrations create.
import { columnsOf } from './columns';

export const RUN_STATUSES = ['running', 'done', 'failed', 'cancelled'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** lm-saes `models`: { name, cfg }. */
export interface ModelRow {
  id: number;
  name: string;
  /** JSON object. */
  cfg: string;
  created_at: string;
}
export const MODEL_COLUMNS = columnsOf<ModelRow>()(['id', 'name', 'cfg', 'created_at']);

/** lm-saes `datasets`: { name, cfg }. */
export interface DatasetRow {
  id: number;
  name: string;
  cfg: string;
  created_at: string;
}
export const DATASET_COLUMNS = columnsOf<DatasetRow>()(['id', 'name', 'cfg', 'created_at']);

/** lm-saes `saes`: { name, series, path, cfg, model_name }. */
export interface DictionaryRow {
  id: number;
  name: string;
  series: string;
  path: string;
  sae_type: string;
  /** config.d_sae, kept as a column to check feature indices. */
  d_sae: number;
  model_name: string | null;
  /** JSON: the dictionary's own config (lm-saes field names). */
  config: string;
  /** JSON object of evaluation metrics, or null. */
  metrics: string | null;
  created_at: string;
  updated_at: string;
}
export const DICTIONARY_COLUMNS = columnsOf<DictionaryRow>()([
  'id',
  'name',
  'series',
  'path',
  'sae_type',
  'd_sae',
  'model_name',
  'config',
  'metrics',
  'created_at',
  'updated_at',
]);

export interface RunRow {
  id: string;
  /** The dictionary the run trains (it has no row until the run saves it). */
  dictionary_name: string;
  config: string;
  status: RunStatus;
  error: string | null;
  started_at: string;
  updated_at: string;
  finished_at: string | null;
}
export const RUN_COLUMNS = columnsOf<RunRow>()([
  'id',
  'dictionary_name',
  'config',
  'status',
  'error',
  'started_at',
  'updated_at',
  'finished_at',
]);

export interface RunMetricRow {
  run_id: string;
  step: number;
  tokens: number;
  /** JSON object name → number (non-finite numbers as the strings "NaN", "Infinity", "-Infinity"). */
  metrics: string;
}
export const RUN_METRIC_COLUMNS = columnsOf<RunMetricRow>()(['run_id', 'step', 'tokens', 'metrics']);

export interface RunCheckpointRow {
  run_id: string;
  step: number;
  tokens: number;
  path: string;
  created_at: string;
}
export const RUN_CHECKPOINT_COLUMNS = columnsOf<RunCheckpointRow>()(['run_id', 'step', 'tokens', 'path', 'created_at']);

/** lm-saes `analyses`: { name, sae_name, sae_series }, plus what the pass ran on. */
export interface AnalysisRow {
  id: number;
  /** Random id naming the analysis's arrays file, so a crashed save never collides with a later one. */
  uid: string;
  dictionary_id: number;
  name: string;
  model_name: string;
  dataset_name: string;
  dataset_split: string;
  context_size: number;
  hook_point_in: string;
  hook_point_out: string;
  /** lm-saes `n_analyzed_tokens`. */
  n_analyzed_tokens: number;
  n_features: number;
  /** Home-relative path of the safetensors file holding this analysis's large arrays, or null. */
  arrays_file: string | null;
  created_at: string;
}
export const ANALYSIS_COLUMNS = columnsOf<AnalysisRow>()([
  'id',
  'uid',
  'dictionary_id',
  'name',
  'model_name',
  'dataset_name',
  'dataset_split',
  'context_size',
  'hook_point_in',
  'hook_point_out',
  'n_analyzed_tokens',
  'n_features',
  'arrays_file',
  'created_at',
]);

/** One feature in one analysis (lm-saes `features[].analyses[]`, minus samplings). */
export interface FeatureRow {
  id: number;
  analysis_id: number;
  dictionary_id: number;
  feature_index: number;
  /** lm-saes `act_times`. */
  act_count: number;
  frequency: number;
  /** lm-saes `max_feature_acts`. */
  max_activation: number;
  mean_activation: number;
  /** JSON { edges: number[], counts: number[] }. */
  histogram: string;
  /** JSON LogitEntry[] (lm-saes `logits.top_positive` / `top_negative`). */
  top_logits: string;
  bottom_logits: string;
  /** JSON { index, cosine }[]. */
  neighbours: string;
  /** JSON string[]: the samplings' names in the analysis's order (a sampling may hold no sample). */
  sampling_names: string;
  /** JSON FeatureKindData (protocol/features.ts), null for an SAE (migration 3). */
  kind_data: string | null;
}
export const FEATURE_COLUMNS = columnsOf<FeatureRow>()([
  'id',
  'analysis_id',
  'dictionary_id',
  'feature_index',
  'act_count',
  'frequency',
  'max_activation',
  'mean_activation',
  'histogram',
  'top_logits',
  'bottom_logits',
  'neighbours',
  'sampling_names',
  'kind_data',
]);

/** A context window stored once per analysis; exactly one of tokens / tokens_ref is set. */
export interface ContextRow {
  analysis_id: number;
  /** lm-saes `context_idx`. */
  context_idx: number;
  n_tokens: number;
  /** int32 little-endian token ids. */
  tokens: Buffer | null;
  /** `<arrays file>#<tensor>` when the array went to the analysis's safetensors file. */
  tokens_ref: string | null;
}
export const CONTEXT_COLUMNS = columnsOf<ContextRow>()([
  'analysis_id',
  'context_idx',
  'n_tokens',
  'tokens',
  'tokens_ref',
]);

/** One sample of one sampling of one feature: sparse activations over a stored context. */
export interface FeatureSampleRow {
  id: number;
  feature_id: number;
  analysis_id: number;
  /** lm-saes `samplings[].name`. */
  sampling: string;
  rank: number;
  context_idx: number;
  max_activation: number;
  /** int32 LE positions and float32 LE activations (null when both went to the arrays file). */
  positions: Buffer | null;
  activations: Buffer | null;
  /** `<arrays file>#<tensor prefix>` (tensors `<prefix>.positions`, `<prefix>.activations`), or null. */
  arrays_ref: string | null;
  /** JSON SampleKindData (protocol/features.ts), or null (migration 3). */
  kind_data: string | null;
}
export const FEATURE_SAMPLE_COLUMNS = columnsOf<FeatureSampleRow>()([
  'id',
  'feature_id',
  'analysis_id',
  'sampling',
  'rank',
  'context_idx',
  'max_activation',
  'positions',
  'activations',
  'arrays_ref',
  'kind_data',
]);

/** lm-saes keeps `interpretation` on the feature document, not per analysis: so do we (it survives re-analysis). */
export interface InterpretationRow {
  dictionary_id: number;
  feature_index: number;
  text: string;
  /** JSON object of lm-saes's other interpretation fields (validation, complexity, consistency, passed…), or null. */
  detail: string | null;
  updated_at: string;
}
export const INTERPRETATION_COLUMNS = columnsOf<InterpretationRow>()([
  'dictionary_id',
  'feature_index',
  'text',
  'detail',
  'updated_at',
]);

/** lm-saes `bookmarks`: { sae_name, sae_series, feature_index, created_at, tags, notes }. */
export interface BookmarkRow {
  id: number;
  dictionary_id: number;
  feature_index: number;
  /** JSON string[]. */
  tags: string;
  note: string | null;
  created_at: string;
}
export const BOOKMARK_COLUMNS = columnsOf<BookmarkRow>()([
  'id',
  'dictionary_id',
  'feature_index',
  'tags',
  'note',
  'created_at',
]);

/** Every table and its columns, for the schema test. */
/** lm-saes `sae_sets`: a named set of dictionaries that together replace a model. */
export interface DictionarySetRow {
  id: number;
  name: string;
  model_name: string | null;
  description: string | null;
  created_at: string;
  updated_at: string;
}
export const DICTIONARY_SET_COLUMNS = columnsOf<DictionarySetRow>()([
  'id',
  'name',
  'model_name',
  'description',
  'created_at',
  'updated_at',
]);

export interface DictionarySetMemberRow {
  set_id: number;
  position: number;
  dictionary_name: string;
  /** The sublayer the dictionary replaces: 'attn' (a Lorsa) or 'mlp' (a transcoder, a CLT, a MoLT). */
  role: 'attn' | 'mlp';
}
export const DICTIONARY_SET_MEMBER_COLUMNS = columnsOf<DictionarySetMemberRow>()([
  'set_id',
  'position',
  'dictionary_name',
  'role',
]);

/** lm-saes `circuits`: one attribution graph, its files beside the database. */
export interface GraphRow {
  id: number;
  /** Names the graph's files: graphs/<uid>.safetensors (full matrix), graphs/<uid>.json (pruned graph JSON). */
  uid: string;
  name: string;
  prompt: string;
  /** int32 BLOB. */
  prompt_ids: Uint8Array;
  dictionary_set: string | null;
  model_name: string | null;
  /** JSON: the attribution settings (lm-saes names). */
  settings: string;
  status: RunStatus;
  progress: number;
  error: string | null;
  n_nodes: number | null;
  n_links: number | null;
  matrix_file: string | null;
  json_file: string | null;
  created_at: string;
  updated_at: string;
  finished_at: string | null;
}
export const GRAPH_COLUMNS = columnsOf<GraphRow>()([
  'id',
  'uid',
  'name',
  'prompt',
  'prompt_ids',
  'dictionary_set',
  'model_name',
  'settings',
  'status',
  'progress',
  'error',
  'n_nodes',
  'n_links',
  'matrix_file',
  'json_file',
  'created_at',
  'updated_at',
  'finished_at',
]);

/** Sync with an lm-saes MongoDB (migration 5): a record's hash as last synced with a target (server + database). */
export interface SyncRecordRow {
  target: string;
  collection: string;
  record_key: string;
  hash: string;
  synced_at: string;
}
export const SYNC_RECORD_COLUMNS = columnsOf<SyncRecordRow>()([
  'target',
  'collection',
  'record_key',
  'hash',
  'synced_at',
]);

export interface SyncRunRow {
  id: number;
  target: string;
  direction: 'push' | 'pull';
  status: 'running' | 'done' | 'failed';
  /** JSON object: what moved. */
  counts: string;
  error: string | null;
  started_at: string;
  finished_at: string | null;
}
export const SYNC_RUN_COLUMNS = columnsOf<SyncRunRow>()([
  'id',
  'target',
  'direction',
  'status',
  'counts',
  'error',
  'started_at',
  'finished_at',
]);

/** A record edited on both sides since the last sync: the rule's winner and both values (JSON). */
export interface SyncConflictRow {
  id: number;
  target: string;
  collection: string;
  record_key: string;
  field: string;
  winner: 'local' | 'remote';
  local_value: string | null;
  remote_value: string | null;
  local_updated_at: string | null;
  remote_updated_at: string | null;
  resolved_at: string;
}
export const SYNC_CONFLICT_COLUMNS = columnsOf<SyncConflictRow>()([
  'id',
  'target',
  'collection',
  'record_key',
  'field',
  'winner',
  'local_value',
  'remote_value',
  'local_updated_at',
  'remote_updated_at',
  'resolved_at',
]);

export const TABLE_COLUMNS: Readonly<Record<string, readonly string[]>> = {
  models: MODEL_COLUMNS,
  datasets: DATASET_COLUMNS,
  dictionaries: DICTIONARY_COLUMNS,
  runs: RUN_COLUMNS,
  run_metrics: RUN_METRIC_COLUMNS,
  run_checkpoints: RUN_CHECKPOINT_COLUMNS,
  analyses: ANALYSIS_COLUMNS,
  features: FEATURE_COLUMNS,
  contexts: CONTEXT_COLUMNS,
  feature_samples: FEATURE_SAMPLE_COLUMNS,
  feature_interpretations: INTERPRETATION_COLUMNS,
  bookmarks: BOOKMARK_COLUMNS,
  dictionary_sets: DICTIONARY_SET_COLUMNS,
  dictionary_set_members: DICTIONARY_SET_MEMBER_COLUMNS,
  graphs: GRAPH_COLUMNS,
  sync_records: SYNC_RECORD_COLUMNS,
  sync_runs: SYNC_RUN_COLUMNS,
  sync_conflicts: SYNC_CONFLICT_COLUMNS,
};
