// The graph JSON that circuit-tracer's and Neuronpedia's frontends load (spec §6.6): its zod schema and
// graphToJson, which writes a pruned attribution graph as schema_version 1 with Cantor `feature` ids and the
// collision-free node ids of node-ids.ts. Objects are loose: fields other tools add pass through.
import { z } from 'zod';
import type { AttributionGraph, GraphNode } from './graph';
import type { PruneResult } from './influence';
import type { QkTracingResult } from './qk';
import {
  embeddingClerp,
  errorClerp,
  featureField,
  featureType,
  jsNodeId,
  layerScheme,
  layerString,
  logitClerp,
  nodeId,
  type LayerScheme,
  type QkSource,
} from './node-ids';

export const GRAPH_JSON_SCHEMA_VERSION = 1;

export const QkTracingJsonSchema = z.looseObject({
  /** [q node id, k node id, value]. */
  pair_wise_contributors: z.array(z.tuple([z.string(), z.string(), z.number()])),
  /** [node id, value]. */
  top_q_marginal_contributors: z.array(z.tuple([z.string(), z.number()])),
  top_k_marginal_contributors: z.array(z.tuple([z.string(), z.number()])),
});
export type QkTracingJson = z.infer<typeof QkTracingJsonSchema>;

export const GraphJsonNodeSchema = z.looseObject({
  node_id: z.string().min(1),
  /** Cantor(L, idx) for features (schema_version 1), the token id for logits, the position for embeddings. */
  feature: z.number().int().nullable(),
  layer: z.union([z.string(), z.number().int()]),
  ctx_idx: z.number().int().nonnegative(),
  feature_type: z.string(),
  jsNodeId: z.string(),
  clerp: z.string(),
  token_prob: z.number().optional(),
  is_target_logit: z.boolean().optional(),
  run_idx: z.number().int().optional(),
  reverse_ctx_idx: z.number().int().optional(),
  /** The cumulative influence fraction (small = important). */
  influence: z.number().nullable().optional(),
  activation: z.number().nullable().optional(),
  qk_tracing_results: QkTracingJsonSchema.optional(),
});
export type GraphJsonNode = z.infer<typeof GraphJsonNodeSchema>;

export const GraphJsonLinkSchema = z.looseObject({
  source: z.string(),
  target: z.string(),
  /** The raw signed A[target, source]. */
  weight: z.number(),
});
export type GraphJsonLink = z.infer<typeof GraphJsonLinkSchema>;

/**
 * The frontend's saved state. A supernode is `[label, nodeId, nodeId, …]` (the frontend's layout: its first entry
 * names the group).
 */
export const QParamsSchema = z.looseObject({
  pinnedIds: z.array(z.string()).default([]),
  supernodes: z.array(z.array(z.string())).default([]),
  linkType: z.string().default('both'),
  clickedId: z.string().default(''),
  sg_pos: z.string().default(''),
});
export type QParams = z.infer<typeof QParamsSchema>;

/** What only SAE Studio writes (other tools ignore it): enough to rebuild the graph type exactly. */
export const StudioMetadataSchema = z.looseObject({
  n_layers: z.number().int().positive(),
  layer_scheme: z.enum(['plain', 'interleaved']),
  prompt_ids: z.array(z.number().int()),
  /** The dictionary of each site, keyed `{layer}/{attn|mlp}`. */
  dictionaries: z.record(z.string(), z.string()),
});
export type StudioMetadata = z.infer<typeof StudioMetadataSchema>;

export const GraphJsonMetadataSchema = z.looseObject({
  slug: z.string(),
  /** The transcoder / dictionary set; Neuronpedia treats it as the model id. */
  scan: z.union([z.string(), z.array(z.string())]),
  transcoder_list: z.array(z.string()).optional(),
  prompt_tokens: z.array(z.string()),
  prompt: z.string(),
  node_threshold: z.number().nullable().optional(),
  schema_version: z.number().int().nullable().optional(),
  feature_details: z.looseObject({}).optional(),
  info: z.looseObject({}).optional(),
  generation_settings: z.looseObject({}).optional(),
  pruning_settings: z.looseObject({}).optional(),
  sae_studio: StudioMetadataSchema.optional(),
});
export type GraphJsonMetadata = z.infer<typeof GraphJsonMetadataSchema>;

export const GraphJsonSchema = z.looseObject({
  metadata: GraphJsonMetadataSchema,
  qParams: QParamsSchema,
  nodes: z.array(GraphJsonNodeSchema),
  links: z.array(GraphJsonLinkSchema),
  /** Nodes that only QK-tracing results name, keyed by node_id (Neuronpedia). */
  qk_only_nodes: z.record(z.string(), GraphJsonNodeSchema).optional(),
});
export type GraphJson = z.infer<typeof GraphJsonSchema>;

/** One Lorsa node's QK tracing, its contributors as graph nodes or bias leaves (see resolveQkTracing). */
export interface QkNodeTracing {
  qMarginal: { source: QkSource; value: number }[];
  kMarginal: { source: QkSource; value: number }[];
  pairs: { q: QkSource; k: QkSource; value: number }[];
}

/** A QK-tracing result over source indices, its sources named (the engine knows what each index stands for). */
export function resolveQkTracing(result: QkTracingResult, sources: readonly QkSource[]): QkNodeTracing {
  const at = (i: number): QkSource => {
    const source = sources[i];
    if (!source) throw new Error(`QK tracing: source ${i} is outside the ${sources.length} sources given`);
    return source;
  };
  return {
    qMarginal: result.qMarginal.map((x) => ({ source: at(x.source), value: x.value })),
    kMarginal: result.kMarginal.map((x) => ({ source: at(x.source), value: x.value })),
    pairs: result.pairs.map((p) => ({ q: at(p.q), k: at(p.k), value: p.value })),
  };
}

export interface GraphToJsonOptions {
  slug: string;
  /** The dictionary set (Neuronpedia's scan / transcoder set). */
  scan: string;
  /** The prompt text; the decoded tokens joined when omitted. */
  prompt?: string;
  /** The string of a token id, for logit clerps; else a prompt token with that id, else `#<id>`. */
  decodeToken?: (tokenId: number) => string;
  /** A feature's label (its interpretation); '' when undefined. */
  featureClerp?: (node: Extract<GraphNode, { kind: 'feature' }>, index: number) => string | undefined;
  pinnedIds?: string[];
  supernodes?: string[][];
  /** QK tracing of Lorsa feature nodes, by graph node index. */
  qkTracing?: ReadonlyMap<number, QkNodeTracing>;
  featureDetails?: Record<string, unknown>;
  generator?: { name: string; version: string; url?: string };
  createTimeMs?: number;
  description?: string;
}

interface NodeContext {
  graph: AttributionGraph;
  scheme: LayerScheme;
  decode: (tokenId: number) => string;
}

function nodeJson(ctx: NodeContext, node: QkSource, extra: Partial<GraphJsonNode> = {}): GraphJsonNode {
  const { graph, scheme } = ctx;
  const token = (pos: number): string => graph.promptTokens[pos] ?? '';
  const clerp =
    node.kind === 'logit'
      ? logitClerp(ctx.decode(node.tokenId), node.probability)
      : node.kind === 'embedding'
        ? embeddingClerp(token(node.pos))
        : node.kind === 'error'
          ? errorClerp(node.sublayer, token(node.pos))
          : '';
  return {
    node_id: nodeId(node, graph.nLayers, scheme),
    feature: featureField(node),
    layer: layerString(node, graph.nLayers, scheme),
    ctx_idx: node.pos,
    feature_type: featureType(node),
    jsNodeId: jsNodeId(node, graph.nLayers, scheme),
    clerp,
    token_prob: node.kind === 'logit' ? node.probability : 0,
    is_target_logit: false,
    run_idx: 0,
    reverse_ctx_idx: 0,
    influence: null,
    activation: node.kind === 'feature' ? node.activation : null,
    ...extra,
  };
}

function decoder(graph: AttributionGraph, decodeToken?: (id: number) => string): (id: number) => string {
  if (decodeToken) return decodeToken;
  const known = new Map<number, string>();
  graph.promptIds.forEach((id, pos) => known.set(id, graph.promptTokens[pos] ?? `#${id}`));
  return (id) => known.get(id) ?? `#${id}`;
}

/** The nodes and links the JSON keeps: kept edges between kept nodes, and nodes with a link, embeddings or logits. */
function usedNodesAndLinks(
  graph: AttributionGraph,
  pruned: PruneResult,
): { used: number[]; links: [number, number][] } {
  const n = graph.nodes.length;
  const linked = new Uint8Array(n);
  const links: [number, number][] = [];
  for (let t = 0; t < n; t++) {
    if (!pruned.nodeMask[t]) continue;
    for (let s = 0; s < n; s++) {
      if (!pruned.edgeMask[t * n + s] || !pruned.nodeMask[s]) continue;
      links.push([t, s]);
      linked[t] = linked[s] = 1;
    }
  }
  const used = graph.nodes.flatMap((node, i) =>
    pruned.nodeMask[i] && (linked[i] || node.kind === 'embedding' || node.kind === 'logit') ? [i] : [],
  );
  return { used, links };
}

function siteDictionaries(graph: AttributionGraph): Record<string, string> {
  const out: Record<string, string> = {};
  for (const x of graph.nodes) if (x.kind === 'feature') out[`${x.layer}/${x.sublayer}`] = x.dictionary;
  return out;
}

/**
 * The pruned graph as graph JSON: the nodes of `pruned.nodeMask` that keep a link (embeddings and logits always),
 * in matrix order; links for the kept edges with their raw signed weights; each node's `influence` the cumulative
 * fraction of the unpruned influence; the most probable logit marked as the target.
 */
export function graphToJson(graph: AttributionGraph, pruned: PruneResult, opts: GraphToJsonOptions): GraphJson {
  const scheme = layerScheme(graph.nodes);
  const ctx: NodeContext = { graph, scheme, decode: decoder(graph, opts.decodeToken) };
  const { used, links } = usedNodesAndLinks(graph, pruned);
  let target = -1;
  graph.nodes.forEach((x, i) => {
    if (x.kind === 'logit' && (target < 0 || x.probability > (graph.nodes[target] as typeof x).probability)) target = i;
  });
  const ids = new Map<number, string>();
  const nodes = used.map((i) => {
    const node = graph.nodes[i]!;
    const json = nodeJson(ctx, node, {
      influence: node.kind === 'logit' ? null : pruned.cumulativeInfluence[i]!,
      is_target_logit: i === target,
      ...(node.kind === 'feature' ? { clerp: opts.featureClerp?.(node, i) ?? '' } : {}),
    });
    ids.set(i, json.node_id);
    return json;
  });
  const qkOnly = attachQkTracing(ctx, nodes, used, opts.qkTracing);
  return {
    metadata: metadataJson(graph, pruned, opts, scheme),
    qParams: {
      pinnedIds: opts.pinnedIds ?? [],
      supernodes: opts.supernodes ?? [],
      linkType: 'both',
      clickedId: '',
      sg_pos: '',
    },
    nodes,
    links: links.map(([t, s]) => ({
      source: ids.get(s)!,
      target: ids.get(t)!,
      weight: graph.adjacency[t * graph.nodes.length + s]!,
    })),
    ...(Object.keys(qkOnly).length > 0 ? { qk_only_nodes: qkOnly } : {}),
  };
}

function metadataJson(
  graph: AttributionGraph,
  pruned: PruneResult,
  opts: GraphToJsonOptions,
  scheme: LayerScheme,
): GraphJsonMetadata {
  const s = graph.settings;
  const generation = Object.fromEntries(
    ['max_n_logits', 'desired_logit_prob', 'batch_size', 'max_feature_nodes'].flatMap((k) =>
      k in s ? [[k, s[k]]] : [],
    ),
  );
  return {
    slug: opts.slug,
    scan: opts.scan,
    prompt_tokens: graph.promptTokens,
    prompt: opts.prompt ?? graph.promptTokens.join(''),
    node_threshold: pruned.nodeThreshold,
    schema_version: GRAPH_JSON_SCHEMA_VERSION,
    ...(opts.featureDetails ? { feature_details: opts.featureDetails } : {}),
    info: {
      ...(opts.description !== undefined ? { description: opts.description } : {}),
      generator: opts.generator ?? { name: 'sae-studio', version: 'unknown' },
      create_time_ms: opts.createTimeMs ?? Date.now(),
    },
    generation_settings: generation,
    pruning_settings: {
      node_threshold: pruned.nodeThreshold,
      edge_threshold: pruned.edgeThreshold,
      method: pruned.method,
    },
    sae_studio: {
      n_layers: graph.nLayers,
      layer_scheme: scheme,
      prompt_ids: graph.promptIds,
      dictionaries: siteDictionaries(graph),
    },
  };
}

/** Writes `qk_tracing_results` on the traced nodes; contributors that are not nodes go to qk_only_nodes. */
function attachQkTracing(
  ctx: NodeContext,
  nodes: GraphJsonNode[],
  used: number[],
  tracing: ReadonlyMap<number, QkNodeTracing> | undefined,
): Record<string, GraphJsonNode> {
  const qkOnly: Record<string, GraphJsonNode> = {};
  if (!tracing) return qkOnly;
  const present = new Set(nodes.map((x) => x.node_id));
  const idOf = (source: QkSource): string => {
    const json = nodeJson(ctx, source);
    if (!present.has(json.node_id)) qkOnly[json.node_id] ??= json;
    return json.node_id;
  };
  const position = new Map(used.map((graphIndex, k) => [graphIndex, k]));
  for (const [graphIndex, t] of tracing) {
    const k = position.get(graphIndex);
    if (k === undefined) continue; // pruned away: nothing to attach to
    nodes[k]!.qk_tracing_results = {
      pair_wise_contributors: t.pairs.map((p) => [idOf(p.q), idOf(p.k), p.value]),
      top_q_marginal_contributors: t.qMarginal.map((x) => [idOf(x.source), x.value]),
      top_k_marginal_contributors: t.kMarginal.map((x) => [idOf(x.source), x.value]),
    };
  }
  return qkOnly;
}
