// The attribution engine's entry point (spec §5–§6): the replacement model on the prompt, the real pass frozen,
// the target rows, greedy feature collection, and the graph in circuit-tracer's node order — collected features,
// error nodes, embeddings, logits — with A[target, source] (columns of features not collected are dropped).
import { InputError } from '../errors';
import type { HookedTransformer } from '../lm/hooked-transformer';
import type { AttributionGraph, GraphNode } from '../../protocol/circuits/graph';
import {
  AttributionSettingsSchema,
  type AttributionSettings,
  type AttributionSettingsInput,
} from '../../protocol/circuits/attribution-settings';
import { allocFor, type Vec } from './frozen-ops';
import { captureFrozenState, type FrozenState } from './frozen-state';
import { collectFeatures } from './greedy';
import { describeReplacement, type NamedDictionary } from './replacement';
import { reverseRows, type RowTarget } from './reverse-pass';
import { sourceLayout, type SourceLayout } from './sources';
import { resolveTargets, type ResolvedTargets } from './targets';

export interface AttributionProgress {
  phase: 'forward' | 'targets' | 'features';
  done: number;
  total: number;
}

export interface AttributionOptions {
  onProgress?: (p: AttributionProgress) => void;
  signal?: AbortSignal;
  /** Decoded prompt tokens for the graph's labels (default: the ids as text). */
  promptTokens?: string[];
}

/** The graph and what it was computed from (the frozen state and the full source layout, for checks and QK tracing). */
export interface AttributionRun {
  graph: AttributionGraph;
  state: FrozenState;
  layout: SourceLayout;
  targets: ResolvedTargets;
  /** layout.features index of each feature node of the graph, in node order. */
  featureColumns: number[];
  settings: AttributionSettings;
}

/** Elements of one [B, S, d] gradient buffer at most (2^24: 64 MiB in float32). */
const SWEEP_ELEMENTS = 1 << 24;

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

function checkPrompt(model: HookedTransformer, ids: readonly number[]): void {
  if (ids.length === 0) throw new InputError('prompt: empty; expected at least one token id');
  if (ids.length > model.cfg.nCtx)
    throw new InputError(`prompt: ${ids.length} tokens, longer than the model's context of ${model.cfg.nCtx}`);
  ids.forEach((id, i) => {
    if (!Number.isInteger(id) || id < 0 || id >= model.cfg.dVocab)
      throw new InputError(`prompt: token ${i} is ${id}, expected an integer id in 0..${model.cfg.dVocab - 1}`);
  });
}

function buildGraph(
  run: Omit<AttributionRun, 'graph'>,
  rowsByFeature: Map<number, Vec>,
  logitRows: Vec[],
  promptTokens: string[],
): AttributionGraph {
  const { state, layout, targets, featureColumns, settings } = run;
  const nF = featureColumns.length;
  const nE = layout.errors.length;
  const S = state.S;
  const n = nF + nE + S + targets.logits.length;
  const alloc = allocFor(settings.dtype);
  const adjacency = alloc(n * n);
  const colMap = new Int32Array(layout.nCols).fill(-1);
  featureColumns.forEach((c, i) => (colMap[c] = i));
  for (let c = layout.features.length; c < layout.nCols; c++) colMap[c] = nF + (c - layout.features.length);
  const putRow = (node: number, row: Vec) => {
    for (let c = 0; c < layout.nCols; c++) {
      const j = colMap[c]!;
      if (j >= 0) adjacency[node * n + j] = row[c]!;
    }
  };
  featureColumns.forEach((c, i) => putRow(i, rowsByFeature.get(c)!));
  logitRows.forEach((row, k) => putRow(nF + nE + S + k, row));
  const targetWeights = new Float64Array(n);
  targets.features.forEach((c) => (targetWeights[colMap[c]!] = 1));
  targets.logits.forEach((t, k) => (targetWeights[nF + nE + S + k] = t.weight));
  const nodes: GraphNode[] = [
    ...featureColumns.map((c): GraphNode => {
      const f = layout.features[c]!;
      const site = state.rm.sites[f.site]!;
      return {
        kind: 'feature',
        layer: f.layer,
        sublayer: f.sublayer,
        pos: f.pos,
        feature: f.index,
        activation: f.activation,
        dictionary: site.name,
      };
    }),
    ...layout.errors.map((e): GraphNode => ({ kind: 'error', layer: e.layer, sublayer: e.sublayer, pos: e.pos })),
    ...state.ids.map((tokenId, pos): GraphNode => ({ kind: 'embedding', pos, tokenId })),
    ...targets.logits.map((t): GraphNode => ({
      kind: 'logit',
      pos: S - 1,
      tokenId: t.tokenId,
      probability: t.probability,
      ...(t.contrastTokenId === undefined ? {} : { contrastTokenId: t.contrastTokenId }),
    })),
  ];
  return {
    nodes,
    adjacency,
    targetWeights,
    promptIds: [...state.ids],
    promptTokens,
    nLayers: state.rm.cfg.nLayers,
    settings: { ...settings },
  };
}

/** computeAttributionGraph with its frozen state and source layout (tests and QK tracing read them). */
export async function runAttribution(
  model: HookedTransformer,
  dictionaries: readonly NamedDictionary[],
  promptIds: readonly number[],
  settingsInput: AttributionSettingsInput = {},
  opts: AttributionOptions = {},
): Promise<AttributionRun> {
  const parsed = AttributionSettingsSchema.safeParse(settingsInput);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new InputError(`attribution settings: field '${issue.path.join('.')}': ${issue.message}`);
  }
  const settings = parsed.data;
  checkPrompt(model, promptIds);
  const rm = describeReplacement(model, dictionaries);
  opts.signal?.throwIfAborted();
  opts.onProgress?.({ phase: 'forward', done: 0, total: 1 });
  const state = await captureFrozenState(model, rm, promptIds, settings.dtype);
  const layout = sourceLayout(state, settings.zero_first_positions);
  const targets = resolveTargets(state, layout, settings);
  opts.onProgress?.({ phase: 'forward', done: 1, total: 1 });
  const alloc = allocFor(settings.dtype);
  const B = settings.batch_size;
  // One sweep holds a few [B, S, d] gradients: long prompts sweep fewer targets at a time (rows do not depend on it).
  const perSweep = Math.max(1, Math.floor(SWEEP_ELEMENTS / (state.S * state.d)));
  const rowsFor = async (list: RowTarget[]): Promise<Vec[]> => {
    const out: Vec[] = [];
    for (let i = 0; i < list.length; i += perSweep) {
      opts.signal?.throwIfAborted();
      await yieldToLoop();
      opts.signal?.throwIfAborted();
      const part = list.slice(i, i + perSweep);
      const flat = reverseRows(state, layout, part, alloc);
      out.push(...part.map((_, b) => flat.subarray(b * layout.nCols, (b + 1) * layout.nCols)));
    }
    return out;
  };
  const featureTarget = (c: number): RowTarget => {
    const f = layout.features[c]!;
    return { type: 'feature', site: f.site, slot: f.slot, pos: f.pos, index: f.index };
  };
  // Target rows, B at a time: logits, then feature targets.
  const targetList: RowTarget[] = [
    ...targets.logits.map((t): RowTarget => ({ type: 'direction', direction: t.direction })),
    ...targets.features.map(featureTarget),
  ];
  const targetRows: Vec[] = [];
  for (let i = 0; i < targetList.length; i += B) {
    targetRows.push(...(await rowsFor(targetList.slice(i, i + B))));
    opts.onProgress?.({ phase: 'targets', done: targetRows.length, total: targetList.length });
  }
  const nL = targets.logits.length;
  const cap = Math.min(settings.max_feature_nodes ?? layout.features.length, layout.features.length);
  let featureDone = targets.features.length;
  const visited = await collectFeatures(
    {
      nFeatures: layout.features.length,
      maxFeatureNodes: settings.max_feature_nodes,
      batchSize: B,
      updateInterval: settings.update_interval,
    },
    {
      rows: targetRows,
      rowCol: [...targets.logits.map(() => -1), ...targets.features],
      weights: [...targets.logits.map((t) => t.weight), ...targets.features.map(() => 1)],
    },
    layout.nCols,
    async (features) => {
      const rows = await rowsFor(features.map(featureTarget));
      featureDone += features.length;
      opts.onProgress?.({ phase: 'features', done: featureDone, total: Math.max(cap, featureDone) });
      return rows;
    },
  );
  const featureColumns = [...visited.keys()].sort((a, b) => a - b);
  const rest = { state, layout, targets, featureColumns, settings };
  const promptTokens = opts.promptTokens ?? promptIds.map(String);
  const graph = buildGraph(rest, visited, targetRows.slice(0, nL), promptTokens);
  return { graph, ...rest };
}

/**
 * The attribution graph of `promptIds` (one sequence of token ids) under the replacement model `dictionaries` place
 * on `model` (see replacement.ts), with `settings` (AttributionSettingsSchema: lm-saes / circuit-tracer names).
 */
export async function computeAttributionGraph(
  model: HookedTransformer,
  dictionaries: readonly NamedDictionary[],
  promptIds: readonly number[],
  settings: AttributionSettingsInput = {},
  opts: AttributionOptions = {},
): Promise<AttributionGraph> {
  return (await runAttribution(model, dictionaries, promptIds, settings, opts)).graph;
}
