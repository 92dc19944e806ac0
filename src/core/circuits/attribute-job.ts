// One attribution job, as `sae-studio attribute` and the app run it: the dictionary set (or named dictionaries)
// loaded from the store, the model in their activation basis, the prompt tokenized (a BOS in front, as
// circuit-tracer's ensure_tokenized does), the graph computed with progress and cancellation, pruned, written as
// circuit-tracer / Neuronpedia JSON and stored (full matrix + pruned JSON) with its prompt, settings and status.
import { z } from 'zod';
import { AttributionSettingsSchema, type AttributionSettingsInput } from '../../protocol/circuits/attribution-settings';
import type { AttributionGraph } from '../../protocol/circuits/graph';
import { graphToJson, type GraphJson } from '../../protocol/circuits/graph-json';
import { graphScores, type GraphScores } from '../../protocol/circuits/graph-scores';
import { pruneGraph } from '../../protocol/circuits/influence';
import { parseConfig } from '../config/validate';
import { loadAnyDictionary } from '../dictionary/registry';
import { InputError } from '../errors';
import type { StudioHome } from '../home';
import { loadModel } from '../lm/load-model';
import { ModelTokenizer } from '../lm/tokenizer';
import {
  createGraph,
  getDictionary,
  openStore,
  requireDictionarySet,
  saveGraphResult,
  setGraphProgress,
  setGraphStatus,
  type GraphRecord,
} from '../store';
import { runAttribution } from './attribute';
import { traceLorsaQk, type QkTracingOptions } from './qk-tracing';
import type { NamedDictionary } from './replacement';

const threshold = (name: string) => z.number().gt(0, `${name} must be in (0, 1]`).lte(1, `${name} must be in (0, 1]`);

export const PruneSettingsSchema = z.strictObject({
  prune_method: z.enum(['circuit-tracer', 'lm-saes']).default('circuit-tracer'),
  node_threshold: threshold('node_threshold').optional(),
  edge_threshold: threshold('edge_threshold').optional(),
});

export interface AttributeJobInput {
  home: StudioHome;
  /** A dictionary set in the store, or dictionary names / folders. */
  set?: string;
  dictionaries?: string[];
  /** The model (default: the set's or the dictionaries' recorded model). */
  model?: string;
  prompt?: string;
  ids?: number[];
  settings?: AttributionSettingsInput;
  prune?: z.input<typeof PruneSettingsSchema>;
  /** QK tracing of Lorsa features (qk_tracing_topk, qk_top_fraction, ranking). */
  qk?: QkTracingOptions;
  /** The graph's name in the store (default: derived from the prompt and the time). */
  name?: string;
  signal?: AbortSignal;
  onProgress?: (phase: string, done: number, total: number) => void;
}

export interface AttributeJobResult {
  record: GraphRecord;
  graph: AttributionGraph;
  json: GraphJson;
  scores: GraphScores;
  seconds: number;
}

function loadMembers(input: AttributeJobInput): {
  members: NamedDictionary[];
  model: string | null;
  set: string | null;
} {
  const store = openStore({ dir: input.home.root });
  try {
    const names = input.set
      ? requireDictionarySet(store, input.set).members.map((m) => m.dictionary)
      : (input.dictionaries ?? []);
    if (names.length === 0) throw new InputError('attribute: give --set NAME or --dictionaries a,b,…');
    const members = names.map((name) => {
      const dir = name.includes('/') ? name : getDictionary(store, name).path;
      const d = loadAnyDictionary(dir);
      return {
        name: name.includes('/') ? (dir.split('/').at(-1) ?? dir) : name,
        kind: d.kind,
        cfg: d.cfg,
        params: d.params,
      };
    });
    const recorded = input.set ? requireDictionarySet(store, input.set).modelName : null;
    return { members, model: input.model ?? recorded ?? members[0]!.cfg.model_name, set: input.set ?? null };
  } finally {
    store.close();
  }
}

export async function attributeIntoStore(input: AttributeJobInput): Promise<AttributeJobResult> {
  const settings = parseConfig(AttributionSettingsSchema, input.settings ?? {}, 'attribution settings');
  const prune = parseConfig(PruneSettingsSchema, input.prune ?? {}, 'pruning settings');
  if ((input.prompt === undefined) === (input.ids === undefined))
    throw new InputError('attribute: give exactly one of --prompt TEXT and --ids FILE');
  if (input.prompt !== undefined && input.prompt.trim() === '')
    throw new InputError('attribute: --prompt is empty; expected some text');
  const { members, model: modelRef, set } = loadMembers(input);
  if (!modelRef) throw new InputError('attribute: the dictionaries record no model; give --model');
  const bases = new Set(members.map((m) => m.cfg.activation_basis));
  if (bases.size > 1)
    throw new InputError(
      `attribute: the dictionaries were trained in different activation bases (${[...bases].join(', ')})`,
    );
  const { model, location } = loadModel(modelRef, { basis: [...bases][0] });
  const t0 = performance.now();
  const store = openStore({ dir: input.home.root });
  let name = '';
  try {
    const tokenizer = ModelTokenizer.load(location.dir);
    let ids = input.ids ?? tokenizer.encode(input.prompt!);
    const bos = model.cfg.bosTokenId;
    if (input.prompt !== undefined && bos !== null && ids[0] !== bos) ids = [bos, ...ids];
    const promptText = input.prompt ?? tokenizer.decode(ids);
    name = input.name ?? `graph-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    createGraph(store, {
      name,
      prompt: promptText,
      promptIds: ids,
      dictionarySet: set,
      modelName: modelRef,
      settings: { ...settings, ...prune },
    });
    let lastWrite = 0;
    const run = await runAttribution(model, members, ids, settings, {
      signal: input.signal,
      promptTokens: tokenizer.tokenStrings(ids),
      onProgress: (p) => {
        input.onProgress?.(p.phase, p.done, p.total);
        const now = performance.now();
        if (p.phase === 'features' && p.total > 0 && now - lastWrite > 500) {
          lastWrite = now;
          setGraphProgress(store, name, Math.min(0.99, p.done / p.total));
        }
      },
    });
    const pruned = pruneGraph(run.graph, {
      method: prune.prune_method,
      nodeThreshold: prune.node_threshold,
      edgeThreshold: prune.edge_threshold,
    });
    // QK tracing of the most influential Lorsa features (lm-saes's qk_top_fraction 0.6, top 10 contributors).
    const hasLorsa = members.some((m) => m.kind.saeType === 'lorsa');
    const qk = hasLorsa ? traceLorsaQk(run, input.qk ?? {}) : null;
    const json = graphToJson(run.graph, pruned, {
      ...(qk ? { qkTracing: qk.byNode } : {}),
      slug: name,
      scan: set ?? members.map((m) => m.name).join('+'),
      prompt: promptText,
      decodeToken: (id) => tokenizer.decode([id]),
      generator: { name: 'sae-studio', version: '0.1.0' },
      createTimeMs: Date.now(),
    });
    const record = saveGraphResult(store, name, { graph: run.graph, json });
    return { record, graph: run.graph, json, scores: graphScores(run.graph), seconds: (performance.now() - t0) / 1000 };
  } catch (err) {
    if (name) setGraphStatus(store, name, input.signal?.aborted ? 'cancelled' : 'failed', (err as Error).message);
    throw err;
  } finally {
    store.close();
    model.dispose();
  }
}
