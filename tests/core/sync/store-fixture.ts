// A store holding every kind of record SAE Studio keeps (written through the store's own API), and a snapshot of
// every table by natural keys (surrogate ids left out, arrays and files resolved to their bytes), so two stores
// can be compared table by table.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AnalysisResult, FeatureKindData, SampleKindData } from '../../../src/core/analysis/types';
import {
  addBookmark,
  addRunCheckpoint,
  appendRunMetrics,
  createGraph,
  createRun,
  openStore,
  saveAnalysis,
  saveDictionarySet,
  saveGraphResult,
  setDictionaryMetrics,
  setInterpretation,
  updateRunStatus,
  upsertDictionary,
  upsertModel,
  type Store,
} from '../../../src/core/store';
import { arrayReader } from '../../../src/core/store/array-files';
import { TABLE_COLUMNS } from '../../../src/core/store/rows';
import { graphToJson } from '../../../src/protocol/circuits/graph-json';
import { pruneGraph } from '../../../src/protocol/circuits/influence';
import { randomGraph } from '../../protocol/circuits/graphs';
import { syntheticAnalysis } from '../store/helpers';

const HOOKS_IN = [0, 1].map((l) => `blocks.${l}.ln2.hook_normalized`);
const HOOKS_OUT = [0, 1].map((l) => `blocks.${l}.hook_mlp_out`);

function withKindData(
  result: AnalysisResult,
  of: (index: number) => FeatureKindData,
  sampleOf: (rank: number) => SampleKindData,
): AnalysisResult {
  for (const f of result.features) {
    f.kindData = of(f.index);
    f.samplings[0]!.samples.forEach((s, rank) => (s.kindData = sampleOf(rank)));
  }
  return result;
}

const small = { nFeatures: 4, nContexts: 4, contextSize: 8, samplesPerSampling: 2 };

/** Fills `dir` (a home folder) with dictionaries of every kind, analyses, interpretations, bookmarks, a set, graphs and a run. */
export function buildFullStore(dir: string): void {
  const store = openStore({ dir });
  try {
    fillStore(store, dir);
  } finally {
    store.close();
  }
}

function fillStore(store: Store, dir: string): void {
  upsertModel(store, 'pdlm-4l-256', {
    model_name: 'pdlm-4l-256',
    max_length: 2048,
    backend: 'auto',
    prepend_bos: true,
  });
  const weights = join(dir, 'dictionaries', 'toy-sae');
  mkdirSync(weights, { recursive: true });
  writeFileSync(join(weights, 'config.json'), '{"sae_type":"sae","d_model":32}');
  writeFileSync(
    join(weights, 'sae_weights.safetensors'),
    Buffer.from(Array.from({ length: 300_000 }, (_, i) => i % 251)),
  );
  upsertDictionary(store, {
    name: 'toy-sae',
    path: weights,
    config: {
      sae_type: 'sae',
      d_model: 32,
      d_sae: 64,
      act_fn: 'topk',
      top_k: 8,
      hook_point_in: 'blocks.1.hook_resid_post',
      hook_point_out: 'blocks.1.hook_resid_post',
    },
    modelName: 'pdlm-4l-256',
  });
  setDictionaryMetrics(store, 'toy-sae', { explained_variance: 0.875, l0: 8, diverged: Number.NaN });
  saveAnalysis(store, syntheticAnalysis({ ...small, dictionaryName: 'toy-sae', dSae: 64, seed: 3 }));
  // A second analysis with its arrays spilled to the arrays file (every array "large").
  saveAnalysis(store, syntheticAnalysis({ ...small, dictionaryName: 'toy-sae', dSae: 64, seed: 4 }), {
    name: 'second',
    largeArrayBytes: 1,
  });
  upsertDictionary(store, { name: 'toy-xc', path: '/d/xc', config: { sae_type: 'crosscoder', d_sae: 8, n_heads: 2 } });
  saveAnalysis(
    store,
    withKindData(
      syntheticAnalysis({ ...small, dictionaryName: 'toy-xc', dSae: 8, seed: 5 }),
      (i) => ({
        kind: 'crosscoder',
        heads: ['a', 'b'],
        decoderNorms: [0.5, i / 4],
        similarity: [
          [1, null],
          [null, 1],
        ],
      }),
      (rank) => ({ headActivations: { position: 1, values: [rank + 0.5, 0.25] } }),
    ),
  );
  upsertDictionary(store, {
    name: 'toy-clt',
    path: '/d/clt',
    config: { sae_type: 'clt', d_sae: 4, hook_points_in: HOOKS_IN, hook_points_out: HOOKS_OUT },
  });
  saveAnalysis(
    store,
    withKindData(
      syntheticAnalysis({ ...small, dictionaryName: 'toy-clt', dSae: 8, featureIndices: [0, 5] }),
      (i) => ({
        kind: 'clt',
        layer: Math.floor(i / 4),
        layerIndex: i % 4,
        decoderNorms: [0.5, 1.5],
        targetHooks: HOOKS_OUT,
      }),
      () => ({}),
    ),
  );
  upsertDictionary(store, {
    name: 'toy-lorsa',
    path: '/d/lorsa',
    config: { sae_type: 'lorsa', d_sae: 6, n_qk_heads: 2 },
  });
  saveAnalysis(
    store,
    withKindData(
      syntheticAnalysis({ ...small, dictionaryName: 'toy-lorsa', dSae: 6, seed: 7 }),
      (i) => ({ kind: 'lorsa', qkHead: i % 2 }),
      (rank) => ({ zPattern: { query: 2, contributions: [0.125, 0, -0.5 * rank] } }),
    ),
  );
  upsertDictionary(store, {
    name: 'toy-molt',
    path: '/d/molt',
    config: { sae_type: 'molt', d_sae: 6 },
    modelName: 'pdlm-4l-256',
  });
  saveAnalysis(
    store,
    withKindData(
      syntheticAnalysis({ ...small, dictionaryName: 'toy-molt', dSae: 6, seed: 8 }),
      (i) => ({ kind: 'molt', rank: 1 + (i % 3) }),
      () => ({}),
    ),
  );
  fillOthers(store);
}

/** Interpretations, bookmarks, a dictionary set, a finished and a running graph, a training run. */
function fillOthers(store: Store): void {
  setInterpretation(store, 'toy-sae', 1, 'commas in lists', { detail: { complexity: 3, passed: true } });
  setInterpretation(store, 'toy-sae', 40, 'never analysed, still explained');
  setInterpretation(store, 'toy-lorsa', 2, 'attends to the previous name');
  addBookmark(store, 'toy-sae', 1, { tags: ['syntax', 'good'], note: 'look again' });
  addBookmark(store, 'toy-clt', 5);
  saveDictionarySet(store, {
    name: 'replacement',
    members: [
      { dictionary: 'toy-lorsa', role: 'attn' },
      { dictionary: 'toy-clt', role: 'mlp' },
    ],
    modelName: 'pdlm-4l-256',
    description: 'a lorsa and a clt',
  });
  const graph = randomGraph({ seed: 31, nLayers: 2, nPos: 3, sublayers: ['attn', 'mlp'] });
  createGraph(store, {
    name: 'g-done',
    prompt: 'a b c',
    promptIds: graph.promptIds,
    dictionarySet: 'replacement',
    settings: { max_feature_nodes: 64, desired_logit_prob: 0.95 },
  });
  saveGraphResult(store, 'g-done', {
    graph,
    json: graphToJson(graph, pruneGraph(graph), { slug: 'g-done', scan: 'replacement' }),
  });
  createGraph(store, { name: 'g-running', prompt: 'x y', promptIds: [5, 6], settings: {} });
  const run = createRun(store, {
    id: 'run-1',
    dictionaryName: 'toy-sae',
    config: { lr: 0.0004, total_training_tokens: 1000 },
  });
  appendRunMetrics(store, run.id, [
    { step: 1, tokens: 512, values: { loss: 2.5, l0: 12 } },
    { step: 2, tokens: 1024, values: { loss: Number.POSITIVE_INFINITY } },
  ]);
  addRunCheckpoint(store, run.id, { step: 2, tokens: 1024, path: '/runs/run-1/ckpt-2' });
  updateRunStatus(store, run.id, 'done');
}

const hash = (b: Uint8Array | null) => (b === null ? null : createHash('sha256').update(b).digest('hex'));

/** Every table of the store, by natural keys, rows sorted: equal snapshots mean equal stores. */
export function snapshotStore(dir: string): Record<string, unknown[]> {
  const store = openStore({ dir, readonly: true });
  const arrays = arrayReader(store.dir);
  try {
    const q = (sql: string) => store.db.prepare(sql).all() as Record<string, unknown>[];
    const bytes = (blob: unknown, ref: unknown, suffix: string, int: boolean) =>
      hash(
        blob
          ? (blob as Uint8Array)
          : ref
            ? new Uint8Array(
                (int ? arrays.readInt32(`${ref as string}${suffix}`) : arrays.readFloat32(`${ref as string}${suffix}`))
                  .buffer,
              )
            : null,
      );
    const tables: Record<string, Record<string, unknown>[]> = {
      models: q('SELECT name, cfg, created_at FROM models'),
      datasets: q('SELECT name, cfg, created_at FROM datasets'),
      dictionaries: q(
        'SELECT name, series, path, sae_type, d_sae, model_name, config, metrics, created_at, updated_at FROM dictionaries',
      ),
      runs: q('SELECT * FROM runs'),
      run_metrics: q('SELECT * FROM run_metrics'),
      run_checkpoints: q('SELECT * FROM run_checkpoints'),
      analyses: q(`SELECT a.uid, d.name AS dictionary, a.name, a.model_name, dataset_name, dataset_split, context_size,
        a.hook_point_in, a.hook_point_out, n_analyzed_tokens, n_features, a.created_at FROM analyses a JOIN dictionaries d ON d.id = a.dictionary_id`),
      features:
        q(`SELECT a.uid, d.name AS dictionary, feature_index, act_count, frequency, max_activation, mean_activation,
        histogram, top_logits, bottom_logits, neighbours, sampling_names, kind_data FROM features f
        JOIN analyses a ON a.id = f.analysis_id JOIN dictionaries d ON d.id = f.dictionary_id`),
      contexts: q(
        'SELECT a.uid, context_idx, n_tokens, tokens, tokens_ref FROM contexts c JOIN analyses a ON a.id = c.analysis_id',
      ).map(({ tokens, tokens_ref, ...r }) => ({ ...r, tokens: bytes(tokens, tokens_ref, '', true) })),
      feature_samples:
        q(`SELECT a.uid, f.feature_index, sampling, rank, context_idx, s.max_activation, positions, activations,
        arrays_ref, s.kind_data FROM feature_samples s JOIN features f ON f.id = s.feature_id JOIN analyses a ON a.id = s.analysis_id`).map(
          ({ positions, activations, arrays_ref, ...r }) => ({
            ...r,
            positions: bytes(positions, arrays_ref, '.positions', true),
            activations: bytes(activations, arrays_ref, '.activations', false),
          }),
        ),
      feature_interpretations: q(`SELECT d.name AS dictionary, feature_index, text, detail, i.updated_at
        FROM feature_interpretations i JOIN dictionaries d ON d.id = i.dictionary_id`),
      bookmarks: q(
        'SELECT d.name AS dictionary, feature_index, tags, note, b.created_at FROM bookmarks b JOIN dictionaries d ON d.id = b.dictionary_id',
      ),
      dictionary_sets: q('SELECT name, model_name, description, created_at, updated_at FROM dictionary_sets'),
      dictionary_set_members: q(
        'SELECT s.name AS set_name, position, dictionary_name, role FROM dictionary_set_members m JOIN dictionary_sets s ON s.id = m.set_id',
      ),
      graphs:
        q(`SELECT uid, name, prompt, prompt_ids, dictionary_set, model_name, settings, status, progress, error, n_nodes,
        n_links, matrix_file, json_file, created_at, updated_at, finished_at FROM graphs`).map(
          ({ prompt_ids, matrix_file, json_file, ...r }) => ({
            ...r,
            prompt_ids: hash(prompt_ids as Uint8Array),
            matrix: matrix_file ? hash(readFileSync(join(dir, matrix_file as string))) : null,
            json: json_file ? hash(readFileSync(join(dir, json_file as string))) : null,
          }),
        ),
    };
    const covered = new Set([...Object.keys(tables), 'sync_records', 'sync_runs', 'sync_conflicts']);
    const missing = Object.keys(TABLE_COLUMNS).filter((t) => !covered.has(t));
    if (missing.length > 0) throw new Error(`snapshotStore does not cover tables ${missing.join(', ')}`);
    const out: Record<string, unknown[]> = {};
    for (const [t, rows] of Object.entries(tables))
      out[t] = rows
        .map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v instanceof Uint8Array ? hash(v) : v])))
        .sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
    return out;
  } finally {
    arrays.close();
    store.close();
  }
}
