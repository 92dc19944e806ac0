// How graph nodes are named in the graph JSON (spec §6.6): node ids, jsNodeIds, layer strings, feature types and
// clerps. Ids follow Neuronpedia's lm-saes converter (`{L}_{lor|cro}_{idx}_{pos}`) so that no two nodes can share
// one — unlike circuit-tracer's `0_{L}_{pos}` error ids, which collide with layer-0 features (circuit-tracer #78).
//
// | node                        | node_id               | feature        | layer: plain / interleaved | feature_type             |
// |-----------------------------|-----------------------|----------------|----------------------------|--------------------------|
// | MLP-site feature (PLT, CLT, MoLT) | `{L}_cro_{idx}_{pos}` | cantor(L, idx) | "L" / "2L+1"          | cross layer transcoder   |
// | attention-site feature (Lorsa)    | `{L}_lor_{idx}_{pos}` | cantor(L, idx) | — / "2L"              | lorsa                    |
// | MLP error                   | `{L}_error_mlp_{pos}` | -1             | "L" / "2L+1"               | mlp reconstruction error |
// | attention error (Lorsa)     | `{L}_error_attn_{pos}`| -1             | — / "2L"                   | lorsa error              |
// | embedding                   | `E_{tok}_{pos}`       | pos            | "E"                        | embedding                |
// | logit                       | `{layer}_{tok}_{pos}` | tok            | "nL+1" / "2nL"             | logit                    |
// | bias leaf (QK tracing only) | `{L}_bias_{kind}_{pos}` | null         | as its site                | bias                     |
//
// L is always the model layer, so ids do not depend on the layer scheme. The scheme is 'plain' (circuit-tracer:
// layer = model layer, logits at nL+1) when the graph has no attention-site node, and 'interleaved' (the lm-saes
// server and Neuronpedia's Lorsa graphs: a Lorsa at 2L below the MLP at 2L+1, logits at 2nL) when it has one.
// A PLT and a CLT never share a site, so both use `cro` and circuit-tracer's feature_type (which it uses for PLTs
// too). jsNodeId is `node_id` with its position after a dash (`{L}_cro_{idx}-{pos}`, `E_{tok}-{pos}`,
// `L_{tok}-{pos}` for logits as circuit-tracer): unique per node, which circuit-tracer's `{L}_{idx}-0` is not.
import { cantorPair } from './cantor';
import type { GraphNode, Sublayer } from './graph';

export type LayerScheme = 'plain' | 'interleaved';

/** Per-position bias leaves that QK tracing attributes to (lm-saes `hook_b_*`, Neuronpedia `{L}_bias_{kind}_{pos}`). */
export const BIAS_KINDS = [
  'attn_bO',
  'mlp_bout',
  'lorsa_bQ',
  'lorsa_bK',
  'lorsa_bD',
  'tc_bQ',
  'tc_bK',
  'tc_bD',
] as const;
export type BiasKind = (typeof BIAS_KINDS)[number];

export interface BiasNode {
  kind: 'bias';
  layer: number;
  pos: number;
  bias: BiasKind;
}

/** A node a QK-tracing result may name: a graph node, or a bias leaf that only QK tracing sees. */
export type QkSource = GraphNode | BiasNode;

export const biasSublayer = (bias: BiasKind): Sublayer =>
  bias.startsWith('attn') || bias.startsWith('lorsa') ? 'attn' : 'mlp';

/** The site of a feature, error or bias; null for embeddings and logits. */
export function sublayerOf(node: QkSource): Sublayer | null {
  if (node.kind === 'bias') return biasSublayer(node.bias);
  return node.kind === 'feature' || node.kind === 'error' ? node.sublayer : null;
}

export function layerScheme(nodes: readonly QkSource[]): LayerScheme {
  return nodes.some((x) => sublayerOf(x) === 'attn') ? 'interleaved' : 'plain';
}

const siteTag = (sublayer: Sublayer): string => (sublayer === 'attn' ? 'lor' : 'cro');

export function nodeId(node: QkSource, nLayers: number, scheme: LayerScheme): string {
  switch (node.kind) {
    case 'feature':
      return `${node.layer}_${siteTag(node.sublayer)}_${node.feature}_${node.pos}`;
    case 'error':
      return `${node.layer}_error_${node.sublayer}_${node.pos}`;
    case 'embedding':
      return `E_${node.tokenId}_${node.pos}`;
    case 'logit':
      return `${logitLayer(nLayers, scheme)}_${node.tokenId}_${node.pos}`;
    case 'bias':
      return `${node.layer}_bias_${node.bias}_${node.pos}`;
  }
}

export function jsNodeId(node: QkSource, nLayers: number, scheme: LayerScheme): string {
  if (node.kind === 'logit') return `L_${node.tokenId}-${node.pos}`;
  const id = nodeId(node, nLayers, scheme);
  return `${id.slice(0, id.lastIndexOf('_'))}-${node.pos}`;
}

export function logitLayer(nLayers: number, scheme: LayerScheme): number {
  return scheme === 'plain' ? nLayers + 1 : 2 * nLayers;
}

/** The site's row in the layout: the model layer (plain), or 2L for attention and 2L + 1 for MLP (interleaved). */
export function siteLayer(layer: number, sublayer: Sublayer, scheme: LayerScheme): number {
  return scheme === 'plain' ? layer : 2 * layer + (sublayer === 'attn' ? 0 : 1);
}

export function layerString(node: QkSource, nLayers: number, scheme: LayerScheme): string {
  switch (node.kind) {
    case 'embedding':
      return 'E';
    case 'logit':
      return String(logitLayer(nLayers, scheme));
    case 'bias':
      return String(siteLayer(node.layer, biasSublayer(node.bias), scheme));
    default:
      return String(siteLayer(node.layer, node.sublayer, scheme));
  }
}

export const FEATURE_TYPES = {
  mlpFeature: 'cross layer transcoder',
  attnFeature: 'lorsa',
  mlpError: 'mlp reconstruction error',
  attnError: 'lorsa error',
  embedding: 'embedding',
  logit: 'logit',
  bias: 'bias',
} as const;

export function featureType(node: QkSource): string {
  switch (node.kind) {
    case 'feature':
      return node.sublayer === 'attn' ? FEATURE_TYPES.attnFeature : FEATURE_TYPES.mlpFeature;
    case 'error':
      return node.sublayer === 'attn' ? FEATURE_TYPES.attnError : FEATURE_TYPES.mlpError;
    default:
      return FEATURE_TYPES[node.kind];
  }
}

/** The JSON `feature`: Cantor(L, idx) for features (schema_version 1), −1 for errors, pos for embeddings. */
export function featureField(node: QkSource): number | null {
  switch (node.kind) {
    case 'feature':
      return cantorPair(node.layer, node.feature);
    case 'error':
      return -1;
    case 'embedding':
      return node.pos;
    case 'logit':
      return node.tokenId;
    case 'bias':
      return null;
  }
}

/** Three decimals, as Python's `{p:.3f}`, which the frontends parse back out of the logit clerp. */
export const logitClerp = (token: string, probability: number): string =>
  `Output "${token}" (p=${probability.toFixed(3)})`;
export const embeddingClerp = (token: string): string => `Emb: "${token}"`;
export const errorClerp = (sublayer: Sublayer, token: string): string =>
  `Err: ${sublayer === 'attn' ? 'attn' : 'mlp'} "${token}"`;

/** Parses `Output "tok" (p=0.123)`; null for other text. */
export function parseLogitClerp(clerp: string): { token: string; probability: number } | null {
  const m = /^Output "(.*)" \(p=([0-9.eE+-]+)\)$/s.exec(clerp);
  return m ? { token: m[1]!, probability: Number(m[2]) } : null;
}
