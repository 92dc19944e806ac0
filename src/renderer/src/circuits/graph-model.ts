/**
 * The graph view's model of a circuit-tracer / Neuronpedia graph JSON (spec §6.6): each node's role, model layer,
 * sublayer (Lorsa = attn, transcoder / CLT = mlp), position, feature index within its dictionary, label and
 * numbers, read from the JSON's fields as graphFromJson reads them (src/protocol/circuits/graph-json-import.ts):
 * a graph with a Lorsa node numbers its rows interleaved (attn 2L, mlp 2L+1, logits 2nL), else plainly (layer L,
 * logits nL+1). Read sparsely from the links: a pruned graph can have thousands of nodes, and the view never builds
 * the dense matrix for it.
 */
import { cantorUnpair } from '../../../protocol/circuits/cantor';
import type { GraphJson, GraphJsonNode, QkTracingJson } from '../../../protocol/circuits/graph-json';
import { parseLogitClerp } from '../../../protocol/circuits/node-ids';

export type NodeRole = 'embedding' | 'feature' | 'error' | 'bias' | 'logit';
export type Sublayer = 'attn' | 'mlp';

export interface ViewNode {
  id: string;
  role: NodeRole;
  /** The model layer (embeddings −1; logits: the row above the last layer). */
  layer: number;
  /** Attention (a Lorsa) or MLP (a transcoder, a CLT); null for embeddings and logits. */
  sublayer: Sublayer | null;
  pos: number;
  /** The feature's index within its dictionary (features only). */
  featureIndex: number | null;
  label: string;
  activation: number | null;
  /** Cumulative influence fraction: small = important; null when the JSON has none. */
  influence: number | null;
  /** A logit's probability. */
  tokenProb: number | null;
  /** A logit's output token, an embedding's input token. */
  token: string | null;
  isTargetLogit: boolean;
  qk: QkTracingJson | null;
}

export interface ViewLink {
  source: string;
  target: string;
  weight: number;
}

export interface ViewGraph {
  json: GraphJson;
  nodes: ViewNode[];
  byId: Map<string, ViewNode>;
  /** Nodes that only QK-tracing results name (Neuronpedia's qk_only_nodes). */
  qkOnly: Map<string, ViewNode>;
  links: ViewLink[];
  promptTokens: string[];
  /** Model layers spanned (logits sit at this layer). */
  nLayers: number;
  /** Whether any node sits in an attention sublayer (then each layer gets an attn row and an mlp row). */
  hasAttn: boolean;
}

function roleOf(n: GraphJsonNode): NodeRole {
  const t = n.feature_type.toLowerCase();
  if (t === 'embedding') return 'embedding';
  if (t === 'logit') return 'logit';
  if (t.includes('error')) return 'error';
  if (t === 'bias') return 'bias';
  return 'feature';
}

function sublayerOf(n: GraphJsonNode, role: NodeRole): Sublayer | null {
  if (role === 'embedding' || role === 'logit') return null;
  const t = n.feature_type.toLowerCase();
  const id = n.node_id.toLowerCase();
  if (role === 'bias') return /_bias_(attn|lorsa)/.test(id) ? 'attn' : 'mlp';
  if (t.includes('lorsa') || t.includes('attn') || /_(lor|error_attn)_/.test(id)) return 'attn';
  return 'mlp';
}

function layerNumber(layer: string | number): number | null {
  const n = typeof layer === 'number' ? layer : /^\d+$/.test(layer) ? Number(layer) : NaN;
  return Number.isFinite(n) ? n : null;
}

/** The feature's index in its dictionary: Cantor-decoded (schema_version 1), else read from the node id. */
function featureIndexOf(n: GraphJsonNode, schemaVersion: number | null | undefined): number | null {
  if (n.feature === null) return null;
  if (schemaVersion === 1 && n.feature >= 0) return cantorUnpair(n.feature).index;
  const m = /^\d+_(?:lor_|cro_)?(\d+)_\d+$/.exec(n.node_id);
  return m ? Number(m[1]) : n.feature;
}

function quote(token: string | undefined): string {
  return JSON.stringify(token ?? '');
}

type LayerScheme = 'plain' | 'interleaved';

function layerSchemeOf(json: GraphJson): LayerScheme {
  const studio = json.metadata.sae_studio as { layer_scheme?: unknown } | undefined;
  if (studio?.layer_scheme === 'plain' || studio?.layer_scheme === 'interleaved') return studio.layer_scheme;
  return json.nodes.some((n) => /lorsa/i.test(n.feature_type)) ? 'interleaved' : 'plain';
}

function viewNode(n: GraphJsonNode, json: GraphJson, scheme: LayerScheme): ViewNode {
  const role = roleOf(n);
  const sublayer = sublayerOf(n, role);
  const row = layerNumber(n.layer) ?? 0;
  const tokens = json.metadata.prompt_tokens;
  const logit = role === 'logit' ? parseLogitClerp(n.clerp) : null;
  const featureIndex = role === 'feature' ? featureIndexOf(n, json.metadata.schema_version) : null;
  const layer = role === 'embedding' ? -1 : role === 'logit' || scheme === 'plain' ? row : Math.floor(row / 2);
  let label = n.clerp.trim();
  if (label === '') {
    if (role === 'embedding') label = `Emb: ${quote(tokens[n.ctx_idx])}`;
    else if (role === 'error') label = `Err: ${sublayer} ${quote(tokens[n.ctx_idx])}`;
    else if (role === 'feature') label = `${sublayer === 'attn' ? 'Lorsa' : 'TC'} L${layer} #${featureIndex}`;
    else label = n.node_id;
  }
  return {
    id: n.node_id,
    role,
    layer,
    sublayer,
    pos: n.ctx_idx,
    featureIndex,
    label,
    activation: n.activation ?? null,
    influence: n.influence ?? null,
    // token_prob is exact; the clerp's p (three decimals) is what a file without it still has.
    tokenProb: (n.token_prob ?? 0) > 0 ? n.token_prob! : (logit?.probability ?? n.token_prob ?? null),
    token: logit?.token ?? (role === 'embedding' ? (tokens[n.ctx_idx] ?? null) : null),
    isTargetLogit: n.is_target_logit === true,
    qk: n.qk_tracing_results ?? null,
  };
}

export function toViewGraph(json: GraphJson): ViewGraph {
  const scheme = layerSchemeOf(json);
  const nodes = json.nodes.map((n) => viewNode(n, json, scheme));
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const qkOnly = new Map(Object.entries(json.qk_only_nodes ?? {}).map(([id, n]) => [id, viewNode(n, json, scheme)]));
  let maxLayer = -1;
  let logitRow = 0;
  for (const n of nodes) {
    if (n.role === 'logit') logitRow = Math.max(logitRow, n.layer);
    else if (n.role !== 'embedding') maxLayer = Math.max(maxLayer, n.layer);
  }
  // Logits sit at nL+1 (plain) or 2nL (interleaved); the deepest feature or error bounds it from below.
  const fromLogits = scheme === 'plain' ? logitRow - 1 : Math.floor(logitRow / 2);
  const nLayers = Math.max(maxLayer + 1, fromLogits, 0);
  for (const n of nodes) if (n.role === 'logit') n.layer = nLayers;
  const maxPos = nodes.reduce((m, n) => Math.max(m, n.pos), -1);
  const promptTokens = [...json.metadata.prompt_tokens];
  while (promptTokens.length <= maxPos) promptTokens.push('');
  return {
    json,
    nodes,
    byId,
    qkOnly,
    links: json.links.map((l) => ({ source: l.source, target: l.target, weight: l.weight })),
    promptTokens,
    nLayers,
    hasAttn: nodes.some((n) => n.sublayer === 'attn'),
  };
}

/** A node named by a QK-tracing result: in the graph's nodes, else in qk_only_nodes. */
export function resolveNode(g: ViewGraph, id: string): ViewNode | null {
  return g.byId.get(id) ?? g.qkOnly.get(id) ?? null;
}

/** The next-token probabilities of the prompt, from the logit nodes, most likely first. */
export function nextTokenProbabilities(g: ViewGraph): { id: string; token: string; prob: number; target: boolean }[] {
  return g.nodes
    .filter((n) => n.role === 'logit')
    .map((n) => ({ id: n.id, token: n.token ?? n.label, prob: n.tokenProb ?? 0, target: n.isTargetLogit }))
    .sort((a, b) => b.prob - a.prob);
}
