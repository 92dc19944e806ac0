// graphFromJson: reads graph JSON made by SAE Studio, circuit-tracer or Neuronpedia back into the graph type (the
// pruned graph: its nodes, and A from its links). Optional fields of those tools are tolerated (jsNodeId, clerp,
// qParams, metadata beyond the prompt); bad input is one line naming the field, e.g. `nodes[3].ctx_idx: …`.
import { z } from 'zod';
import { cantorUnpair } from './cantor';
import type { AttributionGraph, GraphNode, Sublayer } from './graph';
import {
  GraphJsonLinkSchema,
  GraphJsonMetadataSchema,
  GraphJsonNodeSchema,
  QParamsSchema,
  type GraphJson,
  type GraphJsonMetadata,
  type GraphJsonNode,
  type QParams,
  type QkTracingJson,
} from './graph-json';
import type { LayerScheme } from './node-ids';

/** A bad graph JSON; named InputError so that front ends print its one line without a stack. */
export class GraphJsonError extends Error {
  override name = 'InputError';
}

const ImportNodeSchema = GraphJsonNodeSchema.extend({
  feature: z.number().int().nullable().optional(),
  jsNodeId: z.string().optional(),
  clerp: z.string().optional(),
});
type ImportNode = z.infer<typeof ImportNodeSchema>;

const ImportJsonSchema = z.looseObject({
  metadata: GraphJsonMetadataSchema.extend({
    slug: z.string().default(''),
    scan: z.union([z.string(), z.array(z.string())]).default(''),
  }),
  qParams: QParamsSchema.optional(),
  nodes: z.array(ImportNodeSchema),
  links: z.array(GraphJsonLinkSchema),
  qk_only_nodes: z.record(z.string(), ImportNodeSchema).optional(),
});

export interface ImportedGraph {
  /** The pruned graph: its nodes in matrix order (features, errors, embeddings, logits), A from the links. */
  graph: AttributionGraph;
  /** Per graph node: its JSON node_id, clerp and influence (cumulative fraction; null when absent). */
  nodeIds: string[];
  clerps: string[];
  influence: (number | null)[];
  metadata: GraphJsonMetadata;
  qParams: QParams;
  /** QK tracing by graph node index, contributors as node ids (of `nodeIds` or `qkOnlyNodes`). */
  qkTracing: Map<number, QkTracingJson>;
  qkOnlyNodes: Record<string, GraphJsonNode>;
  /** JSON nodes the graph type has no kind for (bias nodes), and how many links touched them. */
  skipped: { nodeIds: string[]; links: number };
}

function pathString(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (acc, key) => (typeof key === 'number' ? `${acc}[${key}]` : acc === '' ? String(key) : `${acc}.${String(key)}`),
    '',
  );
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let v = input;
  for (const key of path)
    v = v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[key] : undefined;
  return v;
}

function fail(field: string, message: string): never {
  throw new GraphJsonError(`graph JSON: ${field}: ${message}`);
}

function integerLayer(node: GraphJsonNode, i: number): number {
  const v = typeof node.layer === 'number' ? node.layer : /^-?\d+$/.test(node.layer) ? Number(node.layer) : NaN;
  if (!Number.isInteger(v) || v < 0) {
    fail(
      `nodes[${i}].layer`,
      `expected a layer number for a ${node.feature_type} node, got ${JSON.stringify(node.layer)}`,
    );
  }
  return v;
}

/** A site's model layer from its layout row. */
function modelLayer(row: number, scheme: LayerScheme): number {
  return scheme === 'plain' ? row : Math.floor(row / 2);
}

const sublayerOfType = (featureType: string): Sublayer => (/lorsa|attn|attention/i.test(featureType) ? 'attn' : 'mlp');

interface ParseContext {
  scheme: LayerScheme;
  cantor: boolean;
  dictionaryOf: (layer: number, sublayer: Sublayer) => string;
}

/** One JSON node as a graph node; null for a kind the graph type does not have (bias leaves). */
function toGraphNode(node: GraphJsonNode, i: number, ctx: ParseContext): GraphNode | null {
  const type = node.feature_type.toLowerCase();
  const pos = node.ctx_idx;
  if (type === 'embedding') {
    const m = /^E_(-?\d+)_\d+$/.exec(node.node_id);
    return { kind: 'embedding', pos, tokenId: m ? Number(m[1]) : -1 };
  }
  if (type === 'logit') {
    const m = /_(-?\d+)_\d+$/.exec(node.node_id);
    const tokenId = node.feature ?? (m ? Number(m[1]) : NaN);
    if (!Number.isInteger(tokenId)) fail(`nodes[${i}].feature`, 'a logit node needs its token id');
    return { kind: 'logit', pos, tokenId, probability: node.token_prob ?? 0 };
  }
  if (type === 'bias') return null;
  const sublayer = sublayerOfType(type);
  const layer = modelLayer(integerLayer(node, i), ctx.scheme);
  if (type.includes('error')) return { kind: 'error', layer, sublayer, pos };
  let feature: number;
  if (ctx.cantor && node.feature != null && node.feature >= 0) {
    feature = cantorUnpair(node.feature).index; // the index is right whichever layer numbering the pair used
  } else {
    const m = /_(\d+)_\d+$/.exec(node.node_id);
    if (!m) fail(`nodes[${i}].node_id`, `cannot read a feature index from ${JSON.stringify(node.node_id)}`);
    feature = Number(m[1]);
  }
  return {
    kind: 'feature',
    layer,
    sublayer,
    pos,
    feature,
    activation: node.activation ?? 0,
    dictionary: ctx.dictionaryOf(layer, sublayer),
  };
}

const KIND_ORDER: Record<GraphNode['kind'], number> = { feature: 0, error: 1, embedding: 2, logit: 3 };

function inferLayers(nodes: GraphNode[], json: GraphJsonNode[], scheme: LayerScheme, given?: number): number {
  if (given !== undefined) return given;
  const logit = json.find((x) => x.feature_type.toLowerCase() === 'logit');
  const row = logit === undefined ? NaN : Number(logit.layer);
  let maxLayer = -1;
  for (const x of nodes) if (x.kind === 'feature' || x.kind === 'error') maxLayer = Math.max(maxLayer, x.layer);
  const fromLogit = Number.isInteger(row) ? (scheme === 'plain' ? row - 1 : row / 2) : 0;
  return Math.max(Number.isInteger(fromLogit) ? fromLogit : 0, maxLayer + 1);
}

const normalNode = (x: ImportNode): GraphJsonNode => ({
  ...x,
  feature: x.feature ?? null,
  jsNodeId: x.jsNodeId ?? x.node_id,
  clerp: x.clerp ?? '',
});

/**
 * Validates a graph JSON from any of the tools and fills what they may leave out (jsNodeId = node_id, clerp '',
 * feature null, default qParams, empty slug and scan), so the result passes GraphJsonSchema.
 */
export function parseGraphJson(input: unknown): GraphJson {
  const parsed = ImportJsonSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const value = valueAt(input, issue.path);
    const got = value === undefined ? '' : ` (got ${JSON.stringify(value)?.slice(0, 60)})`;
    fail(pathString(issue.path) || '(top level)', `${issue.message}${got}`);
  }
  const { qk_only_nodes: qkOnly, ...json } = parsed.data;
  return {
    ...json,
    qParams: json.qParams ?? QParamsSchema.parse({}),
    nodes: json.nodes.map(normalNode),
    ...(qkOnly
      ? { qk_only_nodes: Object.fromEntries(Object.entries(qkOnly).map(([id, x]) => [id, normalNode(x)])) }
      : {}),
  };
}

/**
 * Reads a graph JSON. Nodes are classified by feature_type (embedding, logit, bias, *error*, else a feature;
 * "lorsa"/"attn" in it means an attention site). Feature indices come from the Cantor `feature` when
 * schema_version is 1, else from the node_id's `…_{idx}_{pos}`; layers from the layer field, halved in the
 * interleaved scheme (a Lorsa anywhere in the file, or SAE Studio's own metadata saying so).
 */
export function graphFromJson(input: unknown): ImportedGraph {
  const json = parseGraphJson(input);
  const meta = json.metadata;
  const studio = meta.sae_studio;
  const scheme: LayerScheme =
    studio?.layer_scheme ?? (json.nodes.some((x) => /lorsa/i.test(x.feature_type)) ? 'interleaved' : 'plain');
  const scan = Array.isArray(meta.scan) ? meta.scan.join('+') : meta.scan;
  const ctx: ParseContext = {
    scheme,
    cantor: (meta.schema_version ?? 0) >= 1,
    dictionaryOf: (layer, sublayer) => studio?.dictionaries[`${layer}/${sublayer}`] ?? scan,
  };
  const nPos = meta.prompt_tokens.length;
  const seen = new Map<string, number>();
  const parsed: { node: GraphNode; json: GraphJsonNode }[] = [];
  const skipped = new Set<string>();
  json.nodes.forEach((x, i) => {
    if (seen.has(x.node_id))
      fail(`nodes[${i}].node_id`, `${JSON.stringify(x.node_id)} repeats nodes[${seen.get(x.node_id)}]`);
    seen.set(x.node_id, i);
    if (x.ctx_idx >= nPos) fail(`nodes[${i}].ctx_idx`, `${x.ctx_idx} is outside the prompt's ${nPos} tokens`);
    const node = toGraphNode(x, i, ctx);
    if (node) parsed.push({ node, json: x });
    else skipped.add(x.node_id);
  });
  parsed.sort((a, b) => KIND_ORDER[a.node.kind] - KIND_ORDER[b.node.kind]); // stable: file order within a kind
  const nodes = parsed.map((p) => p.node);
  const index = new Map(parsed.map((p, i) => [p.json.node_id, i]));
  const n = nodes.length;
  const adjacency = new Float64Array(n * n);
  let skippedLinks = 0;
  json.links.forEach((link, k) => {
    if (skipped.has(link.source) || skipped.has(link.target)) return void skippedLinks++;
    const s = index.get(link.source);
    const t = index.get(link.target);
    if (s === undefined) fail(`links[${k}].source`, `unknown node id ${JSON.stringify(link.source)}`);
    if (t === undefined) fail(`links[${k}].target`, `unknown node id ${JSON.stringify(link.target)}`);
    if (adjacency[t * n + s] !== 0) fail(`links[${k}]`, `a second link ${link.source} → ${link.target}`);
    adjacency[t * n + s] = link.weight;
  });
  return assemble(json, parsed, adjacency, ctx, { nodeIds: [...skipped], links: skippedLinks });
}

function assemble(
  json: GraphJson,
  parsed: { node: GraphNode; json: GraphJsonNode }[],
  adjacency: Float64Array,
  ctx: ParseContext,
  skipped: ImportedGraph['skipped'],
): ImportedGraph {
  const meta = json.metadata;
  const nodes = parsed.map((p) => p.node);
  const targetWeights = Float64Array.from(nodes, (x) => (x.kind === 'logit' ? x.probability : 0));
  const promptIds = meta.sae_studio ? [...meta.sae_studio.prompt_ids] : meta.prompt_tokens.map(() => -1);
  if (!meta.sae_studio) for (const x of nodes) if (x.kind === 'embedding') promptIds[x.pos] = x.tokenId;
  const qkTracing = new Map<number, QkTracingJson>();
  parsed.forEach((p, i) => {
    if (p.json.qk_tracing_results) qkTracing.set(i, p.json.qk_tracing_results);
  });
  return {
    graph: {
      nodes,
      adjacency,
      targetWeights,
      promptIds,
      promptTokens: meta.prompt_tokens,
      nLayers: inferLayers(nodes, json.nodes, ctx.scheme, meta.sae_studio?.n_layers),
      settings: { ...(meta.generation_settings ?? {}) },
    },
    nodeIds: parsed.map((p) => p.json.node_id),
    clerps: parsed.map((p) => p.json.clerp),
    influence: parsed.map((p) => p.json.influence ?? null),
    metadata: meta,
    qParams: json.qParams,
    qkTracing,
    qkOnlyNodes: json.qk_only_nodes ?? {},
    skipped,
  };
}
